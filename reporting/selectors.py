"""Reads for reports: every figure is a database aggregate, never a loop over rows."""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from invoicing.models import Invoice
from orders.models import SalesOrder
from receivables import selectors as receivables
from receivables.models import Payment

ZERO = receivables.ZERO
DSO_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Dashboard:
    on: datetime.date
    open_total: Decimal
    overdue_total: Decimal
    revenue_window: Decimal  # invoiced (gross) in the DSO_WINDOW_DAYS up to and including `on`
    dso: Decimal | None  # days; None when nothing was invoiced in the window
    invoices_this_month: int
    invoiced_this_month: Decimal
    cash_this_month: Decimal
    orders_by_status: list[dict]  # {"status", "label", "count"} for every status, in lifecycle order
    credit_holds: int
    aging: list[dict]  # receivables.aging_summary
    aging_max: Decimal

    @property
    def window_days(self) -> int:
        return DSO_WINDOW_DAYS

    @property
    def is_empty(self) -> bool:
        """No order ever entered and nothing open: a fresh installation, not a bad month."""
        return not any(row["count"] for row in self.orders_by_status) and not self.open_total


def days_sales_outstanding(open_total: Decimal, revenue: Decimal, days: int = DSO_WINDOW_DAYS) -> Decimal | None:
    """Simple DSO: open receivables / revenue of the last `days` days x `days`, to one decimal."""
    if not revenue:
        return None
    return (open_total / revenue * days).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def invoice_figures(*, on: datetime.date) -> dict:
    """Open, overdue, invoiced in the DSO window and this month, in one query over invoices."""
    month_start = on.replace(day=1)
    window_start = on - datetime.timedelta(days=DSO_WINDOW_DAYS - 1)
    is_open = Q(status=Invoice.Status.ISSUED, amount_open__gt=0)
    in_month = Q(issue_date__gte=month_start, issue_date__lte=on)
    return Invoice.objects.exclude(status=Invoice.Status.DRAFT).aggregate(
        open_total=Coalesce(Sum("amount_open", filter=is_open), ZERO),
        overdue_total=Coalesce(Sum("amount_open", filter=is_open & Q(due_date__lt=on)), ZERO),
        open_invoices=Count("id", filter=is_open),
        revenue_window=Coalesce(Sum("total", filter=Q(issue_date__gte=window_start, issue_date__lte=on)), ZERO),
        invoices_this_month=Count("id", filter=in_month),
        invoiced_this_month=Coalesce(Sum("total", filter=in_month), ZERO),
    )


def order_counts_by_status() -> list[dict]:
    counts = dict(SalesOrder.objects.order_by().values_list("status").annotate(n=Count("id")))
    return [
        {"status": value, "label": label, "count": counts.get(value, 0)} for value, label in SalesOrder.Status.choices
    ]


def cash_received(*, start: datetime.date, end: datetime.date) -> Decimal:
    """Payments with a value date in [start, end], reversed ones left out."""
    return (
        Payment.objects.exclude(status=Payment.Status.REVERSED)
        .filter(value_date__gte=start, value_date__lte=end)
        .aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
    )


def dashboard(*, on: datetime.date) -> Dashboard:
    """The finance manager's figures on day `on`: four queries whatever the data size."""
    invoices = invoice_figures(on=on)
    orders = order_counts_by_status()
    aging = receivables.aging_summary(on=on)
    return Dashboard(
        on=on,
        open_total=invoices["open_total"],
        overdue_total=invoices["overdue_total"],
        revenue_window=invoices["revenue_window"],
        dso=days_sales_outstanding(invoices["open_total"], invoices["revenue_window"]),
        invoices_this_month=invoices["invoices_this_month"],
        invoiced_this_month=invoices["invoiced_this_month"],
        cash_this_month=cash_received(start=on.replace(day=1), end=on),
        orders_by_status=orders,
        credit_holds=next(row["count"] for row in orders if row["status"] == SalesOrder.Status.CREDIT_HOLD),
        aging=aging,
        aging_max=max(bucket["amount"] for bucket in aging),
    )
