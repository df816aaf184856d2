"""VAT per line and per document.

A line's EN 16931 category follows from the product's category and the customer's tax
treatment; 0% categories carry the exemption reason (text + VATEX code) the law asks to print.
Totals are computed by one pure function under either rounding rule, so lines, breakdown and
document totals always agree (tests/invoicing/test_taxes.py proves it with hypothesis)."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from o2c.core.money import round_money

ZERO = Decimal("0")
ZERO_RATED = {"Z", "E", "AE", "K", "G", "O"}

# Printed when no TaxRate row of the category says otherwise (codes from the CEF VATEX list).
DEFAULT_EXEMPTIONS = {
    "E": ("Exempt from VAT", "VATEX-EU-132"),
    "AE": ("Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)", "VATEX-EU-AE"),
    "K": ("Intra-Community supply of goods, exempt (Art. 138 Directive 2006/112/EC)", "VATEX-EU-IC"),
    "G": ("Export outside the EU, exempt (Art. 146 Directive 2006/112/EC)", "VATEX-EU-G"),
    "O": ("Not subject to VAT", "VATEX-EU-O"),
}


@dataclass(frozen=True)
class LineTax:
    category: str
    rate: Decimal


def line_tax(*, product_category: str, product_rate: Decimal, treatment: str, is_goods: bool) -> LineTax:
    """The category and rate of one line.

    - Exempt (E), zero-rated (Z) and out-of-scope (O) products keep their category, at 0%.
    - Export customers (outside the EU): G, 0%.
    - Intra-EU business customers: goods are an intra-Community supply (K), services are
      reverse charged (AE), both 0%.
    - Domestic: the product's category (S at its rate; AE for domestic reverse charge at 0%).
    """
    if product_category in {"E", "Z", "O"}:
        return LineTax(product_category, ZERO)
    if treatment == "export":
        return LineTax("G", ZERO)
    if treatment == "intra_eu":
        return LineTax("K" if is_goods else "AE", ZERO)
    if product_category == "S":
        return LineTax("S", product_rate)
    return LineTax(product_category, ZERO)


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    category: str
    rate: Decimal


@dataclass(frozen=True)
class BreakdownRow:
    category: str
    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class Totals:
    lines: list[tuple[Decimal, Decimal]]  # (net, tax) per line, tax rounded per line
    breakdown: list[BreakdownRow]
    net_amount: Decimal
    tax_amount: Decimal
    total: Decimal


def compute_totals(lines: list[LineInput], *, currency: str, rounding_rule: str) -> Totals:
    """Net per line = quantity x price rounded; tax per (category, rate) group either the sum of
    the lines' rounded taxes ("per_line") or the group's taxable total x rate rounded once
    ("per_document"). Document tax = sum of the breakdown; total = net + tax."""
    per_line, groups = [], defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        rate = line.rate if line.category not in ZERO_RATED else ZERO
        net = round_money(line.quantity * line.unit_price, currency)
        tax = round_money(net * rate, currency)
        per_line.append((net, tax))
        group = groups[(line.category, rate)]
        group[0] += net
        group[1] += tax
    breakdown = []
    for (category, rate), (taxable, line_taxes) in sorted(groups.items(), key=lambda item: (item[0][0], -item[0][1])):
        tax = line_taxes if rounding_rule == "per_line" else round_money(taxable * rate, currency)
        breakdown.append(BreakdownRow(category, rate, taxable, tax))
    net_total = sum((net for net, _ in per_line), ZERO)
    tax_total = sum((row.tax_amount for row in breakdown), ZERO)
    return Totals(per_line, breakdown, net_total, tax_total, net_total + tax_total)
