"""Every camt sample either imports with the right count, sum and balances, or is refused with
a specific message (the genkgo fixtures' balances were made up and do not add up: refused)."""

import pytest

from .statement_table import check, every_sample

pytestmark = pytest.mark.django_db

NOT_A_STATEMENT_052 = "camt.052 intraday account report, not a statement"
NOT_A_STATEMENT_054 = "camt.054 debit/credit notification, not a statement"
GENKGO_BALANCES = "opening balance 18.15 + lines 8.85 = 27.00, but the closing balance is -27.00"
G = "camt053/genkgo-camt/"
OCA = "camt053/oca-bank-statement-import-16.0/"

EXPECTED = {
    G + "camt052-camt054/camt052.v1.xml": ("refused", "BkToCstmrAcctRptV01: not a camt.053"),
    G + "camt052-camt054/camt052.v2.other-account.xml": ("refused", NOT_A_STATEMENT_052),
    G + "camt052-camt054/camt052.v2.with-account-name.xml": ("refused", NOT_A_STATEMENT_052),
    G + "camt052-camt054/camt052.v2.xml": ("refused", NOT_A_STATEMENT_052),
    G + "camt052-camt054/camt052.v4.xml": ("refused", NOT_A_STATEMENT_052),
    G + "camt052-camt054/camt052.v6.Amt-zero.xml": ("refused", NOT_A_STATEMENT_052),
    G + "camt052-camt054/camt052.v6.xml": ("refused", NOT_A_STATEMENT_052),
    G + "camt052-camt054/camt052.v8.xml": ("refused", NOT_A_STATEMENT_052),
    G + "camt052-camt054/camt054.v2.with-account-name.xml": ("refused", NOT_A_STATEMENT_054),
    G + "camt052-camt054/camt054.v2.xml": ("refused", NOT_A_STATEMENT_054),
    G + "camt052-camt054/camt054.v4.xml": ("refused", NOT_A_STATEMENT_054),
    G + "camt052-camt054/camt054.v8-with-UETR.xml": ("refused", NOT_A_STATEMENT_054),
    G + "camt052-camt054/camt054.v8-with-financial-institution.xml": ("refused", NOT_A_STATEMENT_054),
    G + "camt052-camt054/camt054.v8.xml": ("refused", NOT_A_STATEMENT_054),
    G + "camt053.v2.all-balance-types.xml": (
        "refused",
        "Stmt 1 (CAMT0532015012200001), balances: opening balance 1.01 + lines 8.85 = 9.86, but the closing balance is 4.04",
    ),
    G + "camt053.v2.five.decimals.xml": ("refused", "= 27.00, but the closing balance is 27.05"),
    G + "camt053.v2.minimal.ultimate.xml": ("refused", GENKGO_BALANCES),
    G + "camt053.v2.minimal.xml": ("refused", GENKGO_BALANCES),
    G + "camt053.v2.multi.statement.xml": ("ok", 2, 2, "1.85", "18.15", "20.00"),
    G + "camt053.v2.with-account-name.xml": ("ok", 1, 1, "8.85", None, None),
    G + "camt053.v2.with-party-ids.xml": ("refused", GENKGO_BALANCES),
    G + "camt053.v2.wrong.xml": ("refused", "BkToCstmrStmt: holds no Stmt"),
    G + "camt053.v3.xml": ("refused", GENKGO_BALANCES),  # .03
    G + "camt053.v4.xml": ("refused", GENKGO_BALANCES),  # .04
    G + "camt053.v8.xml": ("refused", GENKGO_BALANCES),  # .08
    G + "camt53.only-Dt-with-DtTm.xml": ("ok", 1, 0, "0", "5442.09", None),
    "camt053/oca-bank-statement-import-14.0-sftp/camt053": ("ok", 1, 1, "-1200.00", "75000.00", None),
    # a batch booking (2 TxDtls) and a reversal; its published balances do not add up
    OCA + "test-camt053": (
        "refused",
        "opening balance 15568.27 + lines -12.99 = 15555.28, but the closing balance is 15121.12",
    ),
    OCA + "test-camt053-no-ntry": ("ok", 1, 0, "0", "1520.76", "1520.76"),
    # a .04 batch split into its two transactions, structured CdtrRefInf remittance
    OCA + "test-camt053-txdtls": ("ok", 1, 2, "3483.00", "75960.15", "79443.15"),
    OCA + "test-camt053.zip": ("refused", "Stmt 1 (1234Test/2), balances: opening balance 15568.27 + lines 57.01"),
    OCA + "test-camt054": ("refused", NOT_A_STATEMENT_054),
}


def test_the_table_covers_every_sample():
    assert set(EXPECTED) == every_sample("camt053")


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_sample(relative):
    check(relative, EXPECTED[relative])
