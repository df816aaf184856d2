"""Every MT940 sample (about 15 banks' variants) imports with the right count, sum and
balances, or is refused with a specific message: fragments without a :20: statement, MT942
interim reports, and the parser fixtures whose balances were made up and do not add up."""

import pytest

from .statement_table import check, every_sample

pytestmark = pytest.mark.django_db

EXPECTED = {
    "mt940/oca-bank-statement-import-10.0/test-ing-old.940": (
        "refused",
        "cannot be read as MT940 (tag :28: cannot be read from '0000\\n0')",
    ),
    "mt940/oca-bank-statement-import-10.0/test-ing.940": (
        "refused",
        "cannot be read as MT940 (tag :28: cannot be read from '0000\\n0')",
    ),
    "mt940/oca-bank-statement-import-10.0/test-rabo.swi": ("ok", 4, 2, "365.39", "4433.52", "4798.91"),
    "mt940/oca-bank-statement-import-10.0/test-sns.940": ("ok", 3, 8, "-1715.68", "3026.96", None),
    "mt940/oca-bank-statement-import-10.0/test-wrong-file.940": ("ok", 1, 1, "400.00", "4433.52", "4833.52"),
    "mt940/wolph-mt940/ASNB/mt940.txt": ("ok", 31, 8, "56.94", "444.29", "501.23"),
    "mt940/wolph-mt940/ASNB/mt940_with_spaces_for_entry_date.txt": ("ok", 31, 8, "56.94", "444.29", "501.23"),
    "mt940/wolph-mt940/betterplace/amount_formats.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/betterplace/currency_in_25.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/betterplace/empty_86.sta": ("refused", "line 1: no :20: tag: this is not an MT940 statement"),
    "mt940/wolph-mt940/betterplace/empty_entry_date.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/betterplace/empty_line.sta": (
        "refused",
        "statement 1 (line 2): has neither transactions nor opening and closing balances (:60F:/:62F:)",
    ),
    "mt940/wolph-mt940/betterplace/missing_crlf_at_end.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/betterplace/sepa_mt9401.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance -1234718.36 + lines -2500.11 = -1237218.47, but the closing balance is -1237628.23",
    ),
    "mt940/wolph-mt940/betterplace/sepa_snippet.sta": (
        "refused",
        "statement 2 (line 25), balances: opening balance -1970431.87 + lines -2501917.30 = -4472349.17, but the closing balance is -4472049.09",
    ),
    "mt940/wolph-mt940/betterplace/sepa_snippet_broken.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 766656.49 + lines 50990.05 = 817646.54, but the closing balance is 1125250.40",
    ),
    "mt940/wolph-mt940/betterplace/with_binary_character.sta": ("ok", 2, 4, "-179066.75", "380115.77", "131193.19"),
    "mt940/wolph-mt940/citi/mt940.txt": ("ok", 1, 5, "-1142.75", "17376.67", "16233.92"),
    "mt940/wolph-mt940/cmxl/account_balance_credit.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/cmxl/account_balance_debit.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/cmxl/account_identification_iban.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/cmxl/account_identification_legacy.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/cmxl/available_balance.sta": ("refused", "line 1: no :20: tag: this is not an MT940 statement"),
    "mt940/wolph-mt940/cmxl/closing_balance.sta": ("refused", "line 1: no :20: tag: this is not an MT940 statement"),
    "mt940/wolph-mt940/cmxl/mt940.sta": (
        "refused",
        "statement 2 (line 31), currency: the statement is in EUR, the account in DEM",
    ),
    "mt940/wolph-mt940/cmxl/reference.sta": (
        "refused",
        "statement 1 (line 1): has neither transactions nor opening and closing balances (:60F:/:62F:)",
    ),
    "mt940/wolph-mt940/cmxl/statement_details.sta": ("refused", "line 1: no :20: tag: this is not an MT940 statement"),
    "mt940/wolph-mt940/cmxl/statement_line.sta": ("refused", "line 1: no :20: tag: this is not an MT940 statement"),
    "mt940/wolph-mt940/cmxl/statement_number.sta": ("refused", "line 1: no :20: tag: this is not an MT940 statement"),
    "mt940/wolph-mt940/jejik/abnamro.sta": (
        "refused",
        "statement 1 (line 4), balances: opening balance 3236.28 + lines -321.44 = 2914.84, but the closing balance is 876.84",
    ),
    "mt940/wolph-mt940/jejik/generic.sta": ("ok", 2, 2, "-20.00", "100.00", "80.00"),
    "mt940/wolph-mt940/jejik/ing.sta": (
        "refused",
        "statement 1 (line 4), balances: opening balance 0.00 + lines -45.59 = -45.59, but the closing balance is 3.47",
    ),
    "mt940/wolph-mt940/jejik/knab.sta": (
        "refused",
        "statement 2 (line 10), balances: opening balance 3058.98 + lines -6760.00 = -3701.02, but the closing balance is 798.98",
    ),
    "mt940/wolph-mt940/jejik/postfinance.sta": (
        "refused",
        "statement 2 (line 15), balances: opening balance 229.20 + lines -69.80 = 159.40, but the closing balance is 159.60",
    ),
    "mt940/wolph-mt940/jejik/rabobank-iban.sta": ("ok", 2, 4, "-70.00", "1000.00", "930.00"),
    "mt940/wolph-mt940/jejik/rabobank.sta": (
        "refused",
        "statement 1 (line 2), balances: opening balance 473.17 + lines -1213.28 = -740.11, but the closing balance is 395.82",
    ),
    "mt940/wolph-mt940/jejik/sns.sta": ("ok", 2, 2, "-25.00", "1234.56", "1209.56"),
    "mt940/wolph-mt940/jejik/triodos.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 4975.09 + lines -715.70 = 4259.39, but the closing balance is 4370.79",
    ),
    "mt940/wolph-mt940/mBank/mt940.sta": ("ok", 1, 3, "0.03", "0.40", "0.43"),
    "mt940/wolph-mt940/mBank/mt942.sta": (
        "refused",
        "line 1: this is an MT942 interim transaction report, not an MT940 statement; import the MT940",
    ),
    "mt940/wolph-mt940/mBank/with_newline_in_tnr.sta": (
        "refused",
        "statement 1 (line 2), balances: opening balance 0.46 + lines 89.00 = 89.46, but the closing balance is 860.17",
    ),
    "mt940/wolph-mt940/sberbank/171011_01234945.sta": ("ok", 1, 3, "-9437.00", "627311.30", "617874.30"),
    "mt940/wolph-mt940/self-provided/account_identification.sta": (
        "refused",
        "statement 1 (line 1): has neither transactions nor opening and closing balances (:60F:/:62F:)",
    ),
    "mt940/wolph-mt940/self-provided/details_60-63.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 12345.12 + lines -233.15 = 12111.97, but the closing balance is 12345.98",
    ),
    "mt940/wolph-mt940/self-provided/empty_non_swift.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/self-provided/february_30.sta": ("ok", 1, 1, "-6.00", "1200.00", "1194.00"),
    "mt940/wolph-mt940/self-provided/gv_codes.sta": ("ok", 1, 2, "-257.45", "12345.12", None),
    "mt940/wolph-mt940/self-provided/invalid_statement.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/self-provided/long_statement_number.sta": ("ok", 1, 0, "0", "0.00", "0.00"),
    "mt940/wolph-mt940/self-provided/malformed_details.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 12345.12 + lines -233.15 = 12111.97, but the closing balance is 12345.98",
    ),
    "mt940/wolph-mt940/self-provided/mt942.sta": (
        "refused",
        "line 1: this is an MT942 interim transaction report, not an MT940 statement; import the MT940",
    ),
    "mt940/wolph-mt940/self-provided/multiline.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 16.40 + lines 114.00 = 130.40, but the closing balance is 11.40",
    ),
    "mt940/wolph-mt940/self-provided/overly_long_details.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 12345.12 + lines -233.15 = 12111.97, but the closing balance is 12345.98",
    ),
    "mt940/wolph-mt940/self-provided/raiffeisen-cmi.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 25170637.10 + lines -1012213.50 = 24158423.60, but the closing balance is 25281687.60",
    ),
    "mt940/wolph-mt940/self-provided/raphaelm.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 0.00 + lines 105000.00 = 105000.00, but the closing balance is 0.00",
    ),
    "mt940/wolph-mt940/self-provided/sparkassen.sta": (
        "refused",
        "line 1: no :20: tag: this is not an MT940 statement",
    ),
    "mt940/wolph-mt940/self-provided/transaction_details_wrapped.sta": ("ok", 1, 1, "-6.00", "1200.00", "1194.00"),
    "mt940/wolph-mt940/self-provided/whitespace.sta": (
        "refused",
        "statement 1 (line 1), balances: opening balance 12345.12 + lines -233.15 = 12111.97, but the closing balance is 12345.98",
    ),
    "mt940/wolph-mt940/self-provided/wrapped_timestamp.sta": ("ok", 1, 1, "-6.00", "1200.00", "1194.00"),
}


def test_the_table_covers_every_sample():
    assert set(EXPECTED) == every_sample("mt940")


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_sample(relative):
    check(relative, EXPECTED[relative])
