"""Documents with chosen dates for report tests: orders, shipments, issued invoices posted to the
ledger, payments applied on a value date, credit decisions at a moment."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from credit.models import CreditDecision
from fulfillment.models import Shipment, ShipmentLine
from invoicing.models import Invoice
from orders.models import SalesOrder, SalesOrderLine
from receivables import services as ledger

BRUSSELS = ZoneInfo("Europe/Brussels")


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=BRUSSELS)


def make_order(customer, product, *, ordered, shipped=None, number):
    order = SalesOrder.objects.create(
        number=number, customer=customer, status=SalesOrder.Status.COMPLETED, order_date=ordered, currency="EUR"
    )
    line = SalesOrderLine.objects.create(
        order=order,
        line_number=1,
        product=product,
        description="Widget",
        quantity=Decimal("1"),
        unit_price=Decimal("1.00"),
        tax_rate=Decimal("0"),
        net_amount=Decimal("1.00"),
        tax_amount=Decimal("0"),
    )
    shipment = None
    if shipped:
        shipment = Shipment.objects.create(
            number=f"S-{number}",
            customer=customer,
            status=Shipment.Status.SHIPPED,
            ship_to="Dock 1",
            shipped_at=at(shipped),
        )
        ShipmentLine.objects.create(shipment=shipment, order_line=line, quantity=Decimal("1"))
    return order, shipment


def make_invoice(number, customer, *, issued, due, total, order=None, shipment=None, kind="invoice", credited=None):
    total = Decimal(total)
    invoice = Invoice.objects.create(
        number=number,
        kind=kind,
        credited_invoice=credited,
        customer=customer,
        order=order,
        shipment=shipment,
        status=Invoice.Status.ISSUED if kind == "invoice" else Invoice.Status.PAID,
        currency="EUR",
        bill_to=customer.name,
        payment_terms="30 days net",
        issue_date=issued,
        due_date=due,
        net_amount=total,
        tax_amount=Decimal("0"),
        total=total,
        amount_open=total if kind == "invoice" else Decimal("0"),
    )
    if kind == "invoice":
        ledger.post_invoice(invoice=invoice)
    return invoice


def pay(invoice, amount, on):
    payment = ledger.record_payment(customer=invoice.customer, amount=Decimal(amount), value_date=on)
    ledger.allocate_payment(payment=payment, invoice=invoice, amount=Decimal(amount))


def decide(order, outcome, moment):
    decision = CreditDecision.objects.create(
        order=order, outcome=outcome, exposure=Decimal("0"), credit_limit=Decimal("0")
    )
    CreditDecision.objects.filter(pk=decision.pk).update(decided_at=moment)
