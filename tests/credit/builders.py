"""Rows for credit tests written directly (no flow): open invoices, unapplied cash, approved
orders partly shipped and partly billed, so exposure can be checked against its definition."""

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone

from fulfillment.models import Shipment, ShipmentLine
from invoicing.models import Invoice, InvoiceLine
from orders.models import SalesOrder, SalesOrderLine
from receivables.models import Payment

_numbers = itertools.count(1)


def open_invoice(customer, *, total: str, open_amount: str | None = None, currency="EUR", due=None, kind="invoice"):
    total_d = Decimal(total)
    n = next(_numbers)
    credited = None
    if kind == Invoice.Kind.CREDIT_NOTE:
        credited = open_invoice(customer, total=total, open_amount="0", currency=currency)
    return Invoice.objects.create(
        kind=kind,
        credited_invoice=credited,
        number=f"T-{n:07d}",
        customer=customer,
        status=Invoice.Status.ISSUED if Decimal(open_amount or total) > 0 else Invoice.Status.PAID,
        currency=currency,
        bill_to="x",
        payment_terms="30 days",
        issue_date=(due or timezone.localdate()) - datetime.timedelta(days=30),
        due_date=due or timezone.localdate() + datetime.timedelta(days=30),
        net_amount=total_d,
        tax_amount=Decimal("0"),
        total=total_d,
        amount_open=Decimal(open_amount if open_amount is not None else total),
    )


def unapplied_payment(customer, *, amount: str, applied: str = "0", currency="EUR", status=None):
    amount_d, applied_d = Decimal(amount), Decimal(applied)
    if status is None:
        status = (
            Payment.Status.APPLIED
            if applied_d == amount_d
            else Payment.Status.PARTIALLY_APPLIED
            if applied_d
            else Payment.Status.UNAPPLIED
        )
    return Payment.objects.create(
        customer=customer,
        amount=amount_d,
        amount_applied=applied_d,
        currency=currency,
        value_date=timezone.localdate(),
        status=status,
    )


def approved_order(
    customer, product, *, price: str, quantity: int, shipped: int = 0, billed: bool = False, currency="EUR"
):
    """An approved order of one line (tax 0); `shipped` units on a shipped shipment, billed
    by an issued invoice when `billed`."""
    price_d, q = Decimal(price), Decimal(quantity)
    net = price_d * q
    order = SalesOrder.objects.create(
        number=f"SO-T-{next(_numbers):07d}",
        customer=customer,
        status=SalesOrder.Status.APPROVED,
        order_date=timezone.localdate(),
        currency=currency,
        net_amount=net,
        tax_amount=Decimal("0"),
        total=net,
        submitted_at=timezone.now(),
    )
    line = SalesOrderLine.objects.create(
        order=order,
        line_number=1,
        product=product,
        description="x",
        quantity=q,
        unit_price=price_d,
        tax_rate=Decimal("0"),
        net_amount=net,
        tax_amount=Decimal("0"),
    )
    if shipped:
        shipment = Shipment.objects.create(
            number=f"SH-T-{next(_numbers):07d}", customer=customer, status=Shipment.Status.SHIPPED, ship_to="x"
        )
        shipment_line = ShipmentLine.objects.create(shipment=shipment, order_line=line, quantity=Decimal(shipped))
        if billed:
            amount = price_d * shipped
            invoice = Invoice.objects.create(
                customer=customer,
                order=order,
                shipment=shipment,
                currency=currency,
                bill_to="x",
                payment_terms="30 days",
                net_amount=amount,
                tax_amount=Decimal("0"),
                total=amount,
            )
            InvoiceLine.objects.create(
                invoice=invoice,
                line_number=1,
                order_line=line,
                shipment_line=shipment_line,
                description="x",
                quantity=Decimal(shipped),
                unit_price=price_d,
                tax_rate=Decimal("0"),
                net_amount=amount,
                tax_amount=Decimal("0"),
            )
            Invoice.objects.filter(pk=invoice.pk).update(
                status=Invoice.Status.ISSUED,
                number=f"T-{next(_numbers):07d}",
                issue_date=timezone.localdate(),
                due_date=timezone.localdate() + datetime.timedelta(days=30),
                amount_open=amount,
            )
    return order


def held_order(customer, product, *, total: str = "100.00", reasons: str = "Credit limit exceeded: test.", days_ago=0):
    """An order on credit hold with its held decision, written directly (fast, for page tests)."""
    from credit.models import CreditDecision

    amount = Decimal(total)
    order = SalesOrder.objects.create(
        number=f"SO-H-{next(_numbers):07d}",
        customer=customer,
        status=SalesOrder.Status.CREDIT_HOLD,
        order_date=timezone.localdate(),
        currency="EUR",
        net_amount=amount,
        tax_amount=Decimal("0"),
        total=amount,
        submitted_at=timezone.now() - datetime.timedelta(days=days_ago),
    )
    SalesOrderLine.objects.create(
        order=order,
        line_number=1,
        product=product,
        description="x",
        quantity=Decimal("1"),
        unit_price=amount,
        tax_rate=Decimal("0"),
        net_amount=amount,
        tax_amount=Decimal("0"),
    )
    CreditDecision.objects.create(
        order=order,
        outcome=CreditDecision.Outcome.HELD,
        reasons=reasons,
        exposure=Decimal("0"),
        credit_limit=Decimal("0"),
    )
    return order
