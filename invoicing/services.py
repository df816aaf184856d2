"""Invoice writes: drafts from what shipped (or the order, up front), issue with a gapless
number per series and year, credit notes, stored documents, sending, and the one way an issued
invoice's open amount goes down (payments and credit notes, through receivables)."""

import datetime
import hashlib
import io
import os
import time
import zipfile
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Round
from django.utils import timezone

from fulfillment.models import Shipment, ShipmentLine
from o2c.core import numbering, timeline
from o2c.core.errors import DomainError
from o2c.core.money import round_money
from o2c.core.transactions import atomic
from orders.models import Customer, SalesOrder

from . import links, taxes, terms
from .einvoice import EInvoiceError
from .models import (
    BankAccount,
    BillingProfile,
    Company,
    DocumentBundle,
    Invoice,
    InvoiceDocument,
    InvoiceInstalment,
    InvoiceLine,
    InvoiceTaxLine,
    SendLog,
    TaxRate,
)
from .references import rf_reference

SERIES = {Invoice.Kind.INVOICE: "INV", Invoice.Kind.CREDIT_NOTE: "CN", Invoice.Kind.CHARGE: "DUN"}


class InvoicingError(DomainError):
    pass


# Master data the documents read ----------------------------------------------------------------
def current_company() -> Company:
    """The active seller; created from settings.O2C_COMPANY the first time (a fresh install)."""
    company = Company.objects.filter(is_active=True).first()
    if company:
        return company
    data = settings.O2C_COMPANY
    vat_id = data.get("vat_id", "")
    street, _, place = (data.get("address", "") + ",,").partition(",")
    postal_code, _, city = place.split(",")[0].strip().partition(" ")
    company, _ = Company.objects.get_or_create(
        is_active=True,
        defaults={
            "legal_name": data.get("name", ""),
            "address_line": street.strip(),
            "postal_code": postal_code,
            "city": city,
            "country": vat_id[:2] or "BE",
            "vat_id": vat_id,
            "registration_id": vat_id[2:],
            "email": data.get("email", ""),
            "einvoice_id": vat_id[2:],
            "legal_info": data.get("legal_info", ""),
        },
    )
    return company


def billing_profile_of(customer: Customer) -> BillingProfile:
    """Every customer has one; the default bills each shipment and emails the PDF."""
    return BillingProfile.objects.get_or_create(customer_id=customer.pk)[0]  # fresh: never a cached copy


def seller_snapshot(company: Company, currency: str) -> dict:
    bank = (  # the default account in the invoice's currency, else any default one
        BankAccount.objects.filter(is_default=True, is_active=True)
        .order_by(Case(When(currency=currency, then=Value(0)), default=Value(1)), "pk")
        .first()
    )
    iban = bank.iban if bank else settings.O2C_COMPANY.get("iban", "")
    return {
        "name": company.legal_name,
        "address_line": company.address_line,
        "postal_code": company.postal_code,
        "city": company.city,
        "country": company.country,
        "vat_id": company.vat_id,
        "registration_id": company.registration_id,
        "legal_info": company.legal_info,
        "email": company.email,
        "phone": company.phone,
        "website": company.website,
        "endpoint_scheme": company.einvoice_scheme,
        "endpoint_id": company.einvoice_id,
        "bank_name": bank.name if bank else "",
        "iban": iban,
        "bic": bank.bic if bank else settings.O2C_COMPANY.get("bic", ""),
    }


def buyer_snapshot(customer: Customer) -> dict:
    profile = billing_profile_of(customer)
    return {
        "name": customer.name,
        "account_number": customer.account_number,
        "address_line": customer.address_line,
        "postal_code": customer.postal_code,
        "city": customer.city,
        "country": customer.country,
        "vat_id": customer.tax_id,
        "email": profile.email or customer.email,
        "tax_treatment": customer.tax_treatment,
        "endpoint_scheme": profile.einvoice_scheme,
        "endpoint_id": profile.einvoice_id,
    }


def exemption_for(category: str) -> tuple[str, str]:
    """(reason, VATEX code) printed for a 0% category; admin can reword it in TaxRate."""
    if category in {"S", "Z"}:
        return "", ""
    row = TaxRate.objects.filter(category=category, is_active=True).exclude(exemption_reason="").first()
    if row:
        return row.exemption_reason, row.exemption_code
    return taxes.DEFAULT_EXEMPTIONS.get(category, ("", ""))


# Drafts -----------------------------------------------------------------------------------------
@dataclass
class DraftLine:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    category: str
    rate: Decimal
    order_line_id: int | None = None
    shipment_line_id: int | None = None
    delivery_reference: str = ""


def _line_from_order_line(order_line, customer: Customer, quantity: Decimal, **extra) -> DraftLine:
    product = order_line.product
    tax = taxes.line_tax(
        product_category=product.tax_category,
        product_rate=order_line.tax_rate,
        treatment=customer.tax_treatment,
        is_goods=product.is_stock_tracked,
    )
    return DraftLine(
        description=f"{product.sku} {order_line.description}",
        quantity=quantity,
        unit=product.unit,
        unit_price=order_line.unit_price,
        category=tax.category,
        rate=tax.rate,
        order_line_id=order_line.pk,
        **extra,
    )


def _new_draft(*, customer: Customer, orders: set, currency: str, **fields) -> Invoice:
    """Not saved yet: fill_lines() inserts it with its totals (one INSERT, no UPDATE after)."""
    first_order = next(iter(orders)) if len(orders) == 1 else None
    return Invoice(
        customer=customer,
        order=first_order,
        currency=currency,
        customer_po=", ".join(sorted({o.customer_po for o in orders if o.customer_po}))[:50],
        bill_to="\n".join([customer.name, *customer.address_lines]),
        payment_terms=customer.payment_terms.name,
        buyer=buyer_snapshot(customer),
        rounding_rule=current_company().rounding_rule,
        **fields,
    )


def fill_lines(*, invoice: Invoice, lines: list[DraftLine]) -> Invoice:
    """Write the lines, the tax breakdown and the totals of a draft, all from one computation.
    A draft not saved yet is inserted here, with its totals."""
    totals = taxes.compute_totals(
        [taxes.LineInput(line.quantity, line.unit_price, line.category, line.rate) for line in lines],
        currency=invoice.currency,
        rounding_rule=invoice.rounding_rule,
    )
    invoice.net_amount, invoice.tax_amount, invoice.total = totals.net_amount, totals.tax_amount, totals.total
    inserted = invoice._state.adding
    if inserted:
        invoice.save()
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            line_number=number,
            order_line_id=line.order_line_id,
            shipment_line_id=line.shipment_line_id,
            description=line.description[:200],
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            tax_rate=line.rate,
            tax_category=line.category,
            net_amount=net,
            tax_amount=tax,
            delivery_reference=line.delivery_reference,
        )
        for number, (line, (net, tax)) in enumerate(zip(lines, totals.lines, strict=True), start=1)
    )
    InvoiceTaxLine.objects.bulk_create(
        InvoiceTaxLine(
            invoice=invoice,
            category=row.category,
            rate=row.rate,
            taxable_amount=row.taxable_amount,
            tax_amount=row.tax_amount,
            exemption_reason=exemption_for(row.category)[0],
            exemption_code=exemption_for(row.category)[1],
        )
        for row in totals.breakdown
    )
    if not inserted:
        invoice.save(update_fields=["net_amount", "tax_amount", "total"])
    return invoice


def billable_shipment_lines(shipment_lines):
    """Shipment lines not billed yet, and not of an order line already billed up front."""
    return (
        shipment_lines.filter(invoice_line__isnull=True)
        .exclude(
            order_line__invoice_lines__shipment_line__isnull=True,
            order_line__invoice_lines__invoice__kind=Invoice.Kind.INVOICE,
        )
        .select_related("shipment", "order_line__order", "order_line__product")
    )


@atomic
def create_invoice_for_shipment(*, shipment: Shipment, by=None) -> Invoice:
    """A draft invoice for every line of the shipment not billed yet (a shipment line is
    billed once, ever: InvoiceLine.shipment_line is unique)."""
    lines = list(billable_shipment_lines(shipment.lines.all()))
    if not lines:
        raise InvoicingError(f"Everything in shipment {shipment} is already invoiced.")
    return create_invoice_for_shipment_lines(customer=shipment.customer, shipment_lines=lines, shipment=shipment)


@atomic
def create_invoice_for_shipment_lines(
    *,
    customer: Customer,
    shipment_lines: list[ShipmentLine],
    shipment: Shipment | None = None,
    period: tuple[datetime.date, datetime.date] | None = None,
) -> Invoice:
    """One draft for the given shipped lines of one customer (one shipment, or a period's)."""
    if not shipment_lines:
        raise InvoicingError(f"Nothing shipped to {customer} is waiting to be invoiced.")
    orders = {line.order_line.order for line in shipment_lines}
    currencies = {order.currency for order in orders}
    if len(currencies) > 1:
        raise InvoicingError(f"Shipments of {customer} in several currencies ({', '.join(sorted(currencies))}).")
    shipped_dates = [line.shipment.shipped_at for line in shipment_lines if line.shipment.shipped_at]
    invoice = _new_draft(
        customer=customer,
        orders=orders,
        currency=currencies.pop(),
        shipment=shipment,
        supply_date=timezone.localdate(max(shipped_dates)) if shipped_dates else None,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )
    return fill_lines(
        invoice=invoice,
        lines=[
            _line_from_order_line(
                line.order_line,
                customer,
                line.quantity,
                shipment_line_id=line.pk,
                delivery_reference=line.shipment.number,
            )
            for line in shipment_lines
        ],
    )


@atomic
def create_up_front_invoice(*, order: SalesOrder, by=None) -> Invoice:
    """Prepayment or services: a draft for the whole order before anything ships. Its
    shipments are then never billed again (see billable_shipment_lines)."""
    if order.invoices.filter(kind=Invoice.Kind.INVOICE).exists():
        raise InvoicingError(f"Order {order} is already invoiced.")
    lines = list(order.lines.select_related("product"))
    invoice = _new_draft(customer=order.customer, orders={order}, currency=order.currency)
    return fill_lines(
        invoice=invoice,
        lines=[_line_from_order_line(line, order.customer, line.quantity) for line in lines],
    )


@dataclass(frozen=True)
class ChargeLine:
    """One line of a dunning charge: a fee or the interest on one overdue invoice."""

    description: str
    amount: Decimal


@atomic
def create_charge_invoice(
    *, customer: Customer, currency: str, lines: list[ChargeLine], on: datetime.date, by=None, trail: str = ""
) -> Invoice:
    """Dunning fees and late-payment interest as their own open item: a CHARGE document in the
    DUN series, issued on `on`, every line outside the scope of VAT (category O, 0%, with the
    exemption text printed). Lines of zero are left out; nothing to charge is refused."""
    lines = [line for line in lines if line.amount]
    if any(line.amount < 0 for line in lines):
        raise InvoicingError("A dunning charge line cannot be negative.", [("charge", "amount", "not negative")])
    if not lines:
        raise InvoicingError("A dunning charge needs a fee or interest above zero.")
    draft = Invoice.objects.create(
        kind=Invoice.Kind.CHARGE,
        customer=customer,
        currency=currency,
        bill_to="\n".join([customer.name, *customer.address_lines]),
        payment_terms=customer.payment_terms.name,
        buyer=buyer_snapshot(customer),
        rounding_rule=current_company().rounding_rule,
        supply_date=on,
    )
    fill_lines(
        invoice=draft,
        lines=[DraftLine(line.description, Decimal("1"), "pc", line.amount, "O", Decimal("0")) for line in lines],
    )
    return issue_invoice(invoice=draft, by=by, on=on, trail=trail)


# Issue ----------------------------------------------------------------------------------------
def issue_invoice(*, invoice: Invoice, by=None, on: datetime.date | None = None, trail: str = "") -> Invoice:
    """Draft -> issued: dates, due date(s) and early-payment discount from the customer's
    terms, the seller's legal data frozen, the RF reference, and the gapless number of the
    series (INV or CN) and year, drawn last so the series row stays locked as briefly as possible."""
    with atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("customer__payment_terms", "credited_invoice")
            .get(pk=invoice.pk)
        )
        if invoice.status != Invoice.Status.DRAFT:
            raise InvoicingError(f"{invoice} is already {invoice.get_status_display().lower()}.")
        if invoice.total <= 0:
            raise InvoicingError("An invoice must have a total above zero; use a credit note to give money back.")
        issue_date = on or timezone.localdate()
        payment_terms = invoice.customer.payment_terms
        invoice.issue_date = issue_date
        invoice.supply_date = invoice.supply_date or issue_date
        invoice.seller = seller_snapshot(current_company(), invoice.currency)
        if invoice.is_credit_note:
            invoice.due_date = issue_date
            invoice.amount_open = Decimal("0")  # applied to the invoice it corrects, at once
        else:
            parts = [(p.percent, p.days, p.end_of_month) for p in payment_terms.instalments.all()]
            if parts:
                try:
                    schedule = terms.instalments(invoice.total, issue_date, parts, invoice.currency)
                except ValueError as error:
                    raise InvoicingError(
                        f"Payment terms {payment_terms}: {error} Fix them in admin.",
                        [("payment terms", "instalments", str(error))],
                    ) from error
                InvoiceInstalment.objects.bulk_create(
                    InvoiceInstalment(
                        invoice=invoice, sequence=i.sequence, due_date=i.due_date, percent=i.percent, amount=i.amount
                    )
                    for i in schedule
                )
                invoice.due_date = schedule[-1].due_date
            else:
                invoice.due_date = terms.due_date(
                    issue_date, days=payment_terms.net_days, from_end_of_month=payment_terms.end_of_month
                )
            discount = terms.early_payment_discount(
                invoice.total,
                issue_date,
                percent=payment_terms.discount_percent,
                days=payment_terms.discount_days,
                currency=invoice.currency,
            )
            if discount:
                invoice.discount_percent = discount.percent
                invoice.discount_date = discount.pay_by
                invoice.discount_amount = discount.amount
            invoice.amount_open = invoice.total
        invoice.status = Invoice.Status.ISSUED
        invoice.issued_by = by
        # The row is still a draft in the database here, so the guard lets this save through.
        invoice.number = numbering.next_number(prefix=SERIES[invoice.kind], year=issue_date.year)
        invoice.issued_at = timezone.now()  # after the series lock: number order is time order
        invoice.rf_reference = rf_reference(invoice.number)
        # The row is locked and still a draft: skip Invoice.save()'s is-it-issued query.
        models.Model.save(invoice)
        label = {"credit_note": "Credit note", "charge": "Dunning charge"}.get(invoice.kind, "Invoice")
        summary = (
            f"{label} {invoice.number} issued against {invoice.credited_invoice}"
            if invoice.is_credit_note
            else f"{label} {invoice.number} issued, due {invoice.due_date:%d %b %Y}"
        )
        timeline.record(invoice, "issued", summary=summary, trail=trail or f"invoice:{invoice.pk}", by=by)
    return invoice


def check_credit_note_fits(*, note: Invoice) -> Invoice:
    """A credit note may take off at most what is still open on its invoice: a larger one
    would leave a credit on account, which is refused here (refund or allocate it by hand)."""
    invoice = Invoice.objects.select_for_update().get(pk=note.credited_invoice_id)
    if invoice.status != Invoice.Status.ISSUED:
        raise InvoicingError(
            f"Invoice {invoice} is {invoice.get_status_display().lower()}: nothing is open to credit. "
            "A credit on account is not given automatically; record a refund instead.",
            [("credit note", "total", f"{invoice} has nothing open")],
        )
    if note.total > invoice.amount_open:
        raise InvoicingError(
            f"Credit note of {note.total} {note.currency} is more than the {invoice.amount_open} "
            f"{invoice.currency} still open on {invoice}; credit at most the open amount.",
            [("credit note", "total", f"at most {invoice.amount_open}")],
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


def _new_credit_note(*, invoice: Invoice, reason: str) -> Invoice:
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.DRAFT:
        raise InvoicingError(f"{invoice} is not an issued invoice; a credit note needs one.")
    if not reason.strip():
        raise InvoicingError("Say why the credit note is given.", [("credit note", "reason", "required")])
    return Invoice.objects.create(
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        reason=reason[:200],
        customer_id=invoice.customer_id,
        order_id=invoice.order_id,
        shipment_id=invoice.shipment_id,
        currency=invoice.currency,
        customer_po=invoice.customer_po,
        bill_to=invoice.bill_to,
        payment_terms=invoice.payment_terms,
        supply_date=invoice.supply_date,
        buyer=invoice.buyer,
        rounding_rule=invoice.rounding_rule,
    )


@atomic
def propose_credit_note(
    *, invoice: Invoice, lines: list[tuple[InvoiceLine, Decimal]], reason: str, by=None, trail: str = ""
) -> Invoice:
    """A draft credit note against an issued invoice for `quantity` of each given invoice line
    (a delivery shortfall, a return, an accepted dispute). Nothing is posted until it is issued."""
    if not lines:
        raise InvoicingError("A credit note needs at least one line.")
    note = _new_credit_note(invoice=invoice, reason=reason)
    draft_lines = []
    for line, quantity in lines:
        if line.invoice_id != invoice.pk:
            raise InvoicingError(f"Line {line.line_number} is not a line of {invoice}.")
        if not 0 < quantity <= line.quantity:
            raise InvoicingError(
                f"Line {line.line_number}: credit between 0 and {line.quantity}, not {quantity}.",
                [(f"line {line.line_number}", "quantity", f"between 0 and {line.quantity}")],
            )
        draft_lines.append(
            DraftLine(
                description=line.description,
                quantity=quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                category=line.tax_category,
                rate=line.tax_rate,
                order_line_id=line.order_line_id,
                delivery_reference=line.delivery_reference,
            )
        )
    fill_lines(invoice=note, lines=draft_lines)
    timeline.record(
        note,
        "proposed",
        summary=f"Credit note proposed against {invoice}: {reason}",
        trail=trail or f"invoice:{invoice.pk}",
        by=by,
    )
    return note


@atomic
def propose_credit_note_for_amount(
    *, invoice: Invoice, amount: Decimal, reason: str, by=None, trail: str = ""
) -> Invoice:
    """A draft credit note for a gross `amount` (a price adjustment, a goodwill gesture),
    spread over the invoice's VAT rates in proportion to their gross share, so each rate's
    tax is corrected. Its total is within a cent per rate of `amount`."""
    if amount <= 0:
        raise InvoicingError("The amount to credit must be above zero.", [("credit note", "amount", "above zero")])
    if amount > invoice.total:
        raise InvoicingError(
            f"{amount} {invoice.currency} is more than the invoice total of {invoice.total}.",
            [("credit note", "amount", f"at most {invoice.total}")],
        )
    note = _new_credit_note(invoice=invoice, reason=reason)
    rows = list(invoice.tax_lines.all())
    gross = [row.taxable_amount + row.tax_amount for row in rows]
    draft_lines, left = [], amount
    for index, (row, row_gross) in enumerate(zip(rows, gross, strict=True)):
        share = left if index == len(rows) - 1 else round_money(amount * row_gross / invoice.total, invoice.currency)
        left -= share
        net = _net_for_gross(share, row.rate, invoice.currency)
        if net <= 0:
            continue
        draft_lines.append(
            DraftLine(
                description=f"Price adjustment on {invoice.number}: {reason}",
                quantity=Decimal("1"),
                unit="pc",
                unit_price=net,
                category=row.category,
                rate=row.rate,
            )
        )
    fill_lines(invoice=note, lines=draft_lines)
    timeline.record(
        note,
        "proposed",
        summary=f"Credit note of {note.total} {note.currency} proposed against {invoice}: {reason}",
        trail=trail or f"invoice:{invoice.pk}",
        by=by,
    )
    return note


def _net_for_gross(gross: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The net amount whose net + rounded tax is `gross` to the cent when one exists
    (10.00 at 21%: 8.26 gives 9.99, 8.27 gives 10.00), else the nearest."""
    estimate = round_money(gross / (1 + rate), currency)
    cent = Decimal(1).scaleb(-2 if currency.upper() not in {"JPY", "KRW"} else 0)
    candidates = [estimate, estimate + cent, estimate - cent]
    return min(
        candidates, key=lambda net: (abs(net + round_money(net * rate, currency) - gross), candidates.index(net))
    )


# Documents ------------------------------------------------------------------------------------
def render_documents(*, invoice_id: int, kinds: tuple[str, ...] | None = None) -> list[InvoiceDocument]:
    """Render and store every document of an issued invoice not stored yet (PDF, UBL and
    Factur-X); a no-op for what is there, so a redelivered task does nothing twice."""
    from . import documents  # WeasyPrint loads only where documents are made

    invoice = Invoice.objects.get(pk=invoice_id)
    if invoice.number is None:
        return []  # drafts have no document
    wanted = kinds or tuple(InvoiceDocument.Kind.values)
    stored = {d.kind: d for d in InvoiceDocument.objects.filter(invoice_id=invoice_id)}
    made, missing = [], []
    for kind in wanted:
        if kind not in stored:
            try:
                content, filename = documents.render(invoice, kind)
            except EInvoiceError as error:  # the PDF still goes out; the clerk sees why the XML did not
                missing.append(f"{InvoiceDocument.Kind(kind).label}: {error}")
                continue
            _slow_render_for_chaos_tests()
            stored[kind] = store_document(invoice_id=invoice_id, kind=kind, content=content, filename=filename)
            made.append(stored[kind])
    if made or missing:
        summary = f"{invoice.number}: {', '.join(d.get_kind_display() for d in made) or 'nothing'} stored"
        timeline.record(
            invoice,
            "documents_rendered",
            summary=summary + "".join(f"; not made: {text}" for text in missing),
            trail=f"invoice:{invoice.pk}",
        )
    return [stored[kind] for kind in wanted if kind in stored]


def _slow_render_for_chaos_tests() -> None:
    # tests/invoicing/test_worker_chaos.py kills a worker in the middle of a render; this makes
    # "the middle" last long enough. Unset (0) everywhere else.
    delay = float(os.environ.get("O2C_RENDER_DELAY_SECONDS", "0") or 0)
    if delay:
        time.sleep(delay)


def _slow_send_for_chaos_tests() -> None:
    # tests/test_resilience_workers.py kills a worker after the documents are made and before
    # the SMTP conversation; this makes that moment last. Unset (0) everywhere else.
    delay = float(os.environ.get("O2C_SEND_DELAY_SECONDS", "0") or 0)
    if delay:
        time.sleep(delay)


# Sending ----------------------------------------------------------------------------------------
def queue_sending(*, invoice: Invoice, by=None) -> list[SendLog]:
    """One queued SendLog per channel of the customer's billing profile (portal when it has
    none); a worker delivers them after commit (o2c.tasks / invoicing.tasks.deliver)."""
    if invoice.status == Invoice.Status.DRAFT:
        raise InvoicingError(f"{invoice} is a draft; only issued documents are sent.")
    profile = billing_profile_of(invoice.customer)
    channels = []
    if profile.send_email:
        channels.append((SendLog.Channel.EMAIL, profile.email or invoice.customer.email))
    if profile.export_einvoice:
        channels.append((SendLog.Channel.EXPORT, f"{profile.einvoice_scheme}:{profile.einvoice_id}".strip(":")))
    if not channels:
        channels.append((SendLog.Channel.PORTAL, invoice.customer.account_number))
    return [
        SendLog.objects.create(invoice=invoice, channel=channel, recipient=recipient, requested_by=by)
        for channel, recipient in channels
    ]


def deliver(*, send_log_id: int) -> SendLog:
    """Deliver one queued SendLog: email with the profile's attachments, an e-invoice file in
    the export folder, or publication on the portal. Done once: a delivered log is left alone.
    An address the SMTP server refuses is flagged bounced on the billing profile."""
    import smtplib

    with transaction.atomic():
        log = SendLog.objects.select_for_update(skip_locked=True).filter(pk=send_log_id).first()
        if log is None or log.result != SendLog.Result.QUEUED:
            return log or SendLog.objects.get(pk=send_log_id)
        invoice = Invoice.objects.select_related("customer").get(pk=log.invoice_id)
        profile = billing_profile_of(invoice.customer)
        kinds = _kinds_for(profile, log.channel)
        documents = render_documents(invoice_id=invoice.pk, kinds=kinds)
        log.documents = ", ".join(_attachment_name(d) for d in documents)
        made = {d.kind for d in documents}
        lacking = ", ".join(InvoiceDocument.Kind(k).label for k in kinds if k not in made)
        try:
            if lacking and (log.channel == SendLog.Channel.EXPORT or not documents):
                raise InvoicingError(f"{lacking} could not be made; see the invoice's timeline.")
            if log.channel == SendLog.Channel.EMAIL:
                if profile.email_bounced:
                    raise InvoicingError(f"{log.recipient} bounced before ({profile.bounce_reason}); fix the address.")
                _slow_send_for_chaos_tests()
                _email(invoice, log.recipient, documents)
            elif log.channel == SendLog.Channel.EXPORT:
                _export(documents)
            log.result = SendLog.Result.SENT
            log.detail = "Delivered" if log.channel != SendLog.Channel.PORTAL else "Published on the portal"
            if lacking:
                log.detail += f" without {lacking} (could not be made; see the timeline)"
        except smtplib.SMTPRecipientsRefused as error:
            reason = "; ".join(
                f"{code} {message.decode(errors='replace')}" for code, message in error.recipients.values()
            )
            log.result, log.detail = SendLog.Result.BOUNCED, f"Refused by the mail server: {reason}"[:500]
            BillingProfile.objects.filter(pk=profile.pk).update(
                email_bounced=True, bounce_reason=reason[:300], bounced_at=timezone.now()
            )
        except (smtplib.SMTPException, OSError, InvoicingError) as error:
            log.result, log.detail = SendLog.Result.FAILED, str(error)[:500]
        log.sent_at = timezone.now()
        log.save()
        timeline.record(
            invoice,
            "sent" if log.result == SendLog.Result.SENT else "send_failed",
            summary=f"{invoice.number} {log.get_channel_display().lower()} to {log.recipient}: {log.get_result_display()}",
            trail=f"order:{invoice.order_id}" if invoice.order_id else f"invoice:{invoice.pk}",
            by=log.requested_by,
        )
    return log


def _kinds_for(profile: BillingProfile, channel: str) -> tuple[str, ...]:
    xml_kind = InvoiceDocument.Kind.FACTURX if profile.einvoice_format == "facturx" else InvoiceDocument.Kind.UBL
    if channel == SendLog.Channel.EXPORT:
        return (xml_kind,)
    if channel == SendLog.Channel.EMAIL:
        kinds = [InvoiceDocument.Kind.PDF] if profile.attach_pdf else []
        if profile.attach_xml:
            kinds.append(xml_kind)
        return tuple(kinds) or (InvoiceDocument.Kind.PDF,)
    return (InvoiceDocument.Kind.PDF,)


def _attachment_name(document: InvoiceDocument) -> str:
    number = document.invoice.number
    return {"pdf": f"{number}.pdf", "ubl": f"{number}.xml", "facturx": f"{number}-facturx.pdf"}[document.kind]


def _email(invoice: Invoice, recipient: str, documents: list[InvoiceDocument]) -> None:
    label = "Credit note" if invoice.is_credit_note else "Invoice"
    seller = invoice.seller.get("name", "")
    lines = [
        "Dear customer,",
        "",
        f"Please find attached {label.lower()} {invoice.number} of {invoice.issue_date:%d %b %Y} "
        f"for {invoice.total} {invoice.currency}.",
    ]
    if not invoice.is_credit_note:
        lines.append(f"It is due on {invoice.due_date:%d %b %Y}; please quote {invoice.rf_reference} when paying.")
        lines.append(f"Pay online: {links.pay_link(invoice)}")
        if invoice.discount_amount:
            lines.append(
                f"Pay {invoice.amount_with_discount} {invoice.currency} by {invoice.discount_date:%d %b %Y} "
                f"to take the {invoice.discount_percent}% early-payment discount."
            )
    lines += ["", "Kind regards,", seller]
    message = EmailMessage(
        subject=f"{label} {invoice.number} from {seller}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    for document in documents:
        content_type = "application/xml" if document.kind == "ubl" else "application/pdf"
        with document.file.open("rb") as handle:
            message.attach(_attachment_name(document), handle.read(), content_type)
    message.send(fail_silently=False)


def _export(documents: list[InvoiceDocument]) -> None:
    outbox = settings.VAR_DIR / "einvoice-outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    for document in documents:
        with document.file.open("rb") as handle:
            (outbox / _attachment_name(document)).write_bytes(handle.read())


# Bulk downloads ---------------------------------------------------------------------------------
def request_bundle(*, invoice_ids: list[int], by=None) -> DocumentBundle:
    ids = list(
        Invoice.objects.filter(pk__in=invoice_ids).exclude(status=Invoice.Status.DRAFT).values_list("pk", flat=True)
    )
    if not ids:
        raise InvoicingError("Choose at least one issued invoice to download.")
    return DocumentBundle.objects.create(invoice_ids=sorted(ids), requested_by=by)


def build_bundle(*, bundle_id: int) -> DocumentBundle:
    """Zip the PDFs of the bundle's invoices, rendering any missing, counting progress as it
    goes. Safe to run again: a finished bundle is left as it is."""
    bundle = DocumentBundle.objects.get(pk=bundle_id)
    if bundle.status == DocumentBundle.Status.DONE:
        return bundle
    DocumentBundle.objects.filter(pk=bundle_id).update(status=DocumentBundle.Status.RUNNING, done=0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for done, invoice_id in enumerate(bundle.invoice_ids, start=1):
            (document,) = render_documents(invoice_id=invoice_id, kinds=(InvoiceDocument.Kind.PDF,))
            with document.file.open("rb") as handle:
                archive.writestr(_attachment_name(document), handle.read())
            DocumentBundle.objects.filter(pk=bundle_id).update(done=done)
    bundle.refresh_from_db()
    bundle.file.save(f"invoices-{bundle.pk}.zip", ContentFile(buffer.getvalue()), save=False)
    bundle.status = DocumentBundle.Status.DONE
    bundle.save(update_fields=["file", "status"])
    return bundle


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
