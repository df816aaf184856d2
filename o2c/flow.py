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
from orders import services as orders
from orders.models import Customer, PaymentTerms, SalesOrder
from receivables import cashapp
from receivables import services as receivables
from receivables.models import Payment, StatementLine


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


# 4. Bank statements -> cash application -> credit re-evaluation -> order completion -----------
def import_statement(*, bank_account, data: bytes, file_name: str = "", by=None, csv_mapping=None):
    """Import a statement file (all or nothing), match its new lines and apply what is certain;
    then, as for any payment, release held orders now within credit and complete paid orders.
    Returns (ImportResult, MatchSummary)."""
    with transaction.atomic():
        result = cashapp.import_statement_file(
            bank_account=bank_account, data=data, file_name=file_name, by=by, csv_mapping=csv_mapping
        )
        summary = cashapp.match_and_apply(line_ids=result.new_line_ids, by=by)
        _after_cash(summary, by=by)
    return result, summary


@transaction.atomic
def rematch_open_lines(*, by=None):
    """Nightly, and after new invoices: match again every line still unmatched or suggested."""
    line_ids = list(
        StatementLine.objects.filter(
            status__in=[StatementLine.Status.UNMATCHED, StatementLine.Status.SUGGESTED]
        ).values_list("pk", flat=True)
    )
    summary = cashapp.match_and_apply(line_ids=line_ids, by=by)
    _after_cash(summary, by=by)
    return summary


@transaction.atomic
def accept_statement_suggestion(*, line: StatementLine, index: int = 0, by):
    """A clerk accepts one of the line's suggestions with one click."""
    summary = cashapp.accept_candidate(line=line, index=index, by=by)
    _after_cash(summary, by=by)
    return summary


@transaction.atomic
def apply_statement_line(*, line: StatementLine, customer_id, parts, by, action: str = "apply"):
    """A clerk's own split of a line over invoices (the rest on account), or on account only,
    or ignore. The payer's IBAN and name are learned for next time."""
    summary = cashapp.apply_line(line=line, customer_id=customer_id, parts=parts, by=by, action=action)
    _after_cash(summary, by=by)
    return summary


@transaction.atomic
def receive_manual_payment(
    *,
    customer,
    amount: Decimal,
    value_date: datetime.date,
    method: str,
    reference: str,
    parts,
    by,
    idempotency_key: str | None = None,
) -> Payment:
    """A check or cash payment entered by hand and applied on the same allocation screen."""
    payment = receivables.record_payment(
        customer=customer,
        amount=amount,
        value_date=value_date,
        by=by,
        method=method,
        reference=reference,
        idempotency_key=idempotency_key,
    )
    if parts and not payment.allocations.exists():
        cashapp.apply_payment(payment=payment, parts=parts, by=by)
    summary = cashapp.MatchSummary(customer_ids={customer.pk}, invoice_ids={invoice.pk for invoice, *_ in parts})
    _after_cash(summary, by=by)
    payment.refresh_from_db()
    return payment


@transaction.atomic
def reverse_payment(*, payment: Payment, reason: str, by):
    """A bounced check or a direct-debit return entered by hand: the invoices reopen."""
    payment = cashapp.reverse_payment(payment=payment, reason=reason, by=by)
    _after_cash(cashapp.MatchSummary(customer_ids={payment.customer_id}), by=by)
    return payment


def _after_cash(summary, *, by) -> None:
    held = SalesOrder.objects.filter(customer_id__in=summary.customer_ids, status=SalesOrder.Status.CREDIT_HOLD)
    for customer_id in sorted(set(held.values_list("customer_id", flat=True))):  # one query for all payers
        _release_holds_within_credit(customer_id=customer_id, by=by)
    if summary.invoice_ids:
        orders_paid = SalesOrder.objects.filter(
            invoices__pk__in=summary.invoice_ids, status=SalesOrder.Status.APPROVED
        ).distinct()
        for order in orders_paid:
            _complete_if_done(order=order, by=by)


# 5. Go-live: open items taken over from the old system ----------------------------------------
@transaction.atomic
def take_over_open_item(
    *,
    customer_account: str,
    customer_name: str,
    customer_tax_id: str,
    customer_iban: str,
    invoice_number: str,
    issue_date: datetime.date,
    due_date: datetime.date,
    currency: str,
    total: Decimal,
    open_amount: Decimal,
    by=None,
) -> tuple[Invoice, bool]:
    """One open item of the old system: the customer (created when missing), the invoice under
    its legacy number, its posting to the AR ledger, and the IBAN it is paid from. Running it
    again changes nothing. Returns (invoice, created)."""
    customer = _go_live_customer(customer_account, customer_name, customer_tax_id, currency)
    invoice, created = invoicing.import_open_invoice(
        customer=customer,
        number=invoice_number,
        issue_date=issue_date,
        due_date=due_date,
        currency=currency,
        total=total,
        open_amount=open_amount,
    )
    cashapp.post_opening_item(invoice=invoice, by=by)
    if customer_iban:
        cashapp.learn_payer_iban(customer=customer, iban=customer_iban, source="go-live open items")
    return invoice, created


def _go_live_customer(account_number: str, name: str, tax_id: str, currency: str):
    customer = Customer.objects.filter(account_number=account_number).first()
    if customer:
        return customer
    return Customer.objects.create(
        account_number=account_number,
        name=name,
        tax_id=tax_id,
        currency=currency,
        email="",
        address_line="",
        postal_code="",
        city="",
        payment_terms=PaymentTerms.objects.get_or_create(
            code="NET30", defaults={"name": "30 days net", "net_days": 30}
        )[0],
    )


@transaction.atomic
def import_statement_lines(*, bank_account, data: bytes, file_name: str = "", by=None, csv_mapping=None):
    """The import alone (all or nothing), for a worker that then matches in chunks."""
    return cashapp.import_statement_file(
        bank_account=bank_account, data=data, file_name=file_name, by=by, csv_mapping=csv_mapping
    )


@transaction.atomic
def match_statement_lines(*, line_ids: list[int], by=None):
    """Match and apply a chunk of lines, then re-evaluate the payers' credit holds."""
    summary = cashapp.match_and_apply(line_ids=line_ids, by=by)
    _after_cash(summary, by=by)
    return summary
