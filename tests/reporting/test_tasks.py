"""The nightly AR snapshot: one row a day, and a second run changes nothing."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from o2c import flow
from orders.services import LineInput
from reporting.models import ArSnapshot
from reporting.tasks import take_ar_snapshot
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(staff):
    stock(ProductFactory(sku="W-1", unit_price=Decimal("100.00")), "10")
    customer = CustomerFactory()
    credit_limit(customer)
    order = flow.submit_order(by=staff(CLERK), customer_account=customer.account_number, lines=[LineInput("W-1", "2")])
    return flow.ship(order=order, by=staff(WAREHOUSE))  # 242.00 open, due in 30 days


def test_snapshot_of_today(invoice):
    snapshot_id = take_ar_snapshot.apply().get()  # as the worker runs it, no argument
    snapshot = ArSnapshot.objects.get()
    assert snapshot.pk == snapshot_id
    assert snapshot.taken_on == timezone.localdate()
    assert (snapshot.open_total, snapshot.overdue_total, snapshot.open_invoices) == (
        Decimal("242.00"),
        Decimal("0.00"),
        1,
    )


def test_running_twice_keeps_one_snapshot_unchanged(invoice, staff):
    first = take_ar_snapshot(on="2026-06-30")
    flow.receive_payment(invoice=invoice, amount=Decimal("42.00"), value_date=invoice.issue_date, by=staff(CLERK))
    second = take_ar_snapshot(on="2026-06-30")
    assert first == second
    assert ArSnapshot.objects.count() == 1
    assert ArSnapshot.objects.get().open_total == Decimal("242.00")  # the first picture of the day stays


def test_overdue_is_measured_on_the_snapshot_day(invoice):
    day = invoice.due_date + datetime.timedelta(days=1)
    take_ar_snapshot(on=day.isoformat())
    assert ArSnapshot.objects.get(taken_on=day).overdue_total == Decimal("242.00")
