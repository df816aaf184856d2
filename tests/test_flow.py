"""The spine: one order from entry to cash applied, through o2c.flow only."""

import datetime
from decimal import Decimal

import pytest

from fulfillment.models import StockItem
from invoicing.models import Invoice
from o2c import flow
from o2c.core.models import TimelineEvent
from orders.models import SalesOrder
from orders.services import LineInput
from receivables import selectors as receivables
from receivables.models import JournalEntry
from tests.core.factories import AR, CLERK, CREDIT, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def world(staff, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    widget = ProductFactory(sku="W-1", unit_price=Decimal("12.50"))
    service = ProductFactory(sku="SVC-1", unit_price=Decimal("80.00"), is_stock_tracked=False)
    stock(widget, "10")
    return {"customer": customer, "widget": widget, "service": service, "staff": staff}


def test_one_order_from_entry_to_cash(world, django_capture_on_commit_callbacks):
    customer, staff = world["customer"], world["staff"]
    credit_limit(customer, "100.00")  # too small: the order will be held
    clerk = staff(CLERK)

    order = flow.submit_order(
        by=clerk, customer_account=customer.account_number, lines=[LineInput("W-1", "4"), LineInput("SVC-1", "1")]
    )
    # 4 x 12.50 = 50.00 + 21% 10.50; 1 x 80.00 + 16.80 -> net 130.00, tax 27.30, total 157.30
    assert (order.net_amount, order.tax_amount, order.total) == (Decimal("130.00"), Decimal("27.30"), Decimal("157.30"))
    assert order.status == SalesOrder.Status.CREDIT_HOLD
    assert order.number.startswith("SO-")
    decision = order.credit_decisions.get()
    assert "Credit limit exceeded" in decision.reasons

    order = flow.decide_credit_hold(order=order, release=True, reason="Known customer, PO confirmed", by=staff(CREDIT))
    assert order.status == SalesOrder.Status.APPROVED
    item = StockItem.objects.get(product=world["widget"])
    assert (item.on_hand, item.reserved) == (Decimal("10"), Decimal("4"))

    with django_capture_on_commit_callbacks() as callbacks:
        invoice = flow.ship(order=order, by=staff(WAREHOUSE), carrier="DHL", tracking_number="JD0001")
    assert len(callbacks) == 5  # pick list, packing slip, bill of lading, invoice documents, email: after commit
    item.refresh_from_db()
    assert (item.on_hand, item.reserved) == (Decimal("6"), Decimal("0"))
    assert invoice.number.startswith(f"INV-{invoice.issue_date.year}-")
    assert invoice.total == Decimal("157.30") and invoice.amount_open == Decimal("157.30")
    assert invoice.due_date == invoice.issue_date + datetime.timedelta(days=30)
    assert receivables.ledger_balance(customer) == Decimal("157.30")

    payment = flow.receive_payment(
        invoice=invoice, amount=Decimal("157.30"), value_date=invoice.issue_date, by=staff(AR)
    )
    invoice.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == "applied"
    assert invoice.status == Invoice.Status.PAID and invoice.amount_open == 0
    assert order.status == SalesOrder.Status.COMPLETED
    assert receivables.ledger_balance(customer) == 0
    assert receivables.ledger_integrity_problems() == []
    assert list(JournalEntry.objects.filter(customer=customer).values_list("kind", flat=True).order_by("id")) == [
        "invoice",
        "payment",
        "allocation",
    ]
    verbs = list(TimelineEvent.objects.filter(trail=order.trail).values_list("verb", flat=True))
    assert verbs == [
        "created",
        "submitted",
        "credit_hold",
        "approved",
        "reserved",
        "planned",
        "shipped",
        "issued",
        "applied",
        "completed",
    ]


def test_partial_payment_keeps_order_open(world):
    customer, staff = world["customer"], world["staff"]
    credit_limit(customer)
    order = flow.submit_order(by=staff(CLERK), customer_account=customer.account_number, lines=[LineInput("W-1", "2")])
    assert order.status == SalesOrder.Status.APPROVED
    invoice = flow.ship(order=order, by=staff(WAREHOUSE))
    flow.receive_payment(invoice=invoice, amount=Decimal("10.00"), value_date=invoice.issue_date, by=staff(AR))
    invoice.refresh_from_db()
    order.refresh_from_db()
    assert invoice.amount_open == Decimal("20.25")  # 2 x 12.50 = 25.00 + 5.25 tax = 30.25
    assert invoice.status == Invoice.Status.ISSUED
    assert order.status == SalesOrder.Status.APPROVED


def test_cancelling_an_approved_order_gives_its_stock_back_until_it_ships(world, django_capture_on_commit_callbacks):
    customer, staff = world["customer"], world["staff"]
    credit_limit(customer, "10000.00")
    clerk = staff(CLERK)
    order = flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("W-1", "4")])
    item = StockItem.objects.get(product=world["widget"])
    assert (order.status, item.reserved) == (SalesOrder.Status.APPROVED, Decimal("4"))

    with pytest.raises(flow.orders.OrderError, match="reason"):
        flow.cancel_order(order=order, reason=" ", by=clerk)
    order = flow.cancel_order(order=order, reason="Customer ordered twice", by=clerk)
    item.refresh_from_db()
    assert (order.status, order.cancel_reason, item.reserved, item.on_hand) == (
        SalesOrder.Status.CANCELLED,
        "Customer ordered twice",
        Decimal("0"),
        Decimal("10"),
    )

    shipped = flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("W-1", "2")])
    flow.ship(order=shipped, by=staff(WAREHOUSE))
    with pytest.raises(flow.orders.OrderError, match="can no longer be cancelled"):
        flow.cancel_order(order=shipped, reason="Too late", by=clerk)
    shipped.refresh_from_db()
    assert shipped.status != SalesOrder.Status.CANCELLED
