"""Money is Decimal, rounded once, explicitly, to the currency's minor unit (ROUND_HALF_UP)."""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units for the currencies we bill in; everything else has two.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "TND": 3}
ZERO = Decimal("0.00")


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def round_money(amount: Decimal | int | str, currency: str = "EUR") -> Decimal:
    """Round half up to the currency's minor unit: 0.005 EUR -> 0.01, -0.005 -> -0.01."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def line_amounts(quantity: Decimal, unit_price: Decimal, tax_rate: Decimal, currency: str):
    """Net, tax and gross of one line: net and tax each rounded per line, gross their sum."""
    net = round_money(quantity * unit_price, currency)
    tax = round_money(net * tax_rate, currency)
    return net, tax, net + tax


def format_money(amount: Decimal | None, currency: str = "") -> str:
    """1234.5 -> '1,234.50 EUR' (grouping done once here, not by the template localiser)."""
    if amount is None:
        return ""
    places = minor_units(currency or "EUR")
    text = f"{amount:,.{places}f}"
    return f"{text} {currency}".strip()
