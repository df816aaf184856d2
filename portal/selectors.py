"""Portal reads. Every function takes the customer the caller got from portal.scoping, so
nothing here can reach another account's rows."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from fulfillment.models import Shipment
from invoicing.models import Invoice
from orders.models import Customer, Product
from receivables.models import Account, JournalLine

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
CUSTOMER_ACCOUNTS = [Account.RECEIVABLES, Account.UNAPPLIED_CASH]  # what the customer owes, net of cash on account


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


@dataclass
class StatementLine:
    date: datetime.date
    description: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass
class Statement:
    customer: Customer
    start: datetime.date
    end: datetime.date
    opening: Decimal
    closing: Decimal = Decimal("0")
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.customer.currency


def statement(customer: Customer, *, start: datetime.date, end: datetime.date) -> Statement:
    """The statement of account from the AR ledger: the balance owed at the start, each
    invoice (debit) and payment (credit) in the period with the running balance, the balance
    at the end. Cash applied to an invoice moves nothing the customer owes, so it is left out."""
    lines = JournalLine.objects.filter(customer=customer, account__in=CUSTOMER_ACCOUNTS)
    net = Sum(F("debit") - F("credit"))
    opening = lines.filter(entry__effective_date__lt=start).aggregate(total=Coalesce(net, ZERO))["total"]
    entries = (
        lines.filter(entry__effective_date__gte=start, entry__effective_date__lte=end)
        .values("entry_id", "entry__effective_date", "entry__description")
        .annotate(net=net)
        .filter(~Q(net=0))
        .order_by("entry__effective_date", "entry_id")
    )
    result = Statement(customer=customer, start=start, end=end, opening=opening)
    balance = opening
    for row in entries:
        amount = row["net"]
        balance += amount
        result.lines.append(
            StatementLine(
                date=row["entry__effective_date"],
                description=row["entry__description"],
                debit=amount if amount > 0 else Decimal("0"),
                credit=-amount if amount < 0 else Decimal("0"),
                balance=balance,
            )
        )
    result.closing = balance
    return result
