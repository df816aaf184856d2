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
    return PriceBook(customer, [product], on_date).price(product, quantity)


class PriceBook:
    """price_for() for many products of one order: two queries, then lookups in memory."""

    def __init__(self, customer: Customer, products, on_date: datetime.date):
        self.customer, self.currency = customer, customer.currency
        ids = {p.pk for p in products}
        price_list = customer.price_list if customer.price_list_id else None
        self.price_list = (
            price_list if price_list and price_list.is_active and price_list.currency == self.currency else None
        )
        self.items: dict[int, list[PriceListItem]] = {}
        if self.price_list is not None and ids:
            items = (
                PriceListItem.objects.filter(price_list=self.price_list, product_id__in=ids)
                .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_date))
                .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
                .order_by("-min_quantity", F("valid_from").desc(nulls_last=True), "-id")
            )
            for item in items:
                self.items.setdefault(item.product_id, []).append(item)
        self.listed = (
            dict(
                ProductPrice.objects.filter(product_id__in=ids, currency=self.currency).values_list(
                    "product_id", "unit_price"
                )
            )
            if ids
            else {}
        )

    def price(self, product: Product, quantity: Decimal) -> Price | None:
        for item in self.items.get(product.pk, []):  # best break first
            if item.min_quantity <= quantity:
                breaks = f" from {item.min_quantity.normalize():f} {product.unit}" if item.min_quantity > 1 else ""
                return Price(item.unit_price, self.currency, f"price list {self.price_list.code}{breaks}")
        if product.pk in self.listed:
            return Price(self.listed[product.pk], self.currency, f"list price {self.currency}")
        if product.unit_price is not None and product.currency == self.currency:
            return Price(product.unit_price, self.currency, "list price")
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
