"""The order-to-cash pipeline: the one place that moves a document from one stage to the next.

Read top to bottom, this is the whole story. Each function is one transaction that calls the
services of the apps involved, in order; work that must not run for a rolled-back transaction
(rendering, sending) is queued with on_commit. Views, tasks, the portal and commands call these.
"""

import datetime
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from credit import notifications as credit_notifications
from credit import selectors as credit_selectors
from credit import services as credit
from credit.models import CreditApplication, CreditDecision
from fulfillment import selectors as fulfillment_selectors
from fulfillment import services as fulfillment
from fulfillment.models import ProofOfDelivery, Shipment
from invoicing import selectors as invoicing_selectors
from invoicing import services as invoicing
from invoicing import tasks as invoicing_tasks
from invoicing.models import BillingProfile, Invoice, InvoiceLine
from o2c.core import timeline
from o2c.core.errors import DomainError
from o2c.core.transactions import flow_step
from orders import imports as order_imports
from orders import services as orders
from orders.models import Customer, OrderImport, PaymentTerms, SalesOrder
from receivables import cashapp, disputes
from receivables import services as receivables
from receivables.models import Dispute, Payment, StatementLine

DEFAULT_PACKAGE_KG = Decimal("1.000")  # the one-go path's single carton, when no weights are given

logger = logging.getLogger(__name__)


# 1. Order entry -> credit check -> stock reservation ------------------------------------------
@flow_step
def submit_order(*, by, **order_fields) -> SalesOrder:
    """Validate and save the order, give it its number, decide credit, and reserve stock if
    approved. Raises OrderError (nothing saved) when any line or field is wrong."""
    order = orders.create_order(by=by, **order_fields)
    return submit_draft(order=order, by=by, just_created=True)


@flow_step
def submit_draft(*, order: SalesOrder, by, just_created: bool = False) -> SalesOrder:
    """Submit a saved draft: prices and terms are taken now, then credit and stock as above.
    (`just_created`: submit_order above wrote and priced it in this transaction.)"""
    order = orders.submit_order(order=order, by=by, just_created=just_created)
    decision = credit.decide_order(order=order)  # writes the decision only: `order` stays current
    if decision.outcome == CreditDecision.Outcome.APPROVED:
        order = orders.approve_order(order=order, note="Within credit limit", locked=True)
        fulfillment.reserve_order(order=order, by=by)
        bill_up_front(order=order, by=by)
    else:
        order = orders.hold_order(order=order, reasons=decision.reason_list, locked=True)
    return order


@flow_step
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
    bill_up_front(order=order, by=by)
    return order


@flow_step
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
                bill_up_front(order=order, by=by)
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


@flow_step
def cancel_order(*, order: SalesOrder, reason: str, by) -> SalesOrder:
    """Cancel an order with a reason. An approved one gives its reserved stock back first (and
    the backorders waiting on it); refused once any of it is picked, shipped or invoiced."""
    order = SalesOrder.objects.select_for_update().get(pk=order.pk)
    if order.status == SalesOrder.Status.APPROVED:
        if fulfillment_selectors.order_has_shipment_lines(order) or order.invoices.exists():
            raise orders.OrderError(
                f"Order {order} is already being picked, shipped or invoiced; it can no longer be cancelled. "
                "Return the goods or issue a credit note instead.",
                [("order", "status", "already in fulfilment")],
            )
        fulfillment.release_order(order=order, by=by, reason=f"Order cancelled: {reason}")
    return orders.cancel_order(order=order, reason=reason, by=by)


# 2. Stock arrives -> backorders reserved, oldest first -----------------------------------------
@flow_step
def receive_stock(*, warehouse, product, quantity: Decimal, by, note: str = "", expected_receipt=None):
    """Put received goods on hand, then reserve them for the orders waiting (backorders), in
    the reservation priority order; those orders move to the pick queue."""
    item = fulfillment.receive_stock(
        warehouse=warehouse, product=product, quantity=quantity, by=by, note=note, expected_receipt=expected_receipt
    )
    fulfillment.fill_backorders(product_ids=[product.pk], by=by)
    item.refresh_from_db()
    return item


# 3. Pick -> pack -> ship -> invoicing -> AR ledger -> documents --------------------------------
@flow_step
def ship_shipment(
    *,
    shipment: Shipment,
    by,
    carrier=None,
    service: str = "",
    tracking_number: str = "",
    ship_date: datetime.date | None = None,
    freight_terms: str = "",
    on: datetime.date | None = None,
) -> Invoice:
    """A packed shipment leaves: stock out, then (default billing rule: invoice each shipment)
    invoice exactly what shipped, post it to the AR ledger, render its PDF after commit."""
    shipment = fulfillment.ship_shipment(
        shipment=shipment,
        by=by,
        carrier=carrier,
        service=service,
        tracking_number=tracking_number,
        ship_date=ship_date,
        freight_terms=freight_terms,
    )
    return _invoice_shipment(shipment=shipment, by=by, on=on)


def _invoice_shipment(*, shipment: Shipment, by, on: datetime.date | None = None) -> Invoice | None:
    """The shipment is billed by the customer's billing rule (section 11): each shipment
    (default) -> invoiced now; up front or consolidated -> None here."""
    orders_shipped = {line.order_line.order for line in shipment.lines.select_related("order_line__order")}
    trail = next(iter(orders_shipped)).trail if len(orders_shipped) == 1 else f"shipment:{shipment.pk}"
    return bill_shipment(shipment=shipment, by=by, on=on, trail=trail)


@flow_step
def ship(
    *,
    order: SalesOrder,
    by,
    carrier: str = "",
    tracking_number: str = "",
    on: datetime.date | None = None,
    packages: list[tuple[Decimal, str]] | None = None,
) -> Invoice:
    """Ship everything reserved for one order in one go, through the same stages as the
    warehouse pages: reservations held elsewhere are transferred to the order's main
    warehouse, then plan (pick list) -> pick all -> pack -> ship -> invoice. Open service
    lines ride along (delivered with the goods). `on` is the ship and invoice date (default
    today); only loading past data (seed_demo) passes it."""
    warehouse = fulfillment_selectors.main_warehouse_for(order)
    if warehouse is None:  # services only: delivered by a confirmation
        if not fulfillment.open_service_quantities(order):
            raise fulfillment.FulfillmentError(f"Nothing is reserved for order {order} yet, so nothing can ship.")
        return confirm_services(order=order, by=by, on=on)
    fulfillment.transfer_reservations(order=order, to=warehouse, by=by)
    shipment = fulfillment.plan_shipment(orders=[order], warehouse=warehouse, by=by)
    fulfillment.add_service_lines(shipment=shipment, order=order)
    fulfillment.pick_all(shipment=shipment, by=by)
    fulfillment.pack(shipment=shipment, packages=packages or [(DEFAULT_PACKAGE_KG, "Carton")], by=by)
    return ship_shipment(
        shipment=shipment,
        by=by,
        carrier=fulfillment.carrier_named(carrier),
        tracking_number=tracking_number,
        ship_date=on,
        on=on,
    )


@flow_step
def confirm_services(*, order: SalesOrder, by, on: datetime.date | None = None) -> Invoice:
    """Services are delivered by a confirmation: confirm the open service lines, invoice them."""
    shipment = fulfillment.confirm_services(order=order, by=by)
    return _invoice_shipment(shipment=shipment, by=by, on=on)


# 4. Delivery -> discrepancies -> credit note proposals ------------------------------------------
@flow_step
def record_delivery(
    *, shipment: Shipment, signer_name: str, signed_at, by, lines=None, upload=None, note: str = ""
) -> tuple[ProofOfDelivery, list[Invoice]]:
    """Record the proof of delivery; every line delivered short, damaged or refused becomes a
    credit note proposal (draft) for exactly that quantity, against the invoice that billed it."""
    proof = fulfillment.record_proof_of_delivery(
        shipment=shipment, signer_name=signer_name, signed_at=signed_at, lines=lines, upload=upload, note=note, by=by
    )
    shortages = [(d.shipment_line, d.quantity, d.get_kind_display().lower()) for d in proof.discrepancies.all()]
    notes = _propose_credit(
        shortages=shortages, reason_prefix=f"Delivery {proof.shipment.number}, signed by {proof.signer_name}", by=by
    )
    return proof, notes


def _propose_credit(*, shortages, reason_prefix: str, by) -> list[Invoice]:
    """One proposed credit note per invoice, for the given (shipment line, quantity, why)."""
    by_invoice: dict[int, list] = {}
    for shipment_line, quantity, why in shortages:
        invoice_line = InvoiceLine.objects.filter(shipment_line=shipment_line).select_related("invoice").first()
        if invoice_line is None or invoice_line.invoice.status == Invoice.Status.DRAFT:
            continue  # not billed: nothing to credit
        by_invoice.setdefault(invoice_line.invoice_id, []).append((invoice_line, quantity, why))
    notes = []
    for items in by_invoice.values():
        invoice = items[0][0].invoice
        reason = (
            reason_prefix
            + ": "
            + ", ".join(
                f"{line.description.split()[0]} {why} {quantity.normalize():f}" for line, quantity, why in items
            )
        )
        trail = invoice.order.trail if invoice.order_id else f"invoice:{invoice.pk}"
        notes.append(
            invoicing.propose_credit_note(
                invoice=invoice,
                lines=[(line, quantity) for line, quantity, _ in items],
                reason=reason[:200],
                by=by,
                trail=trail,
            )
        )
    return notes


# 5. Returns -> stock (or scrap) -> credit note proposal -> backorders ----------------------------
@flow_step
def receive_return(*, rma, received: dict, by) -> list[Invoice]:
    """Goods back: into stock or scrap, a credit note proposed for what came back, and restocked
    goods reserved for orders waiting for them."""
    lines = fulfillment.receive_return(rma=rma, received=received, by=by)
    notes = _propose_credit(
        shortages=[
            (line.shipment_line, line.received_quantity, f"returned ({line.get_disposition_display().lower()})")
            for line in lines
        ],
        reason_prefix=f"Return {rma.number}",
        by=by,
    )
    restocked = {line.shipment_line.order_line.product_id for line in lines if line.disposition == "restock"}
    if restocked:
        fulfillment.fill_backorders(product_ids=restocked, by=by)
    return notes


# 6. Cash -> allocation -> credit re-evaluation -> order completion ------------------------------
@flow_step
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
    trail = timeline.trail_key("order", invoice.order_id) if invoice.order_id else f"invoice:{invoice.pk}"
    applied = min(amount, invoice.amount_open)
    if applied > 0:  # the allocation's payment is the locked row, as applied
        payment = receivables.allocate_payment(
            payment=payment, invoice=invoice, amount=applied, by=by, trail=trail
        ).payment
    _release_holds_within_credit(customer_id=invoice.customer_id, by=by)
    if invoice.order_id:
        _complete_if_done(order_id=invoice.order_id, by=by)
    if applied <= 0:
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
            bill_up_front(order=order, by=by)


def _complete_if_done(*, order_id: int, by) -> None:
    """Completed = every line shipped, everything shipped invoiced, every invoice paid."""
    order = SalesOrder.objects.get(pk=order_id)
    if order.status != SalesOrder.Status.APPROVED or not fulfillment_selectors.is_fully_shipped(order):
        return
    invoices = order.invoices.filter(kind=Invoice.Kind.INVOICE).exclude(status=Invoice.Status.DRAFT)
    counts = invoices.aggregate(issued=Count("pk"), unpaid=Count("pk", filter=~Q(status=Invoice.Status.PAID)))
    if counts["issued"] and not counts["unpaid"]:
        orders.complete_order(order=order, by=by)


# 7. Online payment in the customer portal -> payments through step 6 -------------------------------
@flow_step
def confirm_online_payment(*, intent, provider_reference: str, by):
    """The payment provider confirmed a portal payment: record one payment per invoice of the
    intent through receive_payment (an idempotency key per invoice, so a repeated confirmation
    or a double submit pays once), so the invoices show paid at once. An invoice settled some
    other way meanwhile gets its money as unapplied cash, for AR to refund or apply."""
    from django.utils import timezone

    from o2c.core import timeline
    from portal.models import PaymentIntent
    from portal.services import PortalError, invoice_trail

    intent = PaymentIntent.objects.select_for_update().get(pk=intent.pk)
    if intent.status == PaymentIntent.Status.SUCCEEDED:
        return intent  # a repeat: the first confirmation did everything
    if intent.status != PaymentIntent.Status.STARTED:
        raise PortalError(f"This payment is {intent.get_status_display().lower()}; start a new one.")
    today = timezone.localdate()
    for item in intent.items.select_related("invoice", "invoice__order"):
        invoice = item.invoice
        reference = f"Portal payment {intent.reference[:8]} for {invoice.number}"
        if invoice.status == Invoice.Status.ISSUED:
            receive_payment(
                invoice=invoice,
                amount=item.amount,
                value_date=today,
                by=by,
                method=Payment.Method.CARD,
                reference=reference,
                idempotency_key=item.idempotency_key(),
            )
        else:
            receivables.record_payment(
                customer=intent.customer,
                amount=item.amount,
                value_date=today,
                by=by,
                method=Payment.Method.CARD,
                reference=reference,
                currency=intent.currency,
                idempotency_key=item.idempotency_key(),
            )
        timeline.record(
            invoice,
            "paid_online",
            summary=f"{item.amount} {intent.currency} paid online by card in the customer portal",
            trail=invoice_trail(invoice),
            by=by,
        )
    intent.status, intent.provider_reference, intent.confirmed_at = (
        PaymentIntent.Status.SUCCEEDED,
        provider_reference[:100],
        timezone.now(),
    )
    intent.save(update_fields=["status", "provider_reference", "confirmed_at"])
    return intent


# 8. Bank statements -> cash application -> credit re-evaluation -> order completion -----------
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


@flow_step
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


@flow_step
def accept_statement_suggestion(*, line: StatementLine, index: int = 0, by):
    """A clerk accepts one of the line's suggestions with one click."""
    summary = cashapp.accept_candidate(line=line, index=index, by=by)
    _after_cash(summary, by=by)
    return summary


@flow_step
def apply_statement_line(*, line: StatementLine, customer_id, parts, by, action: str = "apply"):
    """A clerk's own split of a line over invoices (the rest on account), or on account only,
    or ignore. The payer's IBAN and name are learned for next time."""
    summary = cashapp.apply_line(line=line, customer_id=customer_id, parts=parts, by=by, action=action)
    _after_cash(summary, by=by)
    return summary


@flow_step
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


@flow_step
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
        for order_id in orders_paid.values_list("pk", flat=True):
            _complete_if_done(order_id=order_id, by=by)


# 9. Go-live: open items taken over from the old system ----------------------------------------
@flow_step
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


@flow_step
def import_statement_lines(*, bank_account, data: bytes, file_name: str = "", by=None, csv_mapping=None):
    """The import alone (all or nothing), for a worker that then matches in chunks."""
    return cashapp.import_statement_file(
        bank_account=bank_account, data=data, file_name=file_name, by=by, csv_mapping=csv_mapping
    )


@flow_step
def match_statement_lines(*, line_ids: list[int], by=None):
    """Match and apply a chunk of lines, then re-evaluate the payers' credit holds."""
    summary = cashapp.match_and_apply(line_ids=line_ids, by=by)
    _after_cash(summary, by=by)
    return summary


# 10. CSV order import: each good order of a confirmed file goes through submit_order ------------
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


# 11. Billing: per shipment, up front, or consolidated by period; credit notes ---------------------
def _billing_rule(customer) -> str:
    return invoicing.billing_profile_of(customer).rule


def bill_shipment(*, shipment, by, on: datetime.date | None = None, trail: str = "") -> Invoice | None:
    """Invoice a shipment's lines not billed yet, when the customer is billed per shipment:
    issue with its number, post to the AR ledger, then render and send after commit."""
    if _billing_rule(shipment.customer) != BillingProfile.Rule.EACH_SHIPMENT:
        return None
    lines = list(invoicing.billable_shipment_lines(shipment.lines.all()))
    if not lines:
        return None  # billed up front
    invoice = invoicing.create_invoice_for_shipment_lines(
        customer=shipment.customer, shipment_lines=lines, shipment=shipment
    )
    return issue_and_post(invoice=invoice, by=by, on=on, trail=trail)


def bill_up_front(*, order: SalesOrder, by) -> Invoice | None:
    """Customers billed up front (prepayment, services) get the whole order's invoice on approval."""
    if _billing_rule(order.customer) != BillingProfile.Rule.UP_FRONT:
        return None
    invoice = invoicing.create_up_front_invoice(order=order, by=by)
    return issue_and_post(invoice=invoice, by=by, trail=order.trail)


@flow_step
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
    # robust: the invoice is committed either way; a broker that is down is logged, not shown as
    # a failed issue, and o2c.tasks.requeue_stale_work publishes the work again when it is back.
    invoice_id = invoice.pk
    transaction.on_commit(lambda: invoicing_tasks.render_invoice_pdf.delay(invoice_id), robust=True)
    for log in invoicing.queue_sending(invoice=invoice, by=by):
        log_id = log.pk
        transaction.on_commit(lambda log_id=log_id: invoicing_tasks.deliver_invoice.delay(log_id), robust=True)


@flow_step
def resend(*, invoice: Invoice, by) -> list:
    """Send an issued invoice again on the customer's channels (a new send log entry each)."""
    logs = invoicing.queue_sending(invoice=invoice, by=by)
    for log in logs:
        log_id = log.pk
        transaction.on_commit(lambda log_id=log_id: invoicing_tasks.deliver_invoice.delay(log_id), robust=True)
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


@flow_step
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


# 12. Collections: pre-due reminders, the daily dunning run, approval, letters with their charges ---
def send_reminders(*, on: datetime.date) -> list[int]:
    """The day's pre-due reminders (Celery beat, daily): receivables plans them (skips
    recorded, one Reminder per invoice and moment, ever), then a worker emails each with the
    invoice PDF (rendered if missing) and its pay link. Returns the reminder ids queued."""
    from receivables import reminders
    from receivables import tasks as receivables_tasks

    with transaction.atomic():
        reminder_ids = reminders.plan(on=on)
        for reminder_id in reminder_ids:
            transaction.on_commit(lambda pk=reminder_id: receivables_tasks.deliver_reminder.delay(pk))
    return reminder_ids


def run_dunning(*, on: datetime.date, by=None):
    """The day's dunning run (Celery beat, daily): receivables plans letters and items (skips
    recorded); in automatic mode the run is approved at once and its letters queued, in
    preview mode it waits for a finance manager (approve_dunning_run). Run twice for a day, the
    second call returns the first run."""
    from receivables import dunning
    from receivables.models import CollectionsSettings, DunningRun

    with transaction.atomic():
        run = dunning.plan_run(on=on, by=by)
        automatic = CollectionsSettings.current().dunning_mode == "automatic"
        if automatic and run.status == DunningRun.Status.PREVIEW:
            run = approve_dunning_run(run=run, by=by)
    return run


@flow_step
def approve_dunning_run(*, run, by):
    """Preview -> approved; after commit a worker charges, renders and sends each letter
    (deliver_dunning_letter), one task per letter."""
    from receivables import dunning

    from . import tasks as o2c_tasks

    for letter_id in dunning.approve_run(run=run, by=by):
        transaction.on_commit(lambda pk=letter_id: o2c_tasks.deliver_dunning_letter.delay(pk))
    run.refresh_from_db()
    return run


def discard_dunning_run(*, run, by):
    from receivables import dunning

    return dunning.discard_run(run=run, by=by)


def deliver_dunning_letter(*, letter_id: int):
    """One approved letter: its fee and interest become a DUN charge document, issued on the
    run date and posted to the AR ledger (fee and interest income), in one short transaction;
    then receivables renders the letter and sends it on its level's channel (email, stored
    letter, or a call task), once. Safe to run twice: a charged letter is not charged again, a
    sent letter is not sent again."""
    from receivables import dunning

    with transaction.atomic():
        letter = dunning.lock_letter_for_charge(letter_id)
        if letter is not None:
            charge = invoicing.create_charge_invoice(
                customer=letter.customer,
                currency=letter.currency,
                lines=[invoicing.ChargeLine(text, amount) for text, amount in dunning.charge_lines(letter)],
                on=letter.run.run_date,
                trail=f"customer:{letter.customer_id}",
            )
            receivables.post_charge(charge=charge, fee=letter.fee, interest=letter.interest)
            dunning.attach_charge(letter=letter, charge=charge)
            charge_id = charge.pk
            transaction.on_commit(lambda: invoicing_tasks.render_invoice_pdf.delay(charge_id))
    return dunning.send_letter(letter_id=letter_id)


# 13. Disputes: opened (dunning leaves the amount alone) -> resolved, by credit note when accepted --
@flow_step
def open_dispute(*, invoice: Invoice, reason: str, by, **fields) -> Dispute:
    """A clerk or the customer (portal) disputes an invoice or some of its lines: receivables
    records it with the invoice's documents attached (reminders and dunning skip the disputed
    amount from now on), then credit counts it in the customer's open disputes. Raises
    DisputeError (nothing saved) when the amount, reason or invoice is wrong."""
    dispute = disputes.open_dispute(invoice=invoice, reason=reason, by=by, **fields)
    credit.count_open_disputes(customer_id=dispute.customer_id)
    return dispute


@flow_step
def resolve_dispute(
    *, dispute: Dispute, outcome: str, by, accepted_amount: Decimal | None = None, note: str = ""
) -> Dispute:
    """Close a dispute. Accepted in full or in part -> invoicing drafts a credit note for the
    accepted amount and issue_credit_note issues and posts it (the invoice's open amount goes
    down by it); the rest, on a partial acceptance or a rejection, is no longer disputed and
    dunning resumes on it; "paid" closes it with nothing credited. Then credit's count of open
    disputes follows. One transaction: a refused credit note leaves the dispute open."""
    dispute = Dispute.objects.select_for_update(of=("self",)).select_related("invoice__order").get(pk=dispute.pk)
    accepted = disputes.check_resolution(dispute=dispute, outcome=outcome, accepted_amount=accepted_amount, note=note)
    note_issued = None
    if accepted > 0:
        invoice = dispute.invoice
        reason = f"Dispute #{dispute.pk} ({dispute.get_reason_display().lower()}) accepted"
        if note.strip():
            reason += f": {note.strip()}"
        trail = disputes.trail_of(invoice)
        if accepted == invoice.total:  # exactly the whole invoice: credit every line, to the cent
            draft = invoicing.propose_credit_note(
                invoice=invoice,
                lines=[(line, line.quantity) for line in invoice.lines.all()],
                reason=reason,
                by=by,
                trail=trail,
            )
        else:
            draft = invoicing.propose_credit_note_for_amount(
                invoice=invoice, amount=accepted, reason=reason, by=by, trail=trail
            )
        note_issued = issue_credit_note(note=draft, by=by)
    dispute = disputes.record_resolution(
        dispute=dispute, outcome=outcome, by=by, accepted_amount=accepted, note=note, credit_note=note_issued
    )
    credit.count_open_disputes(customer_id=dispute.customer_id)
    return dispute
