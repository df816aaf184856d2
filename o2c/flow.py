"""The order-to-cash pipeline: the one place that moves a document from one stage to the next.

Read top to bottom, this is the whole story. Each function is one transaction that calls the
services of the apps involved, in order; work that must not run for a rolled-back transaction
(rendering, sending) is queued with on_commit. Views, tasks, the portal and commands call these.
"""

import datetime
from decimal import Decimal

from django.db import transaction

from credit import services as credit
from credit.models import CreditDecision
from fulfillment import selectors as fulfillment_selectors
from fulfillment import services as fulfillment
from invoicing import services as invoicing
from invoicing import tasks as invoicing_tasks
from invoicing.models import Invoice
from o2c.core.errors import DomainError
from orders import imports as order_imports
from orders import services as orders
from orders.models import Customer, OrderImport, SalesOrder
from receivables import services as receivables
from receivables.models import Payment


# 1. Order entry -> credit check -> stock reservation ------------------------------------------
@transaction.atomic
def submit_order(*, by, **order_fields) -> SalesOrder:
    """Validate and save the order, give it its number, decide credit, and reserve stock if
    approved. Raises OrderError (nothing saved) when any line or field is wrong."""
    order = orders.create_order(by=by, **order_fields)
    return submit_draft(order=order, by=by)


@transaction.atomic
def submit_draft(*, order: SalesOrder, by) -> SalesOrder:
    """Submit a saved draft: prices and terms are taken now, then credit and stock as above."""
    order = orders.submit_order(order=order, by=by)
    decision = credit.decide_order(order=order)
    if decision.outcome == CreditDecision.Outcome.APPROVED:
        order = orders.approve_order(order=order, note="Within credit limit")
        fulfillment.reserve_order(order=order, by=by)
    else:
        order = orders.hold_order(order=order, reasons=decision.reason_list)
    return order


@transaction.atomic
def decide_credit_hold(*, order: SalesOrder, release: bool, reason: str, by) -> SalesOrder:
    """A credit manager releases (-> approved, stock reserved) or rejects a held order."""
    credit.record_manager_decision(order=order, release=release, reason=reason, by=by)
    if not release:
        return orders.reject_order(order=order, reason=reason, by=by)
    order = orders.approve_order(order=order, by=by, note=reason)
    fulfillment.reserve_order(order=order, by=by)
    return order


# 2. Shipping -> invoicing -> AR ledger -> documents ---------------------------------------------
@transaction.atomic
def ship(
    *, order: SalesOrder, by, carrier: str = "", tracking_number: str = "", on: datetime.date | None = None
) -> Invoice:
    """Ship what is reserved, invoice exactly what shipped, post the invoice to the AR ledger,
    and render its PDF in a worker once the transaction has committed. `on` is the invoice
    date (default today); only loading past data (seed_demo) passes it."""
    shipment = fulfillment.ship_order(order=order, by=by, carrier=carrier, tracking_number=tracking_number)
    invoice = invoicing.create_invoice_for_shipment(shipment=shipment, by=by)
    invoice = invoicing.issue_invoice(invoice=invoice, by=by, on=on, trail=order.trail)
    receivables.post_invoice(invoice=invoice, by=by)
    invoice_id = invoice.pk
    transaction.on_commit(lambda: invoicing_tasks.render_invoice_pdf.delay(invoice_id))
    return invoice


# 3. Cash -> allocation -> credit re-evaluation -> order completion ------------------------------
@transaction.atomic
def receive_payment(
    *,
    invoice: Invoice,
    amount: Decimal,
    value_date: datetime.date,
    by,
    method: str = Payment.Method.TRANSFER,
    reference: str = "",
    idempotency_key: str | None = None,
) -> Payment:
    """Record a customer's payment and apply it to the invoice it pays; then release held
    orders the payment brought back within credit, and complete orders now fully paid.
    Refused, with nothing recorded, for an invoice that is not issued and open."""
    payment = receivables.record_payment(
        customer=invoice.customer,
        amount=amount,
        value_date=value_date,
        by=by,
        method=method,
        reference=reference,
        currency=invoice.currency,
        idempotency_key=idempotency_key,
    )
    if payment.allocations.exists():  # an idempotent repeat: the first request did the rest
        return payment
    if invoice.status != Invoice.Status.ISSUED:
        raise receivables.ReceivablesError(  # rolls the payment back too
            f"Invoice {invoice} is {invoice.get_status_display().lower()}; payments apply only to issued, open invoices."
        )
    trail = invoice.order.trail if invoice.order_id else f"invoice:{invoice.pk}"
    applied = min(amount, invoice.amount_open)
    if applied > 0:
        receivables.allocate_payment(payment=payment, invoice=invoice, amount=applied, by=by, trail=trail)
    _release_holds_within_credit(customer_id=invoice.customer_id, by=by)
    if invoice.order_id:
        _complete_if_done(order=invoice.order, by=by)
    payment.refresh_from_db()
    return payment


def _release_holds_within_credit(*, customer_id: int, by) -> None:
    for order in SalesOrder.objects.filter(customer_id=customer_id, status=SalesOrder.Status.CREDIT_HOLD):
        if credit.recheck_hold(order=order):
            orders.approve_order(order=order, note="Within credit again after a payment")
            fulfillment.reserve_order(order=order, by=by)


def _complete_if_done(*, order: SalesOrder, by) -> None:
    """Completed = every line shipped, everything shipped invoiced, every invoice paid."""
    order.refresh_from_db()
    if order.status != SalesOrder.Status.APPROVED or not fulfillment_selectors.is_fully_shipped(order):
        return
    invoices = order.invoices.exclude(status=Invoice.Status.DRAFT)
    if invoices.exists() and not invoices.exclude(status=Invoice.Status.PAID).exists():
        orders.complete_order(order=order, by=by)


# 4. CSV order import: each good order of a confirmed file goes through submit_order ------------
def import_orders(*, order_import_id: int) -> OrderImport | None:
    """Import the good orders of a confirmed file. NOT one transaction: each order is its own
    (submit_order), so an order is saved whole or not at all and one failure stops no other.
    Safe to run twice: orders already saved for this file are found by their key and skipped
    (a unique constraint backs it). Returns None when the import is not waiting to run."""
    order_import = order_imports.start_import(order_import_id=order_import_id)
    if order_import is None:
        return None
    order_imports.reset_counters(order_import_id=order_import_id)
    sheet = order_imports.read_csv(order_import.content.encode())
    planned, _ = order_imports.group_orders(sheet)
    bad_keys = {problem[3] for problem in order_import.problems}
    done = {o.import_key: o for o in SalesOrder.objects.filter(order_import_id=order_import_id)}
    by = order_import.created_by
    results = []
    for key, plan in planned.items():
        if key in bad_keys:
            continue
        order = done.get(key)
        if order is None:
            try:
                order = _import_one(order_import, plan, by)
            except DomainError as error:
                results.append({"key": key, "lines": plan.lines, "outcome": "failed", "reasons": error.problems or [
                    ["order", "", error.message]
                ]})  # fmt: skip
                order_imports.record_progress(order_import_id=order_import_id, imported=0, failed=1)
                continue
        results.append({"key": key, "lines": plan.lines, "outcome": order.status, "order_id": order.pk,
                        "number": order.number, "total": str(order.total), "currency": order.currency})  # fmt: skip
        order_imports.record_progress(order_import_id=order_import_id, imported=1, failed=0)
    return order_imports.finish_import(order_import_id=order_import_id, results=results)


def _import_one(order_import: OrderImport, plan, by) -> SalesOrder:
    fields = plan.fields
    customer = Customer.objects.filter(account_number=fields.get("customer_account", "")).first()
    ship_to = None
    if fields.get("ship_to") and customer is not None:
        ship_to = customer.addresses.filter(kind="shipping", label__iexact=fields["ship_to"]).first()
    requested = order_imports.parse_date(fields["requested_date"]) if fields.get("requested_date") else None
    return submit_order(
        by=by,
        customer_account=fields.get("customer_account", ""),
        lines=plan.line_inputs,
        channel=SalesOrder.Channel.CSV,
        customer_po=fields.get("customer_po", "")[:50],
        requested_date=requested,
        notes=fields.get("notes", ""),
        ship_to=ship_to,
        order_import=order_import,
        import_key=plan.key,
    )
