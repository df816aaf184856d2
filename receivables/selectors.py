import datetime
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from invoicing.models import Invoice
from orders.models import Customer

from .models import Account, Allocation, JournalLine, Payment

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
AGING_BUCKETS = [("current", "Not yet due", None, 0), ("1_30", "1-30 days", 1, 30), ("31_60", "31-60 days", 31, 60), ("61_90", "61-90 days", 61, 90), ("90_plus", "Over 90 days", 91, None)]


def open_items(customer: Customer | None = None):
    items = Invoice.objects.filter(status=Invoice.Status.ISSUED, amount_open__gt=0).select_related("customer")
    if customer is not None:
        items = items.filter(customer=customer)
    return items.order_by("due_date", "id")


def open_receivables(customer: Customer) -> Decimal:
    return open_items(customer).aggregate(total=Coalesce(Sum("amount_open"), ZERO))["total"]


def overdue_amount(customer: Customer, *, more_than_days: int, on: datetime.date) -> Decimal:
    cutoff = on - datetime.timedelta(days=more_than_days)
    return open_items(customer).filter(due_date__lt=cutoff).aggregate(total=Coalesce(Sum("amount_open"), ZERO))["total"]


def ledger_balance(customer: Customer) -> Decimal:
    """What the customer owes by the ledger: receivables minus unapplied cash."""
    sign = Case(
        When(account=Account.RECEIVABLES, then=F("debit") - F("credit")),
        When(account=Account.UNAPPLIED_CASH, then=F("debit") - F("credit")),
        default=ZERO,
    )
    return JournalLine.objects.filter(customer=customer).aggregate(total=Coalesce(Sum(sign), ZERO))["total"]


def unapplied_cash(customer: Customer) -> Decimal:
    return (
        Payment.objects.filter(customer=customer)
        .exclude(status=Payment.Status.REVERSED)
        .aggregate(total=Coalesce(Sum(F("amount") - F("amount_applied")), ZERO))["total"]
    )


def aging_summary(*, on: datetime.date) -> list[dict]:
    """Open amount per aging bucket (days past due on `on`), computed by the database."""
    sums = {}
    for key, _, low, high in AGING_BUCKETS:
        condition = Q()
        if low is None:
            condition &= Q(due_date__gte=on)
        else:
            condition &= Q(due_date__lte=on - datetime.timedelta(days=low))
            if high is not None:
                condition &= Q(due_date__gte=on - datetime.timedelta(days=high))
        sums[key] = Coalesce(Sum("amount_open", filter=condition), ZERO)
    totals = open_items().aggregate(**sums)
    return [{"key": key, "label": label, "amount": totals[key]} for key, label, _, _ in AGING_BUCKETS]


def payments_for_invoice(invoice: Invoice):
    return Allocation.objects.filter(invoice=invoice).select_related("payment").order_by("created_at")


def ledger_integrity_problems() -> list[str]:
    """The nightly check: per customer, the ledger's receivables equal the open items and its
    unapplied cash equals the payments' unapplied amounts. Returns one line per difference."""
    problems = []
    ledger = (
        JournalLine.objects.values("customer_id")
        .annotate(
            receivables=Coalesce(Sum(F("debit") - F("credit"), filter=Q(account=Account.RECEIVABLES)), ZERO),
            unapplied=Coalesce(Sum(F("credit") - F("debit"), filter=Q(account=Account.UNAPPLIED_CASH)), ZERO),
        )
        .order_by()
    )
    open_by_customer = dict(
        Invoice.objects.filter(status=Invoice.Status.ISSUED).values("customer_id").annotate(t=Sum("amount_open")).values_list("customer_id", "t").order_by()
    )
    unapplied_by_customer = dict(
        Payment.objects.exclude(status=Payment.Status.REVERSED)
        .values("customer_id")
        .annotate(t=Sum(F("amount") - F("amount_applied")))
        .values_list("customer_id", "t")
        .order_by()
    )
    for row in ledger:
        customer_id = row["customer_id"]
        expected_open = open_by_customer.get(customer_id) or Decimal("0")
        expected_unapplied = unapplied_by_customer.get(customer_id) or Decimal("0")
        if row["receivables"] != expected_open:
            problems.append(f"customer {customer_id}: ledger receivables {row['receivables']} != open items {expected_open}")
        if row["unapplied"] != expected_unapplied:
            problems.append(f"customer {customer_id}: ledger unapplied cash {row['unapplied']} != payments {expected_unapplied}")
    return problems
