"""Reads of customers, products and sales orders for pages."""

import datetime
from decimal import Decimal

from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from .models import Customer, Product, SalesOrder

ORDER_LIST_ORDER = ("-order_date", "-id")  # matches the salesorder_keyset index
ZERO_QTY = Value(Decimal("0"), output_field=DecimalField(max_digits=12, decimal_places=3))


def order_list(
    *,
    status: str = "",
    customer: str = "",
    channel: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    q: str = "",
) -> QuerySet[SalesOrder]:
    """Orders for the order list, newest first, filtered by whatever was given.

    `customer` matches part of the name or account number; `q` part of the order number or
    the customer's PO. Drafts have no number yet but are listed too (they are work to finish)."""
    orders = SalesOrder.objects.select_related("customer").only(
        "number",
        "order_date",
        "customer_po",
        "status",
        "total",
        "currency",
        "customer__name",
        "customer__account_number",
    )
    if status:
        orders = orders.filter(status=status)
    if channel:
        orders = orders.filter(channel=channel)
    if customer:
        orders = orders.filter(Q(customer__name__icontains=customer) | Q(customer__account_number__icontains=customer))
    if date_from:
        orders = orders.filter(order_date__gte=date_from)
    if date_to:
        orders = orders.filter(order_date__lte=date_to)
    if q:
        orders = orders.filter(Q(number__icontains=q) | Q(customer_po__icontains=q))
    return orders.order_by(*ORDER_LIST_ORDER)


def customer_choices(q: str, *, limit: int = 10) -> list[Customer]:
    """Active customers whose name or account number contains `q`, for a typeahead."""
    q = q.strip()
    if not q:
        return []
    return list(
        Customer.objects.filter(is_active=True)
        .filter(Q(name__icontains=q) | Q(account_number__icontains=q))
        .only("account_number", "name", "city")
        .order_by("name", "id")[:limit]
    )


def product_choices(q: str, *, limit: int = 15) -> list[Product]:
    """Active products whose SKU or name contains `q`, with `available` (on hand - reserved over
    all warehouses) for a typeahead. Stock lives in fulfillment, a layer above: it is read
    through the reverse relation `stock` rather than by importing that app."""
    q = q.strip()
    if not q:
        return []
    return list(
        Product.objects.filter(is_active=True)
        .filter(Q(sku__icontains=q) | Q(name__icontains=q))
        .annotate(available=Coalesce(Sum(F("stock__on_hand") - F("stock__reserved")), ZERO_QTY))
        .order_by("sku")[:limit]
    )
