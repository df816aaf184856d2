"""Tax categories per line, and totals that agree under both rounding rules (hypothesis)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing import taxes

RATES = [Decimal("0.21"), Decimal("0.12"), Decimal("0.06"), Decimal("0.055"), Decimal("0.19")]
CATEGORIES = ["S", "S", "S", "Z", "E", "AE", "K", "G", "O"]

line_strategy = st.builds(
    taxes.LineInput,
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9999"), places=3),
    unit_price=st.decimals(min_value=Decimal("0"), max_value=Decimal("99999"), places=4),
    category=st.sampled_from(CATEGORIES),
    rate=st.sampled_from(RATES),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(line_strategy, min_size=1, max_size=40), rule=st.sampled_from(["per_line", "per_document"]))
def test_lines_breakdown_and_document_totals_agree(lines, rule):
    totals = taxes.compute_totals(lines, currency="EUR", rounding_rule=rule)
    cent = Decimal("0.01")
    # every amount is in cents
    for net, tax in totals.lines:
        assert net == net.quantize(cent) and tax == tax.quantize(cent)
    # line nets add up to the document net and to the breakdown's taxable amounts
    assert sum(net for net, _ in totals.lines) == totals.net_amount
    assert sum(row.taxable_amount for row in totals.breakdown) == totals.net_amount
    # the document tax is the breakdown's, and the total is net + tax
    assert sum(row.tax_amount for row in totals.breakdown) == totals.tax_amount
    assert totals.total == totals.net_amount + totals.tax_amount
    # one breakdown row per (category, rate); 0% categories carry no tax
    keys = [(row.category, row.rate) for row in totals.breakdown]
    assert len(keys) == len(set(keys))
    for row in totals.breakdown:
        if row.category != "S":
            assert row.rate == 0 and row.tax_amount == 0
        exact = row.taxable_amount * row.rate
        if rule == "per_document":
            assert abs(row.tax_amount - exact) <= Decimal("0.005")  # rounded once
        else:
            count = sum(1 for line in lines if line.category == row.category)
            assert abs(row.tax_amount - exact) <= Decimal("0.005") * count  # a half cent per line at most
    if rule == "per_line":
        assert sum(tax for _, tax in totals.lines) == totals.tax_amount


def test_rounding_rules_worked_example():
    # two lines of 0.25 at 6%: per line 0.02 x 2 = 0.04; per document 0.50 x 6% = 0.03
    lines = [taxes.LineInput(Decimal("1"), Decimal("0.25"), "S", Decimal("0.06"))] * 2
    assert taxes.compute_totals(lines, currency="EUR", rounding_rule="per_line").tax_amount == Decimal("0.04")
    assert taxes.compute_totals(lines, currency="EUR", rounding_rule="per_document").tax_amount == Decimal("0.03")


@pytest.mark.parametrize(
    "product_category, rate, treatment, goods, expected",
    [
        ("S", "0.21", "domestic", True, ("S", "0.21")),
        ("S", "0.06", "domestic", False, ("S", "0.06")),
        ("S", "0.21", "intra_eu", True, ("K", "0")),  # intra-Community supply of goods
        ("S", "0.21", "intra_eu", False, ("AE", "0")),  # services: reverse charge
        ("S", "0.21", "export", True, ("G", "0")),
        ("E", "0", "domestic", False, ("E", "0")),  # exempt stays exempt
        ("E", "0", "export", False, ("E", "0")),
        ("Z", "0", "intra_eu", True, ("Z", "0")),
        ("O", "0", "domestic", False, ("O", "0")),
        ("AE", "0.21", "domestic", True, ("AE", "0")),  # domestic reverse charge (construction)
    ],
)
def test_line_category_follows_product_and_customer(product_category, rate, treatment, goods, expected):
    tax = taxes.line_tax(
        product_category=product_category, product_rate=Decimal(rate), treatment=treatment, is_goods=goods
    )
    assert (tax.category, tax.rate) == (expected[0], Decimal(expected[1]))


@pytest.mark.parametrize(
    "gross, rate, net, credited",
    [
        ("50.00", "0.21", "41.32", "50.00"),  # 41.32 + 8.68
        ("1.00", "0.21", "0.83", "1.00"),  # 0.83 + 0.17
        ("10.00", "0.21", "8.26", "9.99"),  # no net gives 10.00: 8.26 -> 9.99, 8.27 -> 10.01
        ("10.60", "0.06", "10.00", "10.60"),
        ("7.00", "0", "7.00", "7.00"),
    ],
)
def test_credit_by_amount_finds_the_net_that_hits_the_gross(gross, rate, net, credited):
    from invoicing.services import _net_for_gross

    found = _net_for_gross(Decimal(gross), Decimal(rate), "EUR")
    assert (str(found), str(found + (found * Decimal(rate)).quantize(Decimal("0.01"), "ROUND_HALF_UP"))) == (
        net,
        credited,
    )
