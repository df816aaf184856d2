"""Every CSV sample, read through the column mapping its bank would have saved."""

import pytest

from receivables.models import CsvMapping

from .statement_table import check, every_sample

pytestmark = pytest.mark.django_db
C = "csv/oca-bank-statement-import-16.0/"
OCA = {"date_column": "Date", "text_column": "Label", "counterparty_name_column": "Partner Name"}

MAPPINGS = {
    "balance.csv": dict(OCA, amount_column="Amount", balance_column="Balance"),
    "debit_credit.csv": dict(OCA, amount_column="Amount", sign_column="D/C", balance_column="Balance"),
    "debit_credit_amount.csv": dict(OCA, debit_column="Debit", credit_column="Credit", balance_column="Balance"),
    "empty_statement_en.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
    "meta_data_separated_credit_debit.csv": {
        "header_starts_with": "Date",
        "date_format": "%d/%m/%y",
        "decimal_separator": ",",
        "date_column": "Date",
        "debit_column": "Debit",
        "credit_column": "Credit",
        "text_column": "Label",
        "reference_column": "Operation Number",
    },
    "multi_currency.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
    "original_currency.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
    "original_currency_empty.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
    "original_currency_no_header.csv": {
        "has_header": False,
        "date_column": "0",
        "text_column": "1",
        "currency_column": "2",
        "amount_column": "3",
        "counterparty_name_column": "5",
        "reference_column": "7",
    },
    "sample_statement_credit_card_inverse_sign_en.csv": dict(
        OCA, amount_column="Amount", currency_column="Currency", invert_sign=True
    ),
    "sample_statement_en.csv": dict(OCA, amount_column="Amount", currency_column="Currency"),
}

EXPECTED = {
    C + "balance.csv": ("ok", 1, 2, "1500.00", "10.00", "1510.00"),
    C + "debit_credit.csv": ("ok", 1, 2, "1500.00", "10.00", "1510.00"),
    # the third row's balance (10.00) does not follow from the rows before it
    C + "debit_credit_amount.csv": (
        "refused",
        "line 4: the running balance says 10.00, the lines before it add up to -57.00",
    ),
    C + "empty_statement_en.csv": ("ok", 1, 0, "0", None, None),
    # a footer row below the lines ("Balance at start of period") is not a line
    C + "meta_data_separated_credit_debit.csv": (
        "refused",
        "line 10, date: 'Balance at start of period' is not a date",
    ),
    C + "multi_currency.csv": ("refused", "line 2: amount in USD on a EUR account"),
    C + "original_currency.csv": ("ok", 1, 1, "1525.00", None, None),
    C + "original_currency_empty.csv": ("ok", 1, 1, "1525.00", None, None),
    C + "original_currency_no_header.csv": ("ok", 1, 1, "1525.00", None, None),
    C + "sample_statement_credit_card_inverse_sign_en.csv": ("refused", "line 2: amount in USD on a EUR account"),
    C + "sample_statement_en.csv": ("refused", "line 2: amount in USD on a EUR account"),
}


def test_the_table_covers_every_sample():
    assert set(EXPECTED) == every_sample("csv")


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_sample(relative):
    name = relative.rsplit("/", 1)[1]
    mapping = CsvMapping.objects.create(name=name, **MAPPINGS[name])
    check(relative, EXPECTED[relative], csv_mapping=mapping)


def test_a_csv_without_a_mapping_is_refused_with_the_reason():
    with pytest.raises(Exception) as refused:
        check(C + "balance.csv", ("ok", 1, 2, "1500.00", "10.00", "1510.00"))
    assert "a CSV needs the bank account's column mapping" in str(refused.value)
