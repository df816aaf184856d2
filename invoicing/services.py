"""Invoice writes: create from what shipped, issue with a gapless number, store documents,
and the one way an issued invoice's open amount goes down (payments, through receivables)."""

import datetime
import hashlib
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Round
from django.utils import timezone

from fulfillment.models import Shipment
from o2c.core import numbering, timeline
from o2c.core.errors import DomainError
from o2c.core.money import line_amounts

from .models import Invoice, InvoiceDocument, InvoiceLine


class InvoicingError(DomainError):
    pass


@transaction.atomic
def create_invoice_for_shipment(*, shipment: Shipment, by=None) -> Invoice:
    """A draft invoice for every line of the shipment not billed yet (a shipment line is
    billed once, ever: InvoiceLine.shipment_line is unique)."""
    lines = list(
        shipment.lines.filter(invoice_line__isnull=True).select_related("order_line__order", "order_line__product")
    )
    if not lines:
        raise InvoicingError(f"Everything in shipment {shipment} is already invoiced.")
    orders = {line.order_line.order for line in lines}
    first_order = next(iter(orders))
    customer = shipment.customer
    invoice = Invoice.objects.create(
        customer=customer,
        order=first_order if len(orders) == 1 else None,
        shipment=shipment,
        currency=first_order.currency,
        customer_po=", ".join(sorted({o.customer_po for o in orders if o.customer_po})),
        bill_to="\n".join([customer.name, *customer.address_lines]),
        payment_terms=customer.payment_terms.name,
        supply_date=timezone.localdate(shipment.shipped_at) if shipment.shipped_at else None,
    )
    invoice_lines = []
    for number, line in enumerate(lines, start=1):
        order_line = line.order_line
        net, tax, _ = line_amounts(line.quantity, order_line.unit_price, order_line.tax_rate, invoice.currency)
        invoice_lines.append(
            InvoiceLine(
                invoice=invoice,
                line_number=number,
                order_line=order_line,
                shipment_line=line,
                description=f"{order_line.product.sku} {order_line.description}",
                quantity=line.quantity,
                unit=order_line.product.unit,
                unit_price=order_line.unit_price,
                tax_rate=order_line.tax_rate,
                net_amount=net,
                tax_amount=tax,
            )
        )
    InvoiceLine.objects.bulk_create(invoice_lines)
    invoice.net_amount = sum((line.net_amount for line in invoice_lines), Decimal("0"))
    invoice.tax_amount = sum((line.tax_amount for line in invoice_lines), Decimal("0"))
    invoice.total = invoice.net_amount + invoice.tax_amount
    invoice.save(update_fields=["net_amount", "tax_amount", "total"])
    return invoice


def issue_invoice(*, invoice: Invoice, by=None, on: datetime.date | None = None, trail: str = "") -> Invoice:
    """Draft -> issued: dates, due date from the customer's terms, and the gapless number,
    drawn last so the series row stays locked for as short a time as possible."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("customer__payment_terms").get(pk=invoice.pk)
        if invoice.status != Invoice.Status.DRAFT:
            raise InvoicingError(f"Invoice {invoice} is already {invoice.get_status_display().lower()}.")
        if invoice.total <= 0:
            raise InvoicingError("An invoice must have a total above zero; use a credit note to give money back.")
        issue_date = on or timezone.localdate()
        invoice.issue_date = issue_date
        invoice.supply_date = invoice.supply_date or issue_date
        invoice.due_date = issue_date + datetime.timedelta(days=invoice.customer.payment_terms.net_days)
        invoice.amount_open = invoice.total
        invoice.status = Invoice.Status.ISSUED
        invoice.issued_at = timezone.now()
        invoice.issued_by = by
        invoice.number = numbering.next_number(prefix="INV", year=issue_date.year)
        invoice.save()
        timeline.record(
            invoice,
            "issued",
            summary=f"Invoice {invoice.number} issued, due {invoice.due_date:%d %b %Y}",
            trail=trail or f"invoice:{invoice.pk}",
            by=by,
        )
    return invoice


def reduce_open_amount(*, invoice_id: int, amount: Decimal) -> Invoice:
    """Take `amount` off the invoice's open amount in one guarded statement, so two payments
    racing for the same invoice can never take it below zero. Paid when nothing is left."""
    if amount <= 0:
        raise InvoicingError("The amount to apply must be above zero.")
    updated = Invoice.objects.filter(pk=invoice_id, status=Invoice.Status.ISSUED, amount_open__gte=amount).update(
        amount_open=Round(F("amount_open") - amount, 2),  # SQLite subtracts as floating point
        status=Case(When(amount_open=amount, then=Value(Invoice.Status.PAID)), default=F("status")),
    )
    invoice = Invoice.objects.get(pk=invoice_id)
    if not updated:
        if invoice.status == Invoice.Status.DRAFT:
            raise InvoicingError(f"{invoice} is a draft; only issued invoices can be paid.")
        raise InvoicingError(
            f"Invoice {invoice} has {invoice.amount_open} {invoice.currency} open; {amount} {invoice.currency} cannot be applied."
        )
    return invoice


def store_document(*, invoice_id: int, kind: str, content: bytes, filename: str) -> InvoiceDocument:
    """Keep a rendered file once. A second render of the same invoice finds the stored one."""
    existing = InvoiceDocument.objects.filter(invoice_id=invoice_id, kind=kind).first()
    if existing:
        return existing
    document = InvoiceDocument(
        invoice_id=invoice_id, kind=kind, sha256=hashlib.sha256(content).hexdigest(), size=len(content)
    )
    document.file.save(filename, ContentFile(content), save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:  # a parallel render stored it first; keep theirs
        document.file.delete(save=False)
        return InvoiceDocument.objects.get(invoice_id=invoice_id, kind=kind)
    return document


@transaction.atomic
def propose_credit_note(
    *, invoice: Invoice, lines: list[tuple[InvoiceLine, Decimal]], reason: str, by=None, trail: str = ""
) -> Invoice:
    """A draft credit note against an issued invoice for `quantity` of each given invoice line
    (a delivery shortfall, a return, an accepted dispute). Nothing is posted until it is issued."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.DRAFT:
        raise InvoicingError(f"{invoice} is not an issued invoice; a credit note needs one.")
    if not lines:
        raise InvoicingError("A credit note needs at least one line.")
    note = Invoice.objects.create(
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        reason=reason,
        customer_id=invoice.customer_id,
        order_id=invoice.order_id,
        shipment_id=invoice.shipment_id,
        currency=invoice.currency,
        customer_po=invoice.customer_po,
        bill_to=invoice.bill_to,
        payment_terms=invoice.payment_terms,
        supply_date=invoice.supply_date,
    )
    note_lines = []
    for number, (line, quantity) in enumerate(lines, start=1):
        if line.invoice_id != invoice.pk:
            raise InvoicingError(f"Line {line.line_number} is not a line of {invoice}.")
        if not 0 < quantity <= line.quantity:
            raise InvoicingError(f"Line {line.line_number}: credit between 0 and {line.quantity}, not {quantity}.")
        net, tax, _ = line_amounts(quantity, line.unit_price, line.tax_rate, invoice.currency)
        note_lines.append(
            InvoiceLine(
                invoice=note,
                line_number=number,
                order_line_id=line.order_line_id,
                description=line.description,
                quantity=quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                net_amount=net,
                tax_amount=tax,
            )
        )
    InvoiceLine.objects.bulk_create(note_lines)
    note.net_amount = sum((line.net_amount for line in note_lines), Decimal("0"))
    note.tax_amount = sum((line.tax_amount for line in note_lines), Decimal("0"))
    note.total = note.net_amount + note.tax_amount
    note.save(update_fields=["net_amount", "tax_amount", "total"])
    timeline.record(
        note,
        "proposed",
        summary=f"Credit note proposed against {invoice}: {reason}",
        trail=trail or f"invoice:{invoice.pk}",
        by=by,
    )
    return note


def import_open_invoice(
    *,
    customer,
    number: str,
    issue_date: datetime.date,
    due_date: datetime.date,
    currency: str,
    total: Decimal,
    open_amount: Decimal,
) -> tuple[Invoice, bool]:
    """Go-live: an invoice issued in the old system, kept under its legacy number, with no lines
    and the open amount as given. Returns (invoice, created); the same number again is found,
    not duplicated, and refused when it belongs to another customer or differs in its total."""
    if total <= 0 or not 0 < open_amount <= total:
        raise InvoicingError(
            f"Invoice {number}: the open amount must be above zero and at most the total ({total}).",
            [(number, "open_amount", f"between 0.01 and {total}")],
        )
    existing = Invoice.objects.filter(number=number).first()
    if existing:
        if existing.customer_id != customer.pk or existing.total != total or existing.currency != currency:
            raise InvoicingError(
                f"Invoice {number} already exists for {existing.customer} with total {existing.total} "
                f"{existing.currency}; nothing was changed.",
                [(number, "invoice_number", "already used")],
            )
        return existing, False
    invoice = Invoice.objects.create(
        customer=customer,
        number=number,
        status=Invoice.Status.ISSUED,
        currency=currency,
        bill_to="\n".join([customer.name, *customer.address_lines]),
        payment_terms=customer.payment_terms.name,
        issue_date=issue_date,
        supply_date=issue_date,
        due_date=due_date,
        net_amount=total,
        tax_amount=Decimal("0"),
        total=total,
        amount_open=open_amount,
        issued_at=timezone.now(),
    )
    return invoice, True
