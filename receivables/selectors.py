import datetime
from decimal import Decimal

from django.db.models import Case, DecimalField, Exists, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from invoicing.models import Invoice, InvoiceDocument
from o2c.core.money import round_money
from orders.models import Customer

from .models import Account, Allocation, JournalLine, Payment

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
AGING_BUCKETS = [
    ("current", "Not yet due", None, 0),
    ("1_30", "1-30 days", 1, 30),
    ("31_60", "31-60 days", 31, 60),
    ("61_90", "61-90 days", 61, 90),
    ("90_plus", "Over 90 days", 91, None),
]


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
    return round_money(
        JournalLine.objects.filter(customer=customer).aggregate(total=Coalesce(Sum(sign), ZERO))["total"]
    )


def unapplied_cash(customer: Customer) -> Decimal:
    """Cash received and not yet used. A payment's `amount_applied` counts both the cash applied
    to invoices and the cash refunded (receivables.writeoffs), so refunds are already taken off."""
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
        Invoice.objects.filter(status=Invoice.Status.ISSUED)
        .values("customer_id")
        .annotate(t=Sum("amount_open"))
        .values_list("customer_id", "t")
        .order_by()
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
        # Sums rounded to the cent: SQLite (the embedded default) adds decimals as floating point.
        row["receivables"], row["unapplied"] = round_money(row["receivables"]), round_money(row["unapplied"])
        expected_open = round_money(open_by_customer.get(customer_id) or Decimal("0"))
        expected_unapplied = round_money(unapplied_by_customer.get(customer_id) or Decimal("0"))
        if row["receivables"] != expected_open:
            problems.append(
                f"customer {customer_id}: ledger receivables {row['receivables']} != open items {expected_open}"
            )
        if row["unapplied"] != expected_unapplied:
            problems.append(
                f"customer {customer_id}: ledger unapplied cash {row['unapplied']} != payments {expected_unapplied}"
            )
    return problems + payment_usage_problems()


def payment_usage_problems() -> list[str]:
    """Per payment (not reversed): the cash it has used, `amount_applied`, equals its allocations
    still in force plus its refunds paid out. One line per payment that differs."""
    from .models import Refund

    allocated = (
        Allocation.objects.filter(payment=OuterRef("pk"), reversed_at__isnull=True)
        .order_by()
        .values("payment")
        .annotate(t=Sum("amount"))
        .values("t")
    )
    refunded = (
        Refund.objects.filter(payment=OuterRef("pk"), status=Refund.Status.POSTED)
        .order_by()
        .values("payment")
        .annotate(t=Sum("amount"))
        .values("t")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    rows = (
        Payment.objects.exclude(status=Payment.Status.REVERSED)
        .annotate(
            allocated=Coalesce(Subquery(allocated, output_field=money), ZERO),
            refunded=Coalesce(Subquery(refunded, output_field=money), ZERO),
        )
        .exclude(amount_applied=F("allocated") + F("refunded"))
        .values_list("pk", "amount_applied", "allocated", "refunded")
        .order_by("pk")
    )
    return [
        f"payment {pk}: applied {applied} != allocations {alloc} + refunds {refund}"
        for pk, applied, alloc, refund in rows
    ]


OPEN_ITEMS_ORDER = ("due_date", "id")  # oldest due first; the keyset of the open items list


def open_items_list(*, customer: str = "", overdue_on: datetime.date | None = None):
    """Open items for the AR list, oldest due first. `customer` matches part of the name or
    account number; with `overdue_on`, only items already past due on that day."""
    items = open_items().only(
        "number",
        "issue_date",
        "due_date",
        "total",
        "amount_open",
        "currency",
        "customer__name",
        "customer__account_number",
    )
    if customer:
        items = items.filter(Q(customer__name__icontains=customer) | Q(customer__account_number__icontains=customer))
    if overdue_on is not None:
        items = items.filter(due_date__lt=overdue_on)
    return items.order_by(*OPEN_ITEMS_ORDER)


def days_overdue(due_date: datetime.date | None, *, on: datetime.date) -> int:
    """Whole days past due on `on`; 0 when not yet due."""
    return max((on - due_date).days, 0) if due_date else 0


def balance_of(invoices, *, on: datetime.date) -> dict[str, Decimal]:
    """Open and overdue (due before `on`) amounts of a queryset of invoices, in one query.
    The caller scopes the queryset (a customer, the portal user's account)."""
    open_invoices = invoices.filter(status=Invoice.Status.ISSUED, amount_open__gt=0)
    return open_invoices.aggregate(
        open=Coalesce(Sum("amount_open"), ZERO),
        overdue=Coalesce(Sum("amount_open", filter=Q(due_date__lt=on)), ZERO),
    )


def with_pdf_flag(invoices):
    """Invoices annotated with `has_pdf`: the PDF has been rendered and stored."""
    pdfs = InvoiceDocument.objects.filter(invoice=OuterRef("pk"), kind=InvoiceDocument.Kind.PDF)
    return invoices.annotate(has_pdf=Exists(pdfs))


# Cash application -----------------------------------------------------------------------------------
def statement_continuity_problems() -> list[str]:
    """Per bank account, each statement's opening balance against the previous one's closing."""
    from .models import BankStatement

    problems = []
    for statement in (
        BankStatement.objects.filter(continuity_difference__isnull=False)
        .exclude(continuity_difference=0)
        .select_related("bank_account")
    ):
        problems.append(
            f"{statement.bank_account.iban}: statement {statement.statement_id or statement.pk} opens "
            f"{statement.continuity_difference} away from the previous closing balance"
        )
    return problems


def latest_reconciliation():
    from .models import ReconciliationRun

    return ReconciliationRun.objects.order_by("-ran_at", "-id").first()


def exceptions_queue(*, status: str = ""):
    """Statement lines a clerk must look at: suggested first (most work saved), then unmatched."""
    from .models import StatementLine

    lines = StatementLine.objects.filter(
        status__in=[status] if status else [StatementLine.Status.SUGGESTED, StatementLine.Status.UNMATCHED]
    ).select_related("statement__bank_account")
    return lines.order_by("id")


def open_items_search(*, text: str = "", customer_id: int | None = None, currency: str = "", limit: int = 20):
    """Open items for the allocation screen: by invoice number or customer name/account."""
    items = open_items().only(
        "number", "due_date", "amount_open", "currency", "customer__name", "customer__account_number"
    )
    if customer_id:
        items = items.filter(customer_id=customer_id)
    if currency:
        items = items.filter(currency=currency)
    if text:
        items = items.filter(
            Q(number__icontains=text) | Q(customer__name__icontains=text) | Q(customer__account_number__iexact=text)
        )
    return items[:limit]


# Write-offs and refunds ------------------------------------------------------------------------------
def posted_write_offs():
    from .models import WriteOff

    return WriteOff.objects.filter(status=WriteOff.Status.POSTED).select_related(
        "invoice__customer", "requested_by", "decided_by"
    )


def posted_refunds():
    from .models import Refund

    return Refund.objects.filter(status=Refund.Status.POSTED).select_related(
        "payment__customer", "requested_by", "decided_by"
    )


def credit_balances():
    """Payments with cash not applied to any invoice (a credit balance of their customer), largest
    first: what may be applied later or refunded."""
    return (
        Payment.objects.exclude(status=Payment.Status.REVERSED)
        .filter(amount_applied__lt=F("amount"))
        .annotate(unapplied=F("amount") - F("amount_applied"))
        .select_related("customer")
        .order_by("-unapplied", "id")
    )
