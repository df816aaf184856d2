"""The cash forecast reads each customer's average days late from the credit profile, as the nightly
behaviour job stored it: right after that job it must give the very figures the page computed live
from a year of payments before (the query kept below as the reference). And the forecast against
actuals reads closed days' cash from the nightly daily totals without counting a payment twice."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from credit.services import recompute_behaviour
from receivables.models import Payment
from reporting import forecast
from reporting.kpis import Scope
from reporting.services import refresh_daily_totals
from tests.credit.factories import credit_limit
from tests.orders.factories import CustomerFactory
from tests.reporting.factories import make_invoice, pay

pytestmark = pytest.mark.django_db
days = datetime.timedelta

# The forecast as it was computed live on every view, before the figure was kept on the profile.
LIVE_FORECAST_SQL = """
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


def live_forecast(on: datetime.date, scope: Scope) -> dict:
    params = {
        "on": on,
        "since": on - days(365),
        "week": forecast.week_start(on),
        "weeks": forecast.WEEKS,
        "segment": scope.segment,
        "currency": scope.currency,
    }
    with connection.cursor() as cursor:
        cursor.execute(LIVE_FORECAST_SQL, params)
        return {(index, currency): (amount, count) for index, currency, amount, count in cursor.fetchall()}


def stored_forecast(on: datetime.date, scope: Scope) -> dict:
    monday = forecast.week_start(on)
    return {
        (forecast.WEEKS if row["week_start"] is None else (row["week_start"] - monday).days // 7, row["currency"]): (
            row["expected"],
            row["invoices"],
        )
        for row in forecast.cash_forecast(on=on, scope=scope)
        if row["invoices"]
    }


def paid_invoices(customer, prefix: str, late_by: list[int], *, today: datetime.date, paid_ago: int = 20):
    """One paid invoice per entry, paid `paid_ago` days ago and `late` days after its due date."""
    for n, late in enumerate(late_by):
        due = today - days(paid_ago + late)
        invoice = make_invoice(f"{prefix}-{n}", customer, issued=due - days(30), due=due, total="10.00")
        pay(invoice, "10.00", today - days(paid_ago))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the reference query is PostgreSQL's")
def test_forecast_after_the_nightly_recompute_equals_the_live_computation():
    today = timezone.localdate()
    monday = forecast.week_start(today)
    late, early = CustomerFactory(segment="ENTERPRISE"), CustomerFactory(segment="SMB")
    halfway, fresh, unprofiled, reversed_only, split = (CustomerFactory() for _ in range(5))
    for customer in (late, early, halfway, fresh, reversed_only, split):
        credit_limit(customer)
    # 27/11 = 2.45 days late: rounded to one place first it would be 2.5, then 3 days, not 2
    paid_invoices(late, "L", [2, 3] * 5 + [2], today=today)
    paid_invoices(early, "E", [-2, -3] * 5 + [-2], today=today)  # early: -2.45, so 2 days before due
    paid_invoices(halfway, "H", [3, 4], today=today)  # 3.5: 4 days
    paid_invoices(halfway, "OLD", [40], today=today, paid_ago=400)  # paid over a year ago: left out
    gone = make_invoice("R-0", reversed_only, issued=today - days(60), due=today - days(30), total="10.00")
    pay(gone, "10.00", today - days(10))
    Payment.objects.filter(customer=reversed_only).update(status=Payment.Status.REVERSED)  # bounced: no history
    # paid in two parts: the last payment's value date counts (21 days late, not 5)
    both = make_invoice("S-0", split, issued=today - days(60), due=today - days(30), total="10.00")
    pay(both, "4.00", today - days(25))
    pay(both, "6.00", today - days(9))
    for customer in (late, early, halfway, fresh, unprofiled, reversed_only, split):
        for week in (-3, 0, 1, 2, 5, 12, 13, 20):  # open items due around the weeks' edges
            for day in (0, 2, 4, 6):
                due = monday + days(7 * week + day)
                make_invoice(f"O-{customer.pk}-{week}-{day}", customer, issued=due - days(30), due=due, total="7.00")

    recompute_behaviour(on=today)

    for scope in (Scope(), Scope(segment="ENTERPRISE"), Scope(segment="SMB"), Scope(currency="EUR")):
        assert stored_forecast(today, scope) == live_forecast(today, scope), scope
    assert sum(count for _, count in live_forecast(today, Scope()).values()) == 7 * 8 * 4


def test_a_customer_without_a_credit_profile_is_expected_on_the_due_date():
    """Only profiles carry the nightly figure: a customer the credit manager never set up is
    forecast on its due dates, its history notwithstanding."""
    today = timezone.localdate()
    monday = forecast.week_start(today)
    customer = CustomerFactory()
    paid_invoices(customer, "U", [9], today=today)
    make_invoice("U-open", customer, issued=monday - days(20), due=monday + days(10), total="70.00")
    recompute_behaviour(on=today)
    rows = {row["week_start"]: row["expected"] for row in forecast.cash_forecast(on=today)}
    assert rows[monday + days(7)] == Decimal("70.00")  # due + 0, not due + 9 (the week after)


def test_actuals_read_closed_days_from_the_daily_totals_and_the_rest_live():
    today = timezone.localdate()
    last_monday = forecast.week_start(today) - days(7)
    customer = CustomerFactory()
    invoice = make_invoice("A-1", customer, issued=last_monday - days(30), due=last_monday, total="100.00")
    pay(invoice, "30.00", last_monday + days(1))
    pay(invoice, "20.00", last_monday + days(4))
    refresh_daily_totals(through=last_monday + days(2))  # the Tuesday's payment is in the totals, not Friday's
    pay(invoice, "5.00", last_monday + days(2))  # back-dated after the rebuild: counted from the next night on
    row = next(r for r in forecast.forecast_against_actuals(on=today) if r["week_start"] == last_monday)
    assert row["actual"] == Decimal("50.00")
    refresh_daily_totals(through=today - days(1))
    row = next(r for r in forecast.forecast_against_actuals(on=today) if r["week_start"] == last_monday)
    assert row["actual"] == Decimal("55.00")
