"""The statement of account: one implementation for the AR desk, the portal and the monthly
statements emailed to customers. Built from the AR ledger, so it always agrees with the balance.

For a period: the balance owed at the start, every invoice, credit note, payment, charge (and
write-off or refund) in the period with the running balance, the balance at the end, and the
aging of what was open at the end. Cash applied to an invoice moves nothing the customer owes
(it leaves unapplied cash and reduces receivables by the same amount), so it is left out."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string

from orders.models import Customer

from .models import Account, JournalEntry, JournalLine
from .selectors import AGING_BUCKETS

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
CUSTOMER_ACCOUNTS = [Account.RECEIVABLES, Account.UNAPPLIED_CASH]  # what the customer owes, net of cash on account


@dataclass
class StatementLine:
    date: datetime.date
    kind: str
    description: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass
class AgingBucket:
    key: str
    label: str
    amount: Decimal


@dataclass
class Statement:
    customer: Customer
    start: datetime.date
    end: datetime.date
    opening: Decimal
    closing: Decimal = Decimal("0")
    lines: list[StatementLine] = field(default_factory=list)
    aging: list[AgingBucket] = field(default_factory=list)
    unapplied_at_end: Decimal = Decimal("0")

    @property
    def currency(self) -> str:
        return self.customer.currency

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal("0"))

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal("0"))


def statement(customer: Customer, *, start: datetime.date, end: datetime.date) -> Statement:
    """The statement of `customer` for start..end (both included), in three queries."""
    lines = JournalLine.objects.filter(customer=customer, account__in=CUSTOMER_ACCOUNTS)
    net = Sum(F("debit") - F("credit"))
    opening = lines.filter(entry__effective_date__lt=start).aggregate(total=Coalesce(net, ZERO))["total"]
    entries = (
        lines.filter(entry__effective_date__gte=start, entry__effective_date__lte=end)
        .values("entry_id", "entry__effective_date", "entry__description", "entry__kind")
        .annotate(net=net)
        .filter(~Q(net=0))
        .order_by("entry__effective_date", "entry_id")
    )
    kinds = dict(JournalEntry.Kind.choices)
    result = Statement(customer=customer, start=start, end=end, opening=opening)
    balance = opening
    for row in entries:
        amount = row["net"]
        balance += amount
        result.lines.append(
            StatementLine(
                date=row["entry__effective_date"],
                kind=kinds.get(row["entry__kind"], row["entry__kind"]),
                description=row["entry__description"],
                debit=amount if amount > 0 else Decimal("0"),
                credit=-amount if amount < 0 else Decimal("0"),
                balance=balance,
            )
        )
    result.closing = balance
    result.aging, result.unapplied_at_end = aging_at(customer, on=end)
    return result


def aging_at(customer: Customer, *, on: datetime.date) -> tuple[list[AgingBucket], Decimal]:
    """What was open at the end of day `on`, per aging bucket, from the ledger (so a past day is
    right too), and the unapplied cash then. A credit note's posting counts against the invoice
    it corrects. Buckets + (minus) unapplied cash = the balance on that day."""
    lines = JournalLine.objects.filter(customer=customer, entry__effective_date__lte=on)
    items = (
        lines.filter(account=Account.RECEIVABLES)
        .annotate(
            item=Coalesce("entry__invoice__credited_invoice_id", "entry__invoice_id"),
            due=Coalesce("entry__invoice__credited_invoice__due_date", "entry__invoice__due_date"),
        )
        .values("item", "due")
        .annotate(open=Sum(F("debit") - F("credit")))
        .filter(open__gt=0)
        .order_by()
    )
    buckets = {key: Decimal("0") for key, _, _, _ in AGING_BUCKETS}
    for row in items:
        days = (on - row["due"]).days if row["due"] else 0
        for key, _, low, high in AGING_BUCKETS:
            if (low is None and days <= 0) or (low is not None and days >= low and (high is None or days <= high)):
                buckets[key] += row["open"]
                break
    unapplied = lines.filter(account=Account.UNAPPLIED_CASH).aggregate(
        total=Coalesce(Sum(F("credit") - F("debit")), ZERO)
    )["total"]
    labels = {key: label for key, label, _, _ in AGING_BUCKETS}
    return [AgingBucket(key, labels[key], amount) for key, amount in buckets.items()], unapplied


def statement_pdf(result: Statement) -> bytes:
    """The statement as a PDF (WeasyPrint, no network or file access)."""
    from weasyprint import HTML

    from invoicing.documents import DATA_ONLY_FETCHER

    html = render_to_string("receivables/statement_pdf.html", {"statement": result, "company": settings.O2C_COMPANY})
    return HTML(string=html, url_fetcher=DATA_ONLY_FETCHER).write_pdf()


def statement_filename(result: Statement) -> str:
    return f"statement-{result.customer.account_number}-{result.start:%Y%m%d}-{result.end:%Y%m%d}.pdf"


def month_before(on: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day of the calendar month before `on`."""
    end = on.replace(day=1) - datetime.timedelta(days=1)
    return end.replace(day=1), end


def send_monthly_statement(*, customer_id: int, on: datetime.date) -> bool:
    """Email the statement of the month before `on` to one customer who wants monthly statements,
    once: the preference row is locked and `last_sent_for` (that month's last day) recorded in the
    same transaction as the send, so a second run (or a racing worker) sends nothing. Returns
    whether a statement was sent."""
    from django.core.mail import EmailMessage
    from django.db import transaction

    from .collections import collections_recipients, render_template_email
    from .models import StatementPreference

    start, end = month_before(on)
    with transaction.atomic():
        preference = (
            StatementPreference.objects.select_for_update()
            .select_related("customer")
            .filter(customer_id=customer_id)
            .first()
        )
        if preference is None or not preference.monthly:
            return False
        if preference.last_sent_for is not None and preference.last_sent_for >= end:
            return False  # already sent for this month
        customer = preference.customer
        result = statement(customer, start=start, end=end)
        subject, body = render_template_email(template="statement_enclosed", customer=customer, on=on)
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=collections_recipients(customer),
        )
        message.attach(statement_filename(result), statement_pdf(result), "application/pdf")
        message.send(fail_silently=False)  # a refused send rolls back: the next run tries again
        preference.last_sent_for = end
        preference.save(update_fields=["last_sent_for"])
    return True


def customers_due_a_monthly_statement(*, on: datetime.date) -> list[int]:
    from .models import StatementPreference

    _, end = month_before(on)
    return list(
        StatementPreference.objects.filter(monthly=True, customer__is_active=True)
        .filter(Q(last_sent_for__isnull=True) | Q(last_sent_for__lt=end))
        .values_list("customer_id", flat=True)
        .order_by("customer_id")
    )
