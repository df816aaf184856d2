"""Portal reads. Every function takes the customer the caller got from portal.scoping, so
nothing here can reach another account's rows."""

import datetime
from decimal import Decimal

from django.db.models import DecimalField, Q, Value

from fulfillment.models import Shipment
from invoicing.models import Invoice
from orders.models import Customer, Product
from receivables import account_statement
from receivables.account_statement import Statement

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))


def next_due(customer: Customer, *, limit: int = 5):
    return (
        Invoice.objects.filter(customer=customer, status=Invoice.Status.ISSUED, amount_open__gt=0)
        .only("number", "due_date", "amount_open", "currency")
        .order_by("due_date", "id")[:limit]
    )


def recent_deliveries(customer: Customer, *, limit: int = 5):
    return (
        Shipment.objects.filter(customer=customer)
        .exclude(shipped_at=None)
        .select_related("carrier")
        .order_by("-shipped_at", "-id")[:limit]
    )


def catalogue(customer: Customer):
    """What the customer can order here: active products priced in its currency."""
    return Product.objects.filter(is_active=True, unit_price__isnull=False, currency=customer.currency).order_by("sku")


def invoices_filtered(invoices, *, status: str = "", kind: str = "", number: str = "", on: datetime.date):
    if status == "open":
        invoices = invoices.filter(status=Invoice.Status.ISSUED, amount_open__gt=0)
    elif status == "overdue":
        invoices = invoices.filter(status=Invoice.Status.ISSUED, amount_open__gt=0, due_date__lt=on)
    elif status == "paid":
        invoices = invoices.filter(status=Invoice.Status.PAID)
    if kind in Invoice.Kind.values:
        invoices = invoices.filter(kind=kind)
    if number.strip():
        invoices = invoices.filter(Q(number__icontains=number.strip()) | Q(customer_po__icontains=number.strip()))
    return invoices


def statement(customer: Customer, *, start: datetime.date, end: datetime.date) -> Statement:
    """The statement of account (receivables builds it, for the desk and the portal alike)."""
    return account_statement.statement(customer, start=start, end=end)
