"""Cash forecast: when will the open items be paid, week by week, from each customer's own habits.

An open invoice is expected on its due date moved by its customer's average days late (value date
of the last payment − due date, over the invoices it paid in the last 365 days; 0 for a customer
with no history), as the nightly credit job stored it on the credit profile
(credit.services.recompute_behaviour). Items expected before this week are expected this week
(they are late already); items expected after the 13th week are summed as "later". One pass over
the open items joined to the profiles, grouped by week and currency.
"""

import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import Coalesce, TruncWeek

from receivables.models import Payment

from .kpis import EVERYTHING, ZERO, Scope, totals_through

WEEKS = 13
DEFINITION = (
    "Expected date = due date + the customer's average days late over the invoices it paid in the last 365 days, "
    "as of the last nightly recompute of payment behaviour (0 without history); overdue items fall in this week; "
    "one bar per week for 13 weeks"
)

# The profile's average is truncated to one place, so rounding it to whole days gives the day
# rounding the exact average would (credit.services.BEHAVIOUR_SQL). Whole days, so the week is an
# integer division (truncating toward zero, which the clamp at 0 makes the same as flooring).
_FORECAST_SQL = """
SELECT LEAST(GREATEST((i.due_date + ROUND(COALESCE(p.average_days_late, 0))::int - %(week)s) / 7, 0), %(weeks)s)
       AS week_index,
       i.currency, SUM(i.amount_open), COUNT(*)
FROM invoicing_invoice i LEFT JOIN credit_creditprofile p ON p.customer_id = i.customer_id
WHERE i.kind = 'invoice' AND i.status = 'issued' AND i.amount_open > 0
  AND (%(segment)s = '' OR i.customer_id IN (SELECT id FROM orders_customer WHERE segment = %(segment)s))
  AND (%(currency)s = '' OR i.currency = %(currency)s)
GROUP BY 1, 2 ORDER BY 1, 2
"""


def week_start(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def cash_forecast(*, on: datetime.date, scope: Scope = EVERYTHING) -> list[dict]:
    """[{"week_start", "label", "currency", "expected", "invoices"}] for the 13 weeks from the week
    of `on`, then one "later" row per currency (week_start None)."""
    monday = week_start(on)
    params = {
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
    date, reversed ones left out). The cash of closed days comes from the nightly DailyTotal rows
    (a few per day), of the days after the last rebuild from the payments. Four small queries.
    `scope` filters the actual cash by segment and currency; stored forecasts are per currency."""
    from .models import CashForecastWeek, DailyTotal

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
    through = totals_through() or datetime.date(1, 1, 1)
    closed_days = DailyTotal.objects.filter(day__gte=first, day__lt=this_monday, day__lte=through)
    payments = Payment.objects.exclude(status=Payment.Status.REVERSED).filter(
        value_date__gte=max(first, through + datetime.timedelta(days=1)), value_date__lt=this_monday
    )
    if scope.currency:
        closed_days = closed_days.filter(currency=scope.currency)
        payments = payments.filter(currency=scope.currency)
    if scope.segment:
        closed_days = closed_days.filter(segment=scope.segment)
        payments = payments.filter(customer__segment=scope.segment)
    actual: dict[tuple[datetime.date, str], Decimal] = {}
    for cash in (
        closed_days.annotate(week=TruncWeek("day")).order_by().values("week", "currency").annotate(amount=Sum("cash")),
        payments.annotate(week=TruncWeek("value_date"))
        .order_by()
        .values("week", "currency")
        .annotate(amount=Coalesce(Sum("amount"), ZERO)),
    ):
        for row in cash:
            key = (row["week"], row["currency"])
            actual[key] = actual.get(key, Decimal("0.00")) + row["amount"]
    currencies = sorted({c for _, c in expected} | {c for _, c in actual}) or [scope.currency or "EUR"]
    rows = []
    for index in range(weeks):
        monday = first + datetime.timedelta(weeks=index)
        for currency in currencies:
            forecast = expected.get((monday, currency))
            received = actual.get((monday, currency), Decimal("0.00"))
            rows.append(
                {
                    "week_start": monday,
                    "currency": currency,
                    "forecast": forecast.expected if forecast else None,
                    "made_on": forecast.made_on if forecast else None,
                    "actual": received,
                    "difference": received - forecast.expected if forecast else None,
                }
            )
    return rows
