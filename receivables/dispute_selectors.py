"""Reads about disputes: the staff list with its filters, one dispute with everything its page
shows, the disputed amount per invoice (what dunning leaves alone), and reason statistics."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, QuerySet, Sum

from fulfillment.models import ProofOfDelivery, ShipmentDocument
from invoicing.models import InvoiceDocument
from o2c.core.models import TimelineEvent

from .models import Dispute, DisputeAttachment, DisputeMessage

OPEN = (Dispute.Status.OPEN, Dispute.Status.UNDER_REVIEW)
LIST_ORDER = ("-id",)


def disputes_list(
    *, status: str = "", reason: str = "", owner: str = "", overdue_on: datetime.date | None = None, customer_id=None
) -> QuerySet:
    """Disputes for the staff list. owner: a user id, "me:<id>" is the same, "none" = unassigned.
    overdue_on: only unresolved disputes whose resolve-by date is before that day."""
    rows = Dispute.objects.select_related("invoice", "customer", "owner").annotate(
        attachment_count=Count("attachments", distinct=True)
    )
    if status in Dispute.Status.values:
        rows = rows.filter(status=status)
    elif status == "unresolved":
        rows = rows.filter(status__in=OPEN)
    if reason in Dispute.Reason.values:
        rows = rows.filter(reason=reason)
    if owner == "none":
        rows = rows.filter(owner__isnull=True)
    elif owner.isdigit():
        rows = rows.filter(owner_id=int(owner))
    if overdue_on is not None:
        rows = rows.filter(status__in=OPEN, due_date__lt=overdue_on)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows


def dispute_detail(pk: int, *, customer_id=None):
    """One dispute with its invoice, lines, attachments and thread (a fixed number of queries)."""
    rows = Dispute.objects.select_related(
        "invoice", "invoice__order", "customer", "owner", "opened_by", "resolved_by", "credit_note"
    )
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows.get(pk=pk)


def lines_of(dispute: Dispute):
    return dispute.lines.select_related("invoice_line").order_by("invoice_line__line_number")


def attachments_of(dispute: Dispute):
    return DisputeAttachment.objects.filter(dispute=dispute).select_related("uploaded_by").order_by("uploaded_at", "id")


def messages_of(dispute: Dispute):
    return DisputeMessage.objects.filter(dispute=dispute).select_related("author").order_by("created_at", "id")


def events_of(dispute: Dispute):
    """The dispute's own timeline events (opened, assigned, under review, resolved)."""
    return TimelineEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Dispute), object_id=dispute.pk
    ).select_related("actor")


def open_dispute_of(invoice) -> Dispute | None:
    return Dispute.objects.filter(invoice=invoice, status__in=OPEN).first()


def disputed_amounts(invoice_ids=None) -> dict[int, Decimal]:
    """The amount under dispute per invoice (unresolved disputes only): what reminders and
    dunning must skip. Invoices without an open dispute are absent. None: every invoice (a
    batch too large for an IN list reads them all; there are few open disputes)."""
    disputes = Dispute.objects.filter(status__in=OPEN)
    if invoice_ids is not None:
        disputes = disputes.filter(invoice_id__in=invoice_ids)
    rows = disputes.values("invoice_id").annotate(total=Sum("amount")).order_by()
    return {row["invoice_id"]: row["total"] for row in rows}


def open_dispute_count(customer_id: int) -> int:
    return Dispute.objects.filter(customer_id=customer_id, status__in=OPEN).count()


def unread_for_customer(customer_id: int) -> int:
    """Messages from AR the customer has not read yet (the portal home shows the number)."""
    return DisputeMessage.objects.filter(
        dispute__customer_id=customer_id, from_customer=False, read_at__isnull=True
    ).count()


def dispute_reason_stats(period: tuple[datetime.date, datetime.date]) -> list[dict]:
    """Per reason: disputes opened in the period (first and last day included), their disputed
    and accepted amounts, and how many are resolved. Every reason is listed, zero or not; one
    query. Amounts are summed as booked (one currency per row is the caller's business)."""
    start, end = period
    rows = {
        row["reason"]: row
        for row in Dispute.objects.filter(opened_at__date__gte=start, opened_at__date__lte=end)
        .values("reason")
        .annotate(
            count=Count("id"),
            amount=Sum("amount"),
            accepted=Sum("accepted_amount"),
            resolved=Count("id", filter=Q(status=Dispute.Status.RESOLVED)),
        )
        .order_by()
    }
    zero = Decimal("0.00")
    return [
        {
            "reason": value,
            "label": label,
            "count": rows.get(value, {}).get("count", 0),
            "amount": rows.get(value, {}).get("amount") or zero,
            "accepted": rows.get(value, {}).get("accepted") or zero,
            "resolved": rows.get(value, {}).get("resolved", 0),
        }
        for value, label in Dispute.Reason.choices
    ]


@dataclass(frozen=True)
class AttachmentTarget:
    """What downloading an attachment gives: a stored file, or (for a sales order) the order's page."""

    file: object = None  # a FieldFile
    filename: str = ""
    content_type: str = "application/octet-stream"
    order_id: int | None = None


def attachment_target(attachment: DisputeAttachment) -> AttachmentTarget | None:
    """The file behind an attachment: its upload, or the document its link names (invoice PDF,
    proof of delivery, bill of lading). None when that document is not stored (yet)."""
    if not attachment.link:
        if not attachment.file:
            return None
        return AttachmentTarget(attachment.file, attachment.name, attachment.content_type or "application/octet-stream")
    kind, _, pk = attachment.link.partition(":")
    if not pk.isdigit():
        return None
    pk = int(pk)
    if kind == "order":
        return AttachmentTarget(order_id=pk)
    if kind == "invoice":
        document = InvoiceDocument.objects.select_related("invoice").filter(invoice_id=pk, kind="pdf").first()
        if document is not None:
            return AttachmentTarget(document.file, f"{document.invoice.number}.pdf", "application/pdf")
    elif kind == "pod":
        proof = ProofOfDelivery.objects.select_related("shipment").filter(pk=pk).first()
        if proof is not None and proof.file:
            extension = proof.file.name.rsplit(".", 1)[-1]
            return AttachmentTarget(
                proof.file, f"{proof.shipment.number}-pod.{extension}", proof.content_type or "application/pdf"
            )
    elif kind == "bol":
        document = (
            ShipmentDocument.objects.select_related("shipment")
            .filter(shipment_id=pk, kind=ShipmentDocument.Kind.BILL_OF_LADING)
            .first()
        )
        if document is not None:
            return AttachmentTarget(document.file, f"{document.shipment.number}-bill-of-lading.pdf", "application/pdf")
    return None
