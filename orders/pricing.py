"""The one place a price is decided: price_for() says what a customer pays for a product, and
where that price came from, so a clerk (and an auditor) can see why a line costs what it does.

Order of precedence, first match wins:
1. the customer's price list (active): among its items for the product that are valid on the
   date (validity dates inclusive, open ends allowed) and whose min_quantity <= quantity, the
   one with the highest min_quantity (the best quantity break reached); ties: the latest
   valid_from, then the newest item;
2. the product's list price in the customer's currency (ProductPrice);
3. the product's own unit_price, when the product is priced in the customer's currency.
None of them: no price (the line cannot be ordered until one is set).

Discounts: the charged unit price is list price x (1 - discount%), rounded half up to the
cent, so every part of the line that is shipped and invoiced adds up to the order.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q

from o2c.core.money import round_money

from .models import Customer, DiscountLimit, PriceListItem, Product, ProductPrice

HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Price:
    unit_price: Decimal
    currency: str
    source: str  # e.g. "price list KEY-ACCOUNTS from 10 pc", "list price EUR"


def price_for(customer: Customer, product: Product, quantity: Decimal, on_date: datetime.date) -> Price | None:
    """What `customer` pays per unit of `product` when ordering `quantity` on `on_date`."""
    currency = customer.currency
    price_list = customer.price_list if customer.price_list_id else None
    if price_list is not None and price_list.is_active and price_list.currency == currency:
        item = (
            PriceListItem.objects.filter(price_list=price_list, product=product, min_quantity__lte=quantity)
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_date))
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
            .order_by("-min_quantity", F("valid_from").desc(nulls_last=True), "-id")
            .first()
        )
        if item is not None:
            breaks = f" from {item.min_quantity.normalize():f} {product.unit}" if item.min_quantity > 1 else ""
            return Price(item.unit_price, currency, f"price list {price_list.code}{breaks}")
    listed = ProductPrice.objects.filter(product=product, currency=currency).first()
    if listed is not None:
        return Price(listed.unit_price, currency, f"list price {currency}")
    if product.unit_price is not None and product.currency == currency:
        return Price(product.unit_price, currency, "list price")
    return None


def discounted_unit_price(list_price: Decimal, discount_percent: Decimal, currency: str) -> Decimal:
    """List price less the discount, rounded half up to the currency's minor unit."""
    return round_money(list_price * (HUNDRED - discount_percent) / HUNDRED, currency)


def discount_limit_for(user) -> Decimal:
    """The largest line discount (%) the user's roles allow without orders.override_price;
    the most generous of the user's groups, 0 when none has a limit set."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Decimal("0")
    limits = DiscountLimit.objects.filter(group__user=user).values_list("max_percent", flat=True)
    return max(limits, default=Decimal("0"))
