"""Every BAI2 sample imports with the right count, sum and balances, or is refused."""

import pytest

from .statement_table import check, every_sample

pytestmark = pytest.mark.django_db
P = "bai2/bai2-pypi-0.15.0/"
M = "bai2/moov-io-bai2/"

EXPECTED = {
    P + "account_trailer_amount_blank_example.bai2": ("ok", 2, 0, "0", None, None),
    # opening ledger 100.00, one credit of 0.01, closing ledger 100.00: does not add up
    P + "citi_example.bai2": (
        "refused",
        "opening balance 100.00 + lines 0.01 = 100.01, but the closing balance is 100.00",
    ),
    P + "nwb_example.bai2": ("ok", 1, 5, "-26.76", "365.21", "338.45"),
    P + "svb_us_example.bai2": ("ok", 2, 2, "13959.96", "347269.79", "361229.75"),
    M + "sample1.txt": ("ok", 2, 17, "0.00", None, None),
    M + "sample2.txt": ("refused", "cannot be read as BAI2 (Type code '190500000' is not supported yet)"),
    M + "spec-section3.txt": ("ok", 1, 1, "15000.00", "5000.00", None),
}


def test_the_table_covers_every_sample():
    assert set(EXPECTED) == every_sample("bai2")


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_sample(relative):
    check(relative, EXPECTED[relative])
