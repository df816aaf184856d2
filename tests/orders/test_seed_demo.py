"""seed_demo: six months of demo business loaded through o2c.flow, and a second run that
changes nothing. The test database never commits, so the PDF render hooks never fire."""

import datetime
import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from credit.models import CreditDecision, CreditProfile
from fulfillment.models import Shipment, StockItem, StockMovement, Warehouse
from invoicing.models import Invoice
from o2c.core.models import NumberSeries, TimelineEvent
from orders.models import Customer, Product, SalesOrder
from portal.models import PortalAccess
from receivables.models import Allocation, JournalEntry, JournalLine, Payment
from receivables.selectors import ledger_integrity_problems

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

COUNTED = [
    Customer, Product, SalesOrder, CreditProfile, CreditDecision, Warehouse, StockItem, StockMovement,
    Shipment, Invoice, Payment, Allocation, JournalEntry, JournalLine, TimelineEvent, NumberSeries, PortalAccess,
]  # fmt: skip


def _counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in COUNTED}


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_seed_demo_loads_every_state_through_the_flow_and_only_once(rf):
    output = _seed()
    first = _counts()
    today = timezone.localdate()

    assert 35 <= first["orders.Customer"] <= 45
    assert Customer.objects.filter(is_active=False).exclude(blocked_reason="").count() == 1
    assert 140 <= first["orders.Product"] <= 160
    assert Product.objects.filter(is_stock_tracked=False).count() >= 8
    assert Product.objects.filter(is_active=False).count() == 2
    assert Product.objects.filter(unit_price__isnull=True).count() == 1
    assert first["fulfillment.Warehouse"] == 2
    assert 280 <= first["orders.SalesOrder"] <= 320

    states = dict.fromkeys(SalesOrder.Status.values, 0)
    for status in SalesOrder.objects.values_list("status", flat=True):
        states[status] += 1
    assert states["credit_hold"] >= 8
    assert states["approved"] >= 30
    assert states["completed"] >= 100
    assert states["rejected"] >= 8
    assert SalesOrder.objects.filter(status="approved", invoices__isnull=True).count() >= 5  # not shipped yet
    assert SalesOrder.objects.filter(order_date__lt=today - datetime.timedelta(days=150)).exists()

    open_invoices = Invoice.objects.filter(status=Invoice.Status.ISSUED)
    assert open_invoices.filter(due_date__lt=today).count() >= 10  # overdue
    assert open_invoices.filter(amount_open__lt=F("total")).count() >= 5  # partly paid
    assert Invoice.objects.filter(status=Invoice.Status.PAID).count() >= 100
    assert Payment.objects.exists()
    assert ledger_integrity_problems() == []

    # Numbers are chronological per series: SO by order date, INV by issue date.
    orders = list(SalesOrder.objects.order_by("number").values_list("order_date", flat=True))
    assert orders == sorted(orders)
    invoices = list(Invoice.objects.exclude(number=None).order_by("number").values_list("issue_date", flat=True))
    assert invoices == sorted(invoices)
    assert invoices[0] < today - datetime.timedelta(days=90)  # backdated through flow.ship(on=...)

    assert authenticate(rf.post("/login/"), username="clerk", password="demo") is not None
    assert authenticate(rf.post("/login/"), username="admin", password="demo").is_superuser
    assert PortalAccess.objects.get(user__username="customer").customer.account_number == "D0001"
    assert "clerk" in output and "Order clerk" in output

    output = _seed()
    assert _counts() == first
    assert "nothing changed" in output
    assert "customer" in output and "demo" in output  # the logins, also when skipping
