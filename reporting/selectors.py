"""Reads for the report pages: each page's figures gathered in a fixed number of queries.
The KPI definitions and their SQL live in kpis.py and forecast.py."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from invoicing.models import Invoice
from orders.models import Customer, SalesOrder
from receivables.models import Payment

from . import kpis, quality
from .kpis import EVERYTHING, ZERO, Scope
from .models import ArSnapshot

TREND_DAYS = 90


_PAIRS_SQL = """
WITH RECURSIVE pairs AS (
    (SELECT segment, currency FROM orders_customer ORDER BY segment, currency LIMIT 1)
    UNION ALL
    SELECT n.segment, n.currency FROM pairs p CROSS JOIN LATERAL (
        SELECT c.segment, c.currency FROM orders_customer c
        WHERE (c.segment, c.currency) > (p.segment, p.currency)
        ORDER BY c.segment, c.currency LIMIT 1
    ) n
)
SELECT segment, currency FROM pairs
"""


def filter_choices() -> tuple[list[str], list[str]]:
    """The customer segments and currencies in use, for the filter menus: one query over customers.
    On PostgreSQL a skip scan through the (segment, currency) index (reporting 0004): one index
    probe per distinct pair, however many customers there are."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PAIRS_SQL)
            pairs = cursor.fetchall()
    else:
        pairs = list(Customer.objects.order_by().values_list("segment", "currency").distinct())
    return sorted({s for s, _ in pairs if s}), sorted({c for _, c in pairs if c})


OPEN_ORDER_STATUSES = ("draft", "submitted", "credit_hold", "approved")


def order_counts_by_status(*, start: datetime.date, end: datetime.date) -> list[dict]:
    """Orders per status: the open ones (draft to approved) however old, the closed ones (completed,
    rejected, cancelled) dated in the period. One query over two indexes: the open orders' partial
    index and (order_date, status); never a count of every order ever taken."""
    open_orders = SalesOrder.objects.filter(status__in=OPEN_ORDER_STATUSES)
    closed = SalesOrder.objects.filter(
        status__in=[s for s in SalesOrder.Status.values if s not in OPEN_ORDER_STATUSES],
        order_date__range=(start, end),
    )
    counts = dict(
        open_orders.order_by()
        .values_list("status")
        .annotate(n=Count("*"))  # not COUNT(id): the indexes alone answer
        .union(closed.order_by().values_list("status").annotate(n=Count("*")), all=True)
    )
    return [
        {"status": value, "label": label, "count": counts.get(value, 0), "open": value in OPEN_ORDER_STATUSES}
        for value, label in SalesOrder.Status.choices
    ]


def cash_received(*, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING) -> Decimal:
    """Payments with a value date in [start, end], reversed ones left out."""
    payments = Payment.objects.exclude(status=Payment.Status.REVERSED).filter(
        value_date__gte=start, value_date__lte=end
    )
    if scope.currency:
        payments = payments.filter(currency=scope.currency)
    if scope.segment:
        payments = payments.filter(customer__segment=scope.segment)
    return payments.aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]


def payments_in_period(*, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING):
    """Drill-down of the cash received: the payments, latest first."""
    payments = (
        Payment.objects.exclude(status=Payment.Status.REVERSED)
        .filter(value_date__gte=start, value_date__lte=end)
        .select_related("customer")
    )
    if scope.currency:
        payments = payments.filter(currency=scope.currency)
    if scope.segment:
        payments = payments.filter(customer__segment=scope.segment)
    return payments.order_by("-value_date", "-id")


def sales_in_period(*, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING):
    """Drill-down of the credit sales: invoices and credit notes issued in [start, end]."""
    return (
        Invoice.objects.filter(scope.invoices(), issue_date__gte=start, issue_date__lte=end)
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("customer")
        .only(
            "number",
            "kind",
            "issue_date",
            "due_date",
            "total",
            "amount_open",
            "currency",
            "customer__name",
            "customer__account_number",
        )
        .order_by("issue_date", "id")
    )


def trend(*, end: datetime.date, days: int = TREND_DAYS, since: datetime.date | None = None) -> list[ArSnapshot]:
    """The nightly snapshots of the `days` days up to `end` (or from `since` when earlier), oldest first."""
    start = end - datetime.timedelta(days=days - 1)
    if since is not None:
        start = min(start, since)
    return list(ArSnapshot.objects.filter(taken_on__gte=start, taken_on__lte=end).order_by("taken_on"))


def complete_snapshot(snapshots: list[ArSnapshot], day: datetime.date) -> ArSnapshot | None:
    """The snapshot of `day` if it was taken after that day ended (so every posting of the day is
    in it), else None. The nightly task takes yesterday's at 02:30."""
    for snapshot in snapshots:
        if snapshot.taken_on == day and timezone.localtime(snapshot.created_at).date() > day:
            return snapshot
    return None


@dataclass
class Overview:
    """The finance manager's dashboard for a period and scope."""

    start: datetime.date
    end: datetime.date
    scope: Scope
    basis: str
    kpis: kpis.Kpis
    aging: list[dict]
    aging_max: Decimal
    credit: kpis.CreditFigures
    cash_received: Decimal
    orders_by_status: list[dict]
    trend: list[ArSnapshot]
    quality: quality.Quality
    totals_through: datetime.date | None = None

    @property
    def is_empty(self) -> bool:
        """No order ever entered and nothing owed or sold: a fresh installation, not a bad month."""
        return (
            not any(row["count"] for row in self.orders_by_status)
            and not self.kpis.receivables_end
            and not self.kpis.credit_sales
        )

    @property
    def overdue(self) -> Decimal:
        return self.kpis.overdue_end


def overview(*, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING, basis: str = "due") -> Overview:
    """Everything on the finance dashboard, in a fixed number of queries whatever the data size:
    aging on `end` (by due date, plus by invoice date when that basis is chosen); snapshots (the
    trend, and receivables before the start when that night's snapshot is complete and no filter
    is set; else one ledger query more); sales; credit; cash; orders."""
    before_start = start - datetime.timedelta(days=1)
    snapshots = trend(end=end, since=before_start)
    snapshot = complete_snapshot(snapshots, before_start) if scope == EVERYTHING else None
    by_due = kpis.aging(on=end, basis="due", scope=scope)
    shown = by_due if basis == "due" else kpis.aging(on=end, basis=basis, scope=scope)
    through = kpis.totals_through()
    totals = kpis.period_totals(start=start, end=end, scope=scope, through=through)
    figures = quality.quality_figures(
        start=start, end=end, on=timezone.localdate(), invoices_issued=totals.invoices_issued, scope=scope
    )
    return Overview(
        start=start,
        end=end,
        scope=scope,
        basis=basis,
        kpis=kpis.kpis(
            start=start,
            end=end,
            scope=scope,
            aging_at_end=by_due,
            receivables_before_start=snapshot.open_total if snapshot else None,
            totals=totals,
        ),
        aging=shown,
        aging_max=max((b["amount"] for b in shown), default=0),
        credit=kpis.credit_figures(start=start, end=end, scope=scope),
        cash_received=totals.cash_received,
        orders_by_status=order_counts_by_status(start=start, end=end),
        trend=[s for s in snapshots if s.taken_on > end - datetime.timedelta(days=TREND_DAYS)],
        quality=figures,
        totals_through=through,
    )


def open_totals(*, on: datetime.date, scope: Scope = EVERYTHING) -> dict:
    """Open and overdue today, with the count: one aggregate (the AR clerk's and snapshot's view)."""
    return kpis.open_invoices(scope).aggregate(
        open_total=Coalesce(Sum("amount_open"), ZERO),
        overdue_total=Coalesce(Sum("amount_open", filter=Q(due_date__lt=on)), ZERO),
        open_invoices=Count("id"),
    )
