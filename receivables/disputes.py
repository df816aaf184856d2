"""Disputes: a customer questions an invoice (or some of its lines); the amount disputed is
kept out of reminders and dunning until AR resolves it.

Open -> under review -> resolved (credit note, partly accepted, rejected, or paid). Opening and
resolving with a credit note are strung together with invoicing by o2c.flow (open_dispute,
resolve_dispute); the functions here write only the dispute's own rows. Every step leaves a
timeline event on the invoice's trail.
"""

import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from fulfillment.models import ProofOfDelivery, Shipment
from invoicing.models import Invoice, InvoiceLine
from o2c.core import timeline
from o2c.core.errors import DomainError
from o2c.core.money import round_money

from .models import CollectorAssignment, Dispute, DisputeAttachment, DisputeLine, DisputeMessage

ZERO = Decimal("0")
DEFAULT_DUE_DAYS = 14
DEFAULT_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
# What an upload may be, judged by its first bytes (never by its name or the browser's word).
SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
]
OPEN_STATUSES = (Dispute.Status.OPEN, Dispute.Status.UNDER_REVIEW)


class DisputeError(DomainError):
    pass


@dataclass(frozen=True)
class DisputedLine:
    """One invoice line questioned: a quantity (its gross share is the amount), an amount, or
    neither (the whole line)."""

    invoice_line_id: int
    quantity: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    content: bytes
    content_type: str


def trail_of(invoice: Invoice) -> str:
    return invoice.order.trail if invoice.order_id else f"invoice:{invoice.pk}"


def due_days() -> int:
    return getattr(settings, "O2C_DISPUTE_DUE_DAYS", DEFAULT_DUE_DAYS)


def upload_limit() -> int:
    return getattr(settings, "O2C_DISPUTE_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES)


# --- uploads ------------------------------------------------------------------------------------
def check_upload(upload) -> CheckedUpload:
    """A PDF, PNG or JPEG by its content, no larger than O2C_DISPUTE_UPLOAD_MAX_BYTES; an image
    must open as one. Raises DisputeError naming the file otherwise."""
    limit = upload_limit()
    name = (getattr(upload, "name", "") or "attachment").rsplit("/", 1)[-1][:200]
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _bad_file(name, f"it is {size / 1048576:.1f} MB; at most {limit / 1048576:.0f} MB is accepted")
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise _bad_file(name, f"it is larger than {limit / 1048576:.0f} MB")
    for magic, content_type, _extension in SIGNATURES:
        if content.startswith(magic):
            if content_type.startswith("image/"):
                _verify_image(name, content)
            return CheckedUpload(name=name, content=content, content_type=content_type)
    raise _bad_file(name, "only PDF, PNG or JPEG files are accepted (judged by the content, not the name)")


def _verify_image(name: str, content: bytes) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        raise _bad_file(name, "the image is damaged or not really an image") from None


def _bad_file(name: str, text: str) -> DisputeError:
    return DisputeError(f"The file {name} was refused: {text}.", [("attachment", "file", f"{name}: {text}")])


def _store_uploads(dispute: Dispute, uploads, *, message: DisputeMessage | None, by) -> list[DisputeAttachment]:
    stored = []
    for upload in uploads:
        checked = upload if isinstance(upload, CheckedUpload) else check_upload(upload)
        attachment = DisputeAttachment(
            dispute=dispute,
            message=message,
            source=DisputeAttachment.Source.UPLOAD,
            name=checked.name,
            content_type=checked.content_type,
            size=len(checked.content),
            uploaded_by=by if by is not None and by.is_authenticated else None,
        )
        attachment.file.save(checked.name, ContentFile(checked.content), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


# --- opening ------------------------------------------------------------------------------------
def _default_owner(customer_id: int):
    assignment = (
        CollectorAssignment.objects.filter(customer_id=customer_id, collector__is_active=True)
        .select_related("collector__user")
        .first()
    )
    return assignment.collector.user if assignment else None


def _line_amounts(invoice: Invoice, lines: list[DisputedLine]) -> list[tuple[InvoiceLine, Decimal | None, Decimal]]:
    """(invoice line, quantity, gross amount) per disputed line, or DisputeError naming each bad line."""
    by_id = {line.pk: line for line in invoice.lines.all()}
    problems, result, seen = [], [], set()
    for index, wanted in enumerate(lines, start=1):
        line = by_id.get(wanted.invoice_line_id)
        if line is None:
            problems.append((f"line {index}", "invoice line", f"not a line of {invoice}"))
            continue
        where = f"line {line.line_number}"
        if line.pk in seen:
            problems.append((where, "invoice line", "chosen twice"))
            continue
        seen.add(line.pk)
        gross = line.net_amount + line.tax_amount
        quantity, amount = wanted.quantity, wanted.amount
        if quantity is not None and not ZERO < quantity <= line.quantity:
            problems.append((where, "quantity", f"between 0 and {line.quantity.normalize():f}, not {quantity}"))
            continue
        if amount is None:
            amount = gross if quantity is None else round_money(gross * quantity / line.quantity, invoice.currency)
        if not ZERO < amount <= gross:
            problems.append((where, "amount", f"above 0 and at most the line's {gross} {invoice.currency}"))
            continue
        result.append((line, quantity, amount))
    if problems:
        raise DisputeError("The dispute was not opened.", problems)
    return result


@transaction.atomic
def open_dispute(
    *,
    invoice: Invoice,
    reason: str,
    by=None,
    amount: Decimal | None = None,
    lines: list[DisputedLine] | None = None,
    description: str = "",
    owner=None,
    due_date: datetime.date | None = None,
    in_portal: bool = False,
    uploads=(),
) -> Dispute:
    """A dispute on an issued invoice, whole (amount: default its open amount) or on chosen
    lines (amount: the sum of theirs). Guarantees: the amount is above zero and at most what is
    open; an invoice has one dispute open at a time (the invoice row is locked, so two clerks
    cannot both open one); the owner defaults to the customer's collector and the due date to
    O2C_DISPUTE_DUE_DAYS days ahead; the invoice PDF, the sales order and each shipment's proof
    of delivery and bill of lading are attached as links; uploads are checked before anything is
    saved. Raises DisputeError naming the field, and nothing is saved, otherwise."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("order").get(pk=invoice.pk)
    problems = []
    if invoice.kind == Invoice.Kind.CREDIT_NOTE:
        problems.append(("dispute", "invoice", f"{invoice} is a credit note; dispute the invoice it corrects"))
    elif invoice.status != Invoice.Status.ISSUED or invoice.amount_open <= 0:
        problems.append(("dispute", "invoice", f"{invoice} is {invoice.get_status_display().lower()}: nothing is open"))
    if reason not in Dispute.Reason.values:
        problems.append(("dispute", "reason", f"choose one of {', '.join(Dispute.Reason.values)}"))
    if reason == Dispute.Reason.OTHER and not description.strip():
        problems.append(("dispute", "description", "say what is wrong when the reason is 'other'"))
    already = Dispute.objects.filter(invoice=invoice, status__in=OPEN_STATUSES).first()
    if already is not None:
        problems.append(("dispute", "invoice", f"dispute #{already.pk} on {invoice} is still open; add to it instead"))
    if problems:
        raise DisputeError("The dispute was not opened.", problems)
    chosen = _line_amounts(invoice, list(lines)) if lines else []
    if chosen:
        amount = sum((line_amount for _, _, line_amount in chosen), ZERO)
    elif amount is None:
        amount = invoice.amount_open
    if amount <= 0:
        raise DisputeError("The dispute was not opened.", [("dispute", "amount", "must be above zero")])
    if amount > invoice.amount_open:
        raise DisputeError(
            "The dispute was not opened.",
            [("dispute", "amount", f"at most the {invoice.amount_open} {invoice.currency} still open, not {amount}")],
        )
    checked = [check_upload(upload) for upload in uploads]  # all refused before any row is written
    opened_on = timezone.localdate()
    dispute = Dispute.objects.create(
        invoice=invoice,
        customer_id=invoice.customer_id,
        reason=reason,
        amount=amount,
        description=description.strip(),
        owner=owner if owner is not None else _default_owner(invoice.customer_id),
        due_date=due_date or opened_on + datetime.timedelta(days=due_days()),
        opened_by=by if by is not None and by.is_authenticated else None,
        opened_in_portal=in_portal,
    )
    DisputeLine.objects.bulk_create(
        DisputeLine(dispute=dispute, invoice_line=line, quantity=quantity, amount=line_amount)
        for line, quantity, line_amount in chosen
    )
    attach_documents(dispute=dispute)
    message = None
    if dispute.description or checked:
        message = DisputeMessage.objects.create(
            dispute=dispute,
            author=dispute.opened_by,
            from_customer=in_portal,
            body=dispute.description or "Attachments added when the dispute was opened.",
        )
    _store_uploads(dispute, checked, message=message, by=by)
    where = " in the customer portal" if in_portal else ""
    on_lines = f" on {len(chosen)} line{'s' if len(chosen) != 1 else ''}" if chosen else ""
    timeline.record(
        dispute,
        "dispute_opened",
        summary=f"Dispute #{dispute.pk} opened{where}: {dispute.get_reason_display().lower()}, "
        f"{amount} {invoice.currency} of {invoice.number}{on_lines}",
        trail=trail_of(invoice),
        by=by,
        note=dispute.description,
    )
    if in_portal:
        _tell_ar(dispute, message, by=by)
    return dispute


def attach_documents(*, dispute: Dispute) -> list[DisputeAttachment]:
    """Link the invoice PDF, its sales order, and each of its shipments' proof of delivery and
    bill of lading. Links name the document (kind:id) and are opened when downloaded, so a PDF
    still being rendered is attached too. Attaching twice adds nothing."""
    invoice = dispute.invoice
    wanted = [(DisputeAttachment.Source.INVOICE, f"Invoice {invoice.number} (PDF)", f"invoice:{invoice.pk}")]
    if invoice.order_id:
        wanted.append(
            (DisputeAttachment.Source.ORDER, f"Sales order {invoice.order.number}", f"order:{invoice.order_id}")
        )
    shipments = Shipment.objects.filter(
        pk__in=set(
            InvoiceLine.objects.filter(invoice=invoice, shipment_line__isnull=False).values_list(
                "shipment_line__shipment_id", flat=True
            )
        )
        | ({invoice.shipment_id} if invoice.shipment_id else set())
    ).order_by("pk")
    proofs = {p.shipment_id: p for p in ProofOfDelivery.objects.filter(shipment__in=shipments)}
    for shipment in shipments:
        proof = proofs.get(shipment.pk)
        if proof is not None:
            wanted.append(
                (
                    DisputeAttachment.Source.PROOF_OF_DELIVERY,
                    f"Proof of delivery {shipment.number}, signed by {proof.signer_name}",
                    f"pod:{proof.pk}",
                )
            )
        if shipment.kind == Shipment.Kind.GOODS:
            wanted.append(
                (DisputeAttachment.Source.BILL_OF_LADING, f"Bill of lading {shipment.number}", f"bol:{shipment.pk}")
            )
    have = set(dispute.attachments.exclude(link="").values_list("link", flat=True))
    return DisputeAttachment.objects.bulk_create(
        DisputeAttachment(dispute=dispute, source=source, name=name[:200], link=link)
        for source, name, link in wanted
        if link not in have
    )


# --- the conversation ---------------------------------------------------------------------------
@transaction.atomic
def add_message(*, dispute: Dispute, body: str, by, from_customer: bool = False, uploads=()) -> DisputeMessage:
    """A message in the dispute's thread, from AR or from the customer, with checked uploads.
    Refused on a resolved dispute (raise a new one) and when empty."""
    dispute = Dispute.objects.select_for_update(of=("self",)).select_related("invoice__order").get(pk=dispute.pk)
    if dispute.status == Dispute.Status.RESOLVED:
        raise DisputeError(
            f"Dispute #{dispute.pk} is resolved; raise a new one if something is still wrong.",
            [("message", "dispute", "already resolved")],
        )
    checked = [check_upload(upload) for upload in uploads]
    if not body.strip() and not checked:
        raise DisputeError("The message was not sent.", [("message", "body", "write a message or attach a file")])
    message = DisputeMessage.objects.create(
        dispute=dispute,
        author=by if by is not None and by.is_authenticated else None,
        from_customer=from_customer,
        body=body.strip() or "(attachment)",
    )
    _store_uploads(dispute, checked, message=message, by=by)
    who = "the customer" if from_customer else "AR"
    files = f" with {len(checked)} attachment{'s' if len(checked) != 1 else ''}" if checked else ""
    timeline.record(
        message,
        "dispute_message",
        summary=f"Message from {who} on dispute #{dispute.pk}{files}",
        trail=trail_of(dispute.invoice),
        by=by,
    )
    if from_customer:
        _tell_ar(dispute, message, by=by)
    return message


def _tell_ar(dispute: Dispute, message: DisputeMessage | None, *, by) -> None:
    """Email the dispute's owner (else the AR mailbox) when the customer writes."""
    recipient = (dispute.owner.email if dispute.owner_id and dispute.owner.email else "") or settings.O2C_COMPANY[
        "email"
    ]
    customer = dispute.customer.name
    body = message.body if message is not None else dispute.description
    link = f"{settings.O2C_PUBLIC_URL}/receivables/disputes/{dispute.pk}/"
    subject = f"Dispute #{dispute.pk} on {dispute.invoice.number}: {customer} wrote"
    text = f"{customer} wrote on dispute #{dispute.pk} ({dispute.get_reason_display().lower()}):\n\n{body}\n\n{link}\n"
    transaction.on_commit(
        lambda: send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient], fail_silently=True)
    )


@transaction.atomic
def mark_read(*, dispute: Dispute, by_customer: bool) -> int:
    """The reader saw the other side's messages: stamp those not read yet. Returns how many."""
    return DisputeMessage.objects.filter(dispute=dispute, from_customer=not by_customer, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- working it ---------------------------------------------------------------------------------
@transaction.atomic
def assign(*, dispute: Dispute, owner, by, due_date: datetime.date | None = None) -> Dispute:
    """A new owner (None: unassigned) and optionally a new resolve-by date."""
    dispute = Dispute.objects.select_for_update(of=("self",)).select_related("invoice__order").get(pk=dispute.pk)
    if dispute.status == Dispute.Status.RESOLVED:
        raise DisputeError(f"Dispute #{dispute.pk} is resolved.", [("dispute", "owner", "already resolved")])
    dispute.owner = owner
    if due_date is not None:
        dispute.due_date = due_date
    dispute.save(update_fields=["owner", "due_date"])
    who = (owner.get_full_name() or owner.get_username()) if owner is not None else "nobody"
    timeline.record(
        dispute,
        "dispute_assigned",
        summary=f"Dispute #{dispute.pk} assigned to {who}, resolve by {dispute.due_date}",
        trail=trail_of(dispute.invoice),
        by=by,
    )
    return dispute


@transaction.atomic
def start_review(*, dispute: Dispute, by) -> Dispute:
    """Open -> under review (AR is looking into it)."""
    dispute = Dispute.objects.select_for_update(of=("self",)).select_related("invoice__order").get(pk=dispute.pk)
    if dispute.status != Dispute.Status.OPEN:
        raise DisputeError(
            f"Dispute #{dispute.pk} is {dispute.get_status_display().lower()}; only an open one goes under review.",
            [("dispute", "status", dispute.get_status_display().lower())],
        )
    dispute.status = Dispute.Status.UNDER_REVIEW
    if dispute.owner_id is None and by is not None and by.is_authenticated:
        dispute.owner = by
    dispute.save(update_fields=["status", "owner"])
    timeline.record(
        dispute, "dispute_review", summary=f"Dispute #{dispute.pk} under review", trail=trail_of(dispute.invoice), by=by
    )
    return dispute


# --- resolving ----------------------------------------------------------------------------------
def check_resolution(
    *, dispute: Dispute, outcome: str, accepted_amount: Decimal | None, note: str, credited: bool = False
) -> Decimal:
    """The accepted amount the outcome means (credit note: all of it; partial: between 0 and the
    disputed amount, exclusive; rejected / paid: 0), at most what is still open on the invoice
    (unless `credited`: its credit note is already issued), or DisputeError naming the field."""
    invoice = dispute.invoice
    if dispute.status == Dispute.Status.RESOLVED:
        raise DisputeError(f"Dispute #{dispute.pk} is already resolved.", [("resolution", "dispute", "resolved")])
    if outcome not in Dispute.Resolution.values:
        raise DisputeError(
            "The dispute was not resolved.",
            [("resolution", "outcome", f"choose one of {', '.join(Dispute.Resolution.values)}")],
        )
    problems = []
    if outcome == Dispute.Resolution.CREDIT_NOTE:
        accepted = dispute.amount
    elif outcome == Dispute.Resolution.PARTIAL:
        accepted = accepted_amount if accepted_amount is not None else ZERO
        if not ZERO < accepted < dispute.amount:
            problems.append(
                (
                    "resolution",
                    "accepted amount",
                    f"above 0 and below the disputed {dispute.amount} {invoice.currency} for a partial acceptance",
                )
            )
    else:
        accepted = ZERO
    if outcome in (Dispute.Resolution.PARTIAL, Dispute.Resolution.REJECTED) and not note.strip():
        problems.append(("resolution", "note", "say why (the customer sees it)"))
    if not credited and accepted > invoice.amount_open:
        problems.append(
            (
                "resolution",
                "accepted amount",
                f"at most the {invoice.amount_open} {invoice.currency} still open on {invoice}",
            )
        )
    if problems:
        raise DisputeError("The dispute was not resolved.", problems)
    return accepted


@transaction.atomic
def record_resolution(
    *,
    dispute: Dispute,
    outcome: str,
    by,
    accepted_amount: Decimal | None = None,
    note: str = "",
    credit_note: Invoice | None = None,
) -> Dispute:
    """Close the dispute with its outcome (o2c.flow.resolve_dispute issues the credit note
    first when one is due). What was not accepted is no longer disputed: dunning resumes on it."""
    dispute = Dispute.objects.select_for_update(of=("self",)).select_related("invoice__order").get(pk=dispute.pk)
    accepted = check_resolution(
        dispute=dispute, outcome=outcome, accepted_amount=accepted_amount, note=note, credited=credit_note is not None
    )
    if accepted > 0 and credit_note is None:
        raise DisputeError("Accepting an amount needs its credit note; resolve through o2c.flow.resolve_dispute.")
    dispute.status = Dispute.Status.RESOLVED
    dispute.resolution = outcome
    dispute.accepted_amount = accepted
    dispute.credit_note = credit_note
    dispute.resolution_note = note.strip()[:300]
    dispute.resolved_by = by if by is not None and by.is_authenticated else None
    dispute.resolved_at = timezone.now()
    dispute.save(
        update_fields=[
            "status",
            "resolution",
            "accepted_amount",
            "credit_note",
            "resolution_note",
            "resolved_by",
            "resolved_at",
        ]
    )
    currency = dispute.invoice.currency
    summary = f"Dispute #{dispute.pk} resolved: {dispute.get_resolution_display().lower()}"
    if credit_note is not None:
        summary += f", credit note {credit_note.number} of {credit_note.total} {currency}"
    rejected = dispute.amount - accepted
    if rejected > 0 and outcome != Dispute.Resolution.PAID:
        summary += f"; {rejected} {currency} rejected, dunning resumes on it"
    timeline.record(
        dispute,
        "dispute_resolved",
        summary=summary,
        trail=trail_of(dispute.invoice),
        by=by,
        note=dispute.resolution_note,
    )
    return dispute
