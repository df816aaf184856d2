"""Billing rules per customer: each shipment (default), up front, consolidated weekly/monthly.
Only what shipped is billed, and nothing twice."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.models import ShipmentLine
from invoicing.models import BillingProfile, Invoice, InvoiceLine
from o2c import flow, tasks
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE, user_in
from tests.invoicing import factories as f

pytestmark = pytest.mark.django_db


def order_for(customer, lines):
    return flow.submit_order(
        by=user_in(CLERK), customer_account=customer.account_number, lines=[LineInput(p.sku, str(q)) for p, q in lines]
    )


def test_each_shipment_is_the_default():
    f.company()
    invoice = f.shipped_invoice(f.customer(), [(f.product("10.00"), 2)])
    assert invoice.status == Invoice.Status.ISSUED and invoice.shipment_id
    assert BillingProfile.objects.get(customer=invoice.customer).rule == BillingProfile.Rule.EACH_SHIPMENT


def test_up_front_bills_the_order_on_approval_and_never_again_at_shipment():
    f.company()
    customer = f.customer(rule=BillingProfile.Rule.UP_FRONT)
    order = order_for(customer, [(f.product("100.00", goods=False), 3), (f.product("10.00"), 2)])
    (invoice,) = Invoice.objects.filter(order=order)
    assert invoice.status == Invoice.Status.ISSUED and invoice.total == Decimal("387.20")  # 320.00 + 21%
    assert flow.ship(order=order, by=user_in(WAREHOUSE)) is None
    assert Invoice.objects.filter(order=order).count() == 1
    # even if the rule changes afterwards, the shipped lines are not billed a second time
    BillingProfile.objects.filter(customer=customer).update(rule=BillingProfile.Rule.WEEKLY)
    assert flow.run_consolidated_billing(frequency="weekly", on=timezone.localdate()) == []


def test_weekly_run_consolidates_shipments_once():
    f.company()
    customer = f.customer(rule=BillingProfile.Rule.WEEKLY)
    other = f.customer(rule=BillingProfile.Rule.MONTHLY)
    first = order_for(customer, [(f.product("10.00"), 1)])
    second = order_for(customer, [(f.product("20.00"), 2)])
    monthly = order_for(other, [(f.product("5.00"), 1)])
    for order in (first, second, monthly):
        assert flow.ship(order=order, by=user_in(WAREHOUSE)) is None  # shipped, not billed yet
    today = timezone.localdate()

    (invoice,) = flow.run_consolidated_billing(frequency="weekly", on=today)
    assert invoice.customer == customer and invoice.order is None and invoice.total == Decimal("60.50")
    assert invoice.period_start == today and invoice.period_end == today
    assert sorted(invoice.lines.values_list("delivery_reference", flat=True)) == sorted(
        customer.shipments.values_list("number", flat=True)
    )
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 2
    assert flow.run_consolidated_billing(frequency="weekly", on=today) == []  # run twice: nothing more
    assert tasks.run_consolidated_billing.run("monthly", today.isoformat()) == 1
    assert not ShipmentLine.objects.filter(invoice_line__isnull=True).exists()


def test_run_bills_only_what_shipped_up_to_the_day():
    f.company()
    customer = f.customer(rule=BillingProfile.Rule.MONTHLY)
    flow.ship(order=order_for(customer, [(f.product("10.00"), 1)]), by=user_in(WAREHOUSE))
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    assert flow.run_consolidated_billing(frequency="monthly", on=yesterday) == []
    assert len(flow.run_consolidated_billing(frequency="monthly", on=timezone.localdate())) == 1
