"""The nightly daily totals give the dashboard the same credit sales, invoice count and cash as
reading every invoice and payment live; days after the rebuild are always read live."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from reporting import kpis, services
from reporting.kpis import Scope
from reporting.models import DailyTotal, DailyTotalsRefresh
from tests.orders.factories import CustomerFactory
from tests.reporting.factories import make_invoice, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def books():
    today = timezone.localdate()
    days = datetime.timedelta
    retail = CustomerFactory(segment="retail")
    wholesale = CustomerFactory(segment="wholesale")
    i1 = make_invoice("T1", retail, issued=today - days(100), due=today - days(70), total="1000")
    i2 = make_invoice("T2", wholesale, issued=today - days(40), due=today - days(10), total="400")
    make_invoice("T3", retail, issued=today - days(5), due=today + days(25), total="250")
    make_invoice(
        "CN-T1", retail, issued=today - days(3), due=today - days(3), total="100", kind="credit_note", credited=i1
    )
    i5 = make_invoice("T5", retail, issued=today, due=today + days(30), total="77")  # today: always live
    pay(i1, "600", today - days(20))
    pay(i2, "400", today - days(2))
    pay(i5, "77", today)
    return today


def test_stored_days_plus_live_today_equal_all_live(books):
    today = books
    start = today - datetime.timedelta(days=89)
    refresh = services.refresh_daily_totals(through=today - datetime.timedelta(days=1))
    assert services.refresh_daily_totals(through=refresh.through) == refresh  # once a night
    assert DailyTotal.objects.exists() and DailyTotalsRefresh.objects.count() == 1
    for scope in [Scope(), Scope(segment="retail"), Scope(segment="wholesale"), Scope(currency="USD")]:
        live = kpis.period_totals(start=start, end=today, scope=scope)
        stored = kpis.period_totals(start=start, end=today, scope=scope, through=kpis.totals_through())
        assert stored == live, scope
    everything = kpis.period_totals(start=start, end=today, through=kpis.totals_through())
    # sales in the 90 days: T2 400 + T3 250 - CN 100 + T5 77 = 627 (T1 is older); invoices T2, T3, T5
    assert (everything.credit_sales, everything.invoices_issued) == (Decimal("627.00"), 3)
    assert everything.cash_received == Decimal("1077.00")  # 600 + 400 + 77
    assert everything.monthly_sales  # count-back months, from the stored days too


def test_the_snapshot_task_rebuilds_the_totals_through_yesterday(books):
    today = books
    services.take_ar_snapshot(on=today - datetime.timedelta(days=1))
    assert kpis.totals_through() == today - datetime.timedelta(days=1)
