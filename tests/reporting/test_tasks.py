"""The nightly AR snapshot, the weekly cash forecast (and its comparison with actuals) and the
weekly KPI digest emailed as a PDF."""

import datetime
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from pypdf import PdfReader

from credit.services import recompute_behaviour
from o2c import flow
from o2c.core import roles
from orders.services import LineInput
from reporting import forecast, kpis, services
from reporting.models import ArSnapshot, CashForecastWeek, CycleFact, OrderQuality
from reporting.tasks import (
    record_cash_forecast,
    refresh_cycle_facts,
    refresh_order_quality,
    send_kpi_digest,
    take_ar_snapshot,
)
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.reporting.factories import make_invoice, pay

pytestmark = pytest.mark.django_db
D = datetime.date
days = datetime.timedelta


@pytest.fixture
def invoice(staff):
    stock(ProductFactory(sku="W-1", unit_price=Decimal("100.00")), "10")
    customer = CustomerFactory()
    credit_limit(customer)
    order = flow.submit_order(by=staff(CLERK), customer_account=customer.account_number, lines=[LineInput("W-1", "2")])
    return flow.ship(order=order, by=staff(WAREHOUSE))  # 242.00 open, due in 30 days


def test_nightly_snapshot_is_of_the_day_that_ended(invoice):
    snapshot_id = take_ar_snapshot.apply().get()  # as the worker runs it at 02:30, no argument
    snapshot = ArSnapshot.objects.get()
    assert snapshot.pk == snapshot_id
    assert snapshot.taken_on == timezone.localdate() - days(1)
    assert snapshot.open_total == Decimal("0.00")  # the invoice was issued today: not open yesterday


def test_snapshot_of_today_with_dso_and_aging(invoice):
    take_ar_snapshot(on=timezone.localdate().isoformat())
    snapshot = ArSnapshot.objects.get()
    assert (snapshot.open_total, snapshot.current_total, snapshot.overdue_total, snapshot.open_invoices) == (
        Decimal("242.00"),
        Decimal("242.00"),
        Decimal("0.00"),
        1,
    )
    assert snapshot.dso == Decimal("90.0")  # 242 open / 242 sold in the 90 days x 90
    assert snapshot.aging[0] == {"label": "Current", "amount": "242.00"}
    assert len(snapshot.aging) == 6


def test_running_twice_keeps_one_snapshot_unchanged(invoice, staff):
    day = timezone.localdate().isoformat()
    first = take_ar_snapshot(on=day)
    flow.receive_payment(invoice=invoice, amount=Decimal("42.00"), value_date=invoice.issue_date, by=staff(CLERK))
    second = take_ar_snapshot(on=day)
    assert first == second
    assert ArSnapshot.objects.count() == 1
    assert ArSnapshot.objects.get().open_total == Decimal("242.00")  # the first picture of the day stays


def test_overdue_is_measured_on_the_snapshot_day_from_the_ledger():
    customer = CustomerFactory()
    today = timezone.localdate()
    old = make_invoice("S-1", customer, issued=today - days(50), due=today - days(20), total="300.00")
    pay(old, "300.00", today - days(2))  # paid two days ago: open and 10 days overdue 12 days ago
    take_ar_snapshot(on=(today - days(12)).isoformat())
    snapshot = ArSnapshot.objects.get()
    assert (snapshot.open_total, snapshot.overdue_total) == (Decimal("300.00"), Decimal("300.00"))
    assert snapshot.aging[1] == {"label": "1-30", "amount": "300.00"}


def test_cash_forecast_uses_each_customers_days_late():
    today = timezone.localdate()
    monday = forecast.week_start(today)
    late, prompt = CustomerFactory(), CustomerFactory()
    credit_limit(late)
    credit_limit(prompt)
    # the late payer paid its last invoice 14 days after the due date; the prompt one on the day
    paid = make_invoice("F-0", late, issued=today - days(60), due=today - days(30), total="50.00")
    pay(paid, "50.00", today - days(16))
    on_time = make_invoice("F-00", prompt, issued=today - days(60), due=today - days(30), total="50.00")
    pay(on_time, "50.00", today - days(30))
    # both owe 100.00 due in the week after next (Monday + 14 days)
    make_invoice("F-1", late, issued=monday - days(16), due=monday + days(14), total="100.00")
    make_invoice("F-2", prompt, issued=monday - days(16), due=monday + days(14), total="100.00")
    recompute_behaviour(on=today)  # the nightly job keeps each customer's days late on its profile
    rows = {row["week_start"]: row for row in forecast.cash_forecast(on=today)}
    assert rows[monday + days(14)]["expected"] == Decimal("100.00")  # prompt: on the due date
    assert rows[monday + days(28)]["expected"] == Decimal("100.00")  # late: due date + 14 days
    assert sum(row["expected"] for row in rows.values()) == Decimal("200.00")
    assert len([r for r in rows.values() if r["week_start"]]) == 13


def test_stored_forecast_against_actuals():
    today = timezone.localdate()
    customer = CustomerFactory()
    last_monday = forecast.week_start(today) - days(7)
    invoice = make_invoice("A-1", customer, issued=last_monday - days(30), due=last_monday + days(2), total="80.00")
    stored = record_cash_forecast(on=(last_monday - days(1)).isoformat())  # made the Sunday before
    assert stored == 13 and CashForecastWeek.objects.count() == 13
    assert CashForecastWeek.objects.get(week_start=last_monday).expected == Decimal("80.00")
    pay(invoice, "60.00", last_monday + days(3))
    row = next(r for r in forecast.forecast_against_actuals(on=today) if r["week_start"] == last_monday)
    assert (row["forecast"], row["actual"], row["difference"]) == (
        Decimal("80.00"),
        Decimal("60.00"),
        Decimal("-20.00"),
    )
    assert record_cash_forecast(on=(last_monday - days(1)).isoformat()) == 13  # made again: replaced
    assert CashForecastWeek.objects.count() == 13


def test_weekly_digest_is_emailed_to_finance_managers_as_a_pdf(invoice, staff):
    manager = staff(roles.FINANCE_MANAGER)
    manager.email = "cfo@o2c.example"
    manager.save()
    staff(roles.AR_CLERK)  # not a recipient
    tomorrow = timezone.localdate() + days(1)
    assert send_kpi_digest(on=tomorrow.isoformat()) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["cfo@o2c.example"]
    assert "KPI digest" in message.subject
    assert "DSO: 28.0 days" in message.body  # 242 open ÷ 242 sold in the 28 days × 28
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and name.endswith(".pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "KPI digest" in text
    assert "242.00 EUR" in text  # receivables at the end of the four weeks
    assert "Cash forecast" in text and "Cycle times" in text


def test_digest_without_finance_managers_sends_nothing():
    assert services.send_kpi_digest(on=D(2026, 3, 2)) == 0
    assert mail.outbox == []


def test_order_quality_refresh_as_beat_sends_it(invoice):
    """Beat runs it every 10 minutes and in full on Sunday night; the shipped order is stored once."""
    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "reporting.tasks.refresh_order_quality"
    ]
    assert [e.get("kwargs", {}) for e in entries] == [{}, {"full": True}]
    assert refresh_order_quality.apply().get() == 1  # the first run is a full one: the one shipped order
    assert refresh_order_quality.apply().get() == 1  # shipped within the margin: worked out again, not doubled
    assert OrderQuality.objects.get().order_id == invoice.order_id


def test_cycle_facts_refresh_as_beat_sends_it(invoice):
    """Beat runs it every 10 minutes and in full on Sunday night: the shipment (order to ship) and the
    invoice (ship to invoice) of the order shipped today are stored once, and read as they happened."""
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "reporting.tasks.refresh_cycle_facts"]
    assert [e.get("kwargs", {}) for e in entries] == [{}, {"full": True}]
    assert refresh_cycle_facts.apply().get() == 2  # the first run is a full one
    assert refresh_cycle_facts.apply().get() == 2  # shipped and issued within the margin: again, not doubled
    assert sorted(CycleFact.objects.values_list("measure", "days")) == [(1, 0), (2, 0)]
    today = timezone.localdate()
    cycles = {c["key"]: c["count"] for c in kpis.cycle_times(start=today, end=today)}
    assert cycles == {"order_to_ship": 1, "ship_to_invoice": 1, "invoice_to_cash": 0, "order_to_cash": 0}
