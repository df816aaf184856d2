"""The order-to-cash pipeline: the one place that moves a document from one stage to the next.

Read top to bottom, this is the whole story. Each function is one transaction that calls the
services of the apps involved, in order; work that must not run for a rolled-back transaction
(rendering, sending) is queued with on_commit. Views, tasks, the portal and commands call these.
"""

import datetime
import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from credit import services as credit
from credit.models import CreditDecision
from fulfillment import selectors as fulfillment_selectors
from fulfillment import services as fulfillment
from invoicing import selectors as invoicing_selectors
from invoicing import services as invoicing
from invoicing import tasks as invoicing_tasks
from invoicing.models import BillingProfile, Invoice
from orders import services as orders
from orders.models import SalesOrder
from receivables import services as receivables
from receivables.models import Payment

logger = logging.getLogger(__name__)


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
        bill_up_front(order=order, by=by)
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
    bill_up_front(order=order, by=by)
    return order


# 2. Shipping -> invoicing -> AR ledger -> documents ---------------------------------------------
@transaction.atomic
def ship(
    *, order: SalesOrder, by, carrier: str = "", tracking_number: str = "", on: datetime.date | None = None
) -> Invoice | None:
    """Ship what is reserved and, when the customer is billed per shipment (the default),
    invoice exactly what shipped (see bill_shipment). `on` is the invoice date (default
    today); only loading past data (seed_demo) passes it. None when billing comes later
    (consolidated runs) or came first (up front)."""
    shipment = fulfillment.ship_order(order=order, by=by, carrier=carrier, tracking_number=tracking_number)
    return bill_shipment(shipment=shipment, by=by, on=on, trail=order.trail)


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
    invoices = order.invoices.filter(kind=Invoice.Kind.INVOICE).exclude(status=Invoice.Status.DRAFT)
    if invoices.exists() and not invoices.exclude(status=Invoice.Status.PAID).exists():
        orders.complete_order(order=order, by=by)


# 4. Billing: per shipment, up front, or consolidated by period; credit notes ---------------------
def _billing_rule(customer) -> str:
    return invoicing.billing_profile_of(customer).rule


def bill_shipment(*, shipment, by, on: datetime.date | None = None, trail: str = "") -> Invoice | None:
    """Invoice a shipment's lines not billed yet, when the customer is billed per shipment:
    issue with its number, post to the AR ledger, then render and send after commit."""
    if _billing_rule(shipment.customer) != BillingProfile.Rule.EACH_SHIPMENT:
        return None
    if not invoicing.billable_shipment_lines(shipment.lines.all()).exists():
        return None  # billed up front
    invoice = invoicing.create_invoice_for_shipment(shipment=shipment, by=by)
    return issue_and_post(invoice=invoice, by=by, on=on, trail=trail)


def bill_up_front(*, order: SalesOrder, by) -> Invoice | None:
    """Customers billed up front (prepayment, services) get the whole order's invoice on approval."""
    if _billing_rule(order.customer) != BillingProfile.Rule.UP_FRONT:
        return None
    invoice = invoicing.create_up_front_invoice(order=order, by=by)
    return issue_and_post(invoice=invoice, by=by, trail=order.trail)


@transaction.atomic
def issue_and_post(*, invoice: Invoice, by, on: datetime.date | None = None, trail: str = "") -> Invoice:
    """A draft invoice -> issued with the next INV number -> posted to the AR ledger; after
    commit its documents are rendered and it is sent on the customer's channels."""
    invoice = invoicing.issue_invoice(invoice=invoice, by=by, on=on, trail=trail)
    if invoice.is_credit_note:  # rolls the issue back: a credit note posts the other way
        raise invoicing.InvoicingError(f"{invoice} is a credit note; issue it with issue_credit_note.")
    receivables.post_invoice(invoice=invoice, by=by)
    _render_and_send_after_commit(invoice, by=by)
    return invoice


def _render_and_send_after_commit(invoice: Invoice, *, by) -> None:
    invoice_id = invoice.pk
    transaction.on_commit(lambda: invoicing_tasks.render_invoice_pdf.delay(invoice_id))
    for log in invoicing.queue_sending(invoice=invoice, by=by):
        log_id = log.pk
        transaction.on_commit(lambda log_id=log_id: invoicing_tasks.deliver_invoice.delay(log_id))


@transaction.atomic
def resend(*, invoice: Invoice, by) -> list:
    """Send an issued invoice again on the customer's channels (a new send log entry each)."""
    logs = invoicing.queue_sending(invoice=invoice, by=by)
    for log in logs:
        log_id = log.pk
        transaction.on_commit(lambda log_id=log_id: invoicing_tasks.deliver_invoice.delay(log_id))
    return logs


def run_consolidated_billing(*, frequency: str, on: datetime.date, by=None) -> list[Invoice]:
    """The weekly or monthly run (Celery beat): one invoice per customer billed with that
    rule for everything shipped up to `on` and not billed yet, one transaction per customer
    (one customer's problem does not hold up the others' invoices). Safe to run twice: a
    shipped line is billed once, ever."""
    invoices = []
    for customer, lines in list(invoicing_selectors.unbilled_shipment_lines_by_customer(rule=frequency, until=on)):
        try:
            with transaction.atomic():
                draft = invoicing.create_invoice_for_shipment_lines(
                    customer=customer, shipment_lines=lines, period=(_first_shipped(lines), on)
                )
                invoices.append(issue_and_post(invoice=draft, by=by, on=on, trail=f"customer:{customer.pk}"))
        except invoicing.InvoicingError as error:  # left for the next run; the clerk sees it on "ready to bill"
            logger.warning("Billing run %s: %s not billed: %s", frequency, customer, error)
    return invoices


def _first_shipped(lines) -> datetime.date:
    return min(timezone.localdate(line.shipment.shipped_at) for line in lines)


@transaction.atomic
def issue_credit_note(*, note: Invoice, by, on: datetime.date | None = None) -> Invoice:
    """A draft credit note -> refused if it is more than the invoice has open -> issued with
    the next CN number -> posted to the AR ledger, reducing the invoice's open amount ->
    rendered and sent after commit."""
    invoicing.check_credit_note_fits(note=note)
    trail = f"order:{note.order_id}" if note.order_id else f"invoice:{note.credited_invoice_id}"
    note = invoicing.issue_invoice(invoice=note, by=by, on=on, trail=trail)
    receivables.post_credit_note(credit_note=note, by=by)
    _render_and_send_after_commit(note, by=by)
    return note
