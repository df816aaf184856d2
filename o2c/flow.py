"""The order-to-cash pipeline: the one place that moves a document from one stage to the next.

Read top to bottom, this is the whole story. Each function is one transaction that calls the
services of the apps involved, in order; work that must not run for a rolled-back transaction
(rendering, sending) is queued with on_commit. Views, tasks, the portal and commands call these.
"""

import datetime
from decimal import Decimal

from django.db import transaction

from credit import notifications as credit_notifications
from credit import selectors as credit_selectors
from credit import services as credit
from credit.models import CreditApplication, CreditDecision
from fulfillment import selectors as fulfillment_selectors
from fulfillment import services as fulfillment
from invoicing import services as invoicing
from invoicing import tasks as invoicing_tasks
from invoicing.models import Invoice
from o2c.core import timeline
from orders import services as orders
from orders.models import SalesOrder
from receivables import services as receivables
from receivables.models import Payment


# 1. Order entry -> credit check -> stock reservation ------------------------------------------
@transaction.atomic
def submit_order(*, by, **order_fields) -> SalesOrder:
    """Validate and save the order, give it its number, decide credit, and reserve stock if
    approved. Raises OrderError (nothing saved) when any line or field is wrong."""
    order = orders.create_order(by=by, **order_fields)
    order = orders.submit_order(order=order, by=by)
    decision = credit.decide_order(order=order)
    if decision.outcome == CreditDecision.Outcome.APPROVED:
        order = orders.approve_order(order=order, note="Within credit limit")
        fulfillment.reserve_order(order=order, by=by)
    else:
        order = orders.hold_order(order=order, reasons=decision.reason_list)
    return order


@transaction.atomic
def decide_credit_hold(
    *,
    order: SalesOrder,
    release: bool,
    reason: str,
    by,
    temporary_increase: Decimal | None = None,
    temporary_until: datetime.date | None = None,
) -> SalesOrder:
    """A credit manager releases (-> approved, stock reserved; optionally raising the limit
    until a date) or rejects a held order; a rejection is emailed to the clerk and the customer."""
    credit.record_manager_decision(
        order=order,
        release=release,
        reason=reason,
        by=by,
        temporary_increase=temporary_increase,
        temporary_until=temporary_until,
    )
    if not release:
        order = orders.reject_order(order=order, reason=reason, by=by)
        credit_notifications.tell_rejected(order=order, reason=reason)
        return order
    order = orders.approve_order(order=order, by=by, note=reason)
    fulfillment.reserve_order(order=order, by=by)
    return order


@transaction.atomic
def decide_credit_application(
    *,
    application: CreditApplication,
    approve: bool,
    by,
    note: str,
    approved_limit: Decimal | None = None,
    approved_until: datetime.date | None = None,
) -> CreditApplication:
    """A credit manager decides a first-time customer's credit application; the orders that
    waited on it are then decided: on approval each is checked against the new limit (within
    it -> approved and reserved, else it stays held with its reasons); on rejection each is
    rejected and the clerk and the customer are told."""
    application = credit.decide_application(
        application=application,
        approve=approve,
        by=by,
        note=note,
        approved_limit=approved_limit,
        approved_until=approved_until,
    )
    waiting = SalesOrder.objects.filter(
        customer_id=application.customer_id, status=SalesOrder.Status.CREDIT_HOLD
    ).order_by("submitted_at", "id")
    for order in waiting:
        if approve:
            if credit.recheck_hold(order=order, note="Within credit: the credit application was approved."):
                orders.approve_order(order=order, by=by, note="Credit application approved")
                fulfillment.reserve_order(order=order, by=by)
            else:  # still over the new limit: re-decide so the queue shows today's reasons
                decision = credit.decide_order(order=order)
                timeline.record(
                    order,
                    "credit_hold",
                    summary="Still on credit hold after the application",
                    trail=order.trail,
                    by=by,
                    note=decision.reasons,
                )
        else:
            reason = f"Credit application rejected: {note}"
            credit.record_manager_decision(order=order, release=False, reason=reason, by=by)
            orders.reject_order(order=order, reason=reason, by=by)
            credit_notifications.tell_rejected(order=order, reason=reason)
    return application


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
    """Held orders of the payer - and of its whole group, whose exposure the payment also
    lowered - are checked again, oldest first; each release counts in the next one's exposure."""
    held = SalesOrder.objects.filter(
        customer_id__in=credit_selectors.customers_sharing_credit_with(customer_id),
        status=SalesOrder.Status.CREDIT_HOLD,
    ).order_by("submitted_at", "id")
    for order in held:
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
