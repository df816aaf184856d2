"""Cash forecast: when will the open items be paid, week by week, from each customer's own habits.

An open invoice is expected on its due date moved by its customer's average days late (value date
of the last payment − due date, over the invoices it paid in the last 365 days; 0 for a customer
with no history). Items expected before this week are expected this week (they are late already);
items expected after the 13th week are summed as "later". One query, grouped by week and currency.
"""

import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce, TruncWeek

from receivables.models import Payment

from .kpis import EVERYTHING, ZERO, Scope

WEEKS = 13
DEFINITION = (
    "Expected date = due date + the customer's average days late over the invoices it paid in the last 365 days "
    "(0 without history); overdue items fall in this week; one bar per week for 13 weeks"
)

_FORECAST_SQL = """
WITH behaviour AS (
    SELECT i.customer_id, AVG(paid.paid_on - i.due_date) AS days_late
    FROM invoicing_invoice i JOIN (
        SELECT a.invoice_id, MAX(p.value_date) AS paid_on
        FROM receivables_allocation a JOIN receivables_payment p ON p.id = a.payment_id
        WHERE p.status <> 'reversed' AND p.value_date > %(since)s AND p.value_date <= %(on)s
        GROUP BY a.invoice_id
    ) paid ON paid.invoice_id = i.id
    WHERE i.kind = 'invoice' AND i.status = 'paid'
    GROUP BY i.customer_id
), expected AS (
    SELECT i.currency, i.amount_open,
           LEAST(GREATEST(FLOOR((i.due_date + ROUND(COALESCE(b.days_late, 0))::int - %(week)s) / 7.0), 0), %(weeks)s)
           AS week_index
    FROM invoicing_invoice i JOIN orders_customer c ON c.id = i.customer_id
    LEFT JOIN behaviour b ON b.customer_id = i.customer_id
    WHERE i.kind = 'invoice' AND i.status = 'issued' AND i.amount_open > 0
      AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR i.currency = %(currency)s)
)
SELECT week_index::int, currency, SUM(amount_open), COUNT(*) FROM expected
GROUP BY week_index, currency ORDER BY week_index, currency
"""


def week_start(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def cash_forecast(*, on: datetime.date, scope: Scope = EVERYTHING) -> list[dict]:
    """[{"week_start", "label", "currency", "expected", "invoices"}] for the 13 weeks from the week
    of `on`, then one "later" row per currency (week_start None)."""
    monday = week_start(on)
    params = {
        "on": on,
        "since": on - datetime.timedelta(days=365),
        "week": monday,
        "weeks": WEEKS,
        "segment": scope.segment,
        "currency": scope.currency,
    }
    with connection.cursor() as cursor:
        cursor.execute(_FORECAST_SQL, params)
        found = {(index, currency): (amount, count) for index, currency, amount, count in cursor.fetchall()}
    currencies = sorted({currency for _, currency in found}) or [scope.currency or "EUR"]
    rows = []
    for index in range(WEEKS + 1):
        start = monday + datetime.timedelta(weeks=index) if index < WEEKS else None
        for currency in currencies:
            amount, count = found.get((index, currency), (Decimal("0.00"), 0))
            rows.append(
                {
                    "week_start": start,
                    "label": start.strftime("%-d %b") if start else "Later",
                    "currency": currency,
                    "expected": amount,
                    "amount": amount,
                    "invoices": count,
                }
            )
    return rows


def forecast_against_actuals(*, on: datetime.date, weeks: int = 8, scope: Scope = EVERYTHING) -> list[dict]:
    """The last `weeks` finished weeks: what the forecast made on or before each week's Monday
    expected for it (the latest such forecast) against the payments received that week (by value
    date). Two queries. `scope` filters the actual cash by currency; stored forecasts are per currency."""
    from .models import CashForecastWeek

    this_monday = week_start(on)
    first = this_monday - datetime.timedelta(weeks=weeks)
    forecasts = (
        CashForecastWeek.objects.filter(week_start__gte=first, week_start__lt=this_monday, made_on__lte=F("week_start"))
        .order_by("week_start", "currency", "-made_on")
        .distinct("week_start", "currency")
    )
    if scope.currency:
        forecasts = forecasts.filter(currency=scope.currency)
    expected = {(row.week_start, row.currency): row for row in forecasts}
    payments = Payment.objects.exclude(status=Payment.Status.REVERSED).filter(
        value_date__gte=first, value_date__lt=this_monday
    )
    if scope.currency:
        payments = payments.filter(currency=scope.currency)
    if scope.segment:
        payments = payments.filter(customer__segment=scope.segment)
    actual = {
        (row["week"], row["currency"]): row
        for row in payments.annotate(week=TruncWeek("value_date"))
        .order_by()
        .values("week", "currency")
        .annotate(amount=Coalesce(Sum("amount"), ZERO), n=Count("id"))
    }
    currencies = sorted({c for _, c in expected} | {c for _, c in actual}) or [scope.currency or "EUR"]
    rows = []
    for index in range(weeks):
        monday = first + datetime.timedelta(weeks=index)
        for currency in currencies:
            forecast = expected.get((monday, currency))
            received = actual.get((monday, currency))
            rows.append(
                {
                    "week_start": monday,
                    "currency": currency,
                    "forecast": forecast.expected if forecast else None,
                    "made_on": forecast.made_on if forecast else None,
                    "actual": received["amount"] if received else Decimal("0.00"),
                    "difference": (received["amount"] if received else Decimal("0.00")) - forecast.expected
                    if forecast
                    else None,
                }
            )
    return rows
