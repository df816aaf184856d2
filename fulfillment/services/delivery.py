"""After the truck: proof of delivery with its discrepancies, returns (RMA), stored documents."""

import datetime
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from o2c.core import numbering, timeline
from o2c.core.transactions import atomic

from ..models import (
    DeliveryDiscrepancy,
    ProofOfDelivery,
    ReturnAuthorisation,
    ReturnLine,
    Shipment,
    ShipmentDocument,
    ShipmentLine,
    StockMovement,
)
from .stock import ZERO, FulfillmentError, _q, apply_movements, stock_item_for

DEFAULT_POD_MAX_BYTES = 5 * 1024 * 1024
SIGNATURES = [  # (magic bytes, content type, extension)
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"%PDF-", "application/pdf", "pdf"),
]


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    content_type: str
    extension: str


def check_pod_file(upload) -> CheckedFile:
    """A signature image or scanned POD: PNG, JPEG or PDF by its content (not its name), and
    no larger than settings.O2C_POD_MAX_BYTES. Raises FulfillmentError otherwise."""
    limit = getattr(settings, "O2C_POD_MAX_BYTES", DEFAULT_POD_MAX_BYTES)
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _bad_file(f"The file is {size:,} bytes; the limit is {limit:,} bytes.")
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise _bad_file(f"The file is larger than the limit of {limit:,} bytes.")
    for magic, content_type, extension in SIGNATURES:
        if content.startswith(magic):
            if content_type.startswith("image/"):
                _verify_image(content)
            return CheckedFile(content, content_type, extension)
    raise _bad_file("The file is not a PNG or JPEG image or a PDF (judged by its content, not its name).")


def _verify_image(content: bytes) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        raise _bad_file("The image is damaged or not really an image.") from None


def _bad_file(text: str) -> FulfillmentError:
    return FulfillmentError(f"Proof of delivery file refused: {text}", [("proof of delivery", "file", text)])


@dataclass(frozen=True)
class LineDelivery:
    """What the consignee signed for on one shipment line: `delivered` in good order, and the
    reason for the rest (short, damaged or refused), if any."""

    shipment_line_id: int
    delivered: Decimal
    kind: str = DeliveryDiscrepancy.Kind.SHORT
    note: str = ""


@atomic
def record_proof_of_delivery(
    *,
    shipment: Shipment,
    signer_name: str,
    signed_at: datetime.datetime,
    lines: list[LineDelivery] | None = None,
    upload=None,
    note: str = "",
    by=None,
) -> ProofOfDelivery:
    """Shipped -> delivered (or exception, when a line came short, damaged or refused). Lines
    not named were delivered in full. Nothing is stored when anything is wrong."""
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.status != Shipment.Status.SHIPPED:
        raise FulfillmentError(
            f"Shipment {shipment} is {shipment.get_status_display().lower()}; only shipped ones are delivered."
        )
    problems = []
    if not signer_name.strip():
        problems.append(("proof of delivery", "signer_name", "Who signed for it?"))
    if signed_at is None:
        problems.append(("proof of delivery", "signed_at", "When was it signed?"))
    elif shipment.shipped_at and signed_at < shipment.shipped_at - datetime.timedelta(days=1):
        problems.append(("proof of delivery", "signed_at", "Before the shipment left."))
    checked = None
    if upload is not None:
        try:
            checked = check_pod_file(upload)
        except FulfillmentError as error:
            problems += error.problems
    shipment_lines = {
        line.pk: line for line in shipment.lines.select_related("order_line__product", "order_line__order")
    }
    given = {d.shipment_line_id: d for d in lines or []}
    discrepancies = []
    for line_id, delivery in given.items():
        line = shipment_lines.get(line_id)
        if line is None:
            problems.append((f"line {line_id}", "delivered", "Not a line of this shipment."))
            continue
        where = f"{line.order_line.product.sku}"
        if not ZERO <= delivery.delivered <= line.quantity:
            problems.append((where, "delivered", f"Between 0 and {_q(line.quantity)}."))
        elif delivery.delivered < line.quantity:
            if delivery.kind not in DeliveryDiscrepancy.Kind.values:
                problems.append((where, "kind", "Short, damaged or refused."))
            discrepancies.append((line, line.quantity - delivery.delivered, delivery))
    if problems:
        raise FulfillmentError("The proof of delivery was not recorded.", problems)
    proof = ProofOfDelivery(
        shipment=shipment, signer_name=signer_name.strip()[:100], signed_at=signed_at, note=note[:300], recorded_by=by
    )
    if checked:
        proof.content_type = checked.content_type
        proof.sha256 = hashlib.sha256(checked.content).hexdigest()
        proof.size = len(checked.content)
        proof.file.save(f"{shipment.number}-pod.{checked.extension}", ContentFile(checked.content), save=False)
    try:
        proof.save()
    except Exception:
        if proof.file:
            proof.file.delete(save=False)
        raise
    for line in shipment_lines.values():
        delivery = given.get(line.pk)
        line.delivered_quantity = delivery.delivered if delivery else line.quantity
    ShipmentLine.objects.bulk_update(shipment_lines.values(), ["delivered_quantity"])
    DeliveryDiscrepancy.objects.bulk_create(
        DeliveryDiscrepancy(proof=proof, shipment_line=line, kind=d.kind, quantity=q, note=d.note[:200])
        for line, q, d in discrepancies
    )
    shipment.status = Shipment.Status.EXCEPTION if discrepancies else Shipment.Status.DELIVERED
    shipment.delivered_at = signed_at
    shipment.save(update_fields=["status", "delivered_at"])
    summary = f"Shipment {shipment.number} delivered, signed by {proof.signer_name}"
    if discrepancies:
        summary += "; " + ", ".join(f"{line.order_line.product.sku} {d.kind} {_q(q)}" for line, q, d in discrepancies)
    for order in {line.order_line.order_id: line.order_line.order for line in shipment_lines.values()}.values():
        timeline.record(shipment, "delivered", summary=summary, trail=order.trail, by=by)
    return proof


# --- returns ------------------------------------------------------------------------------------
@atomic
def authorise_return(
    *, customer, lines: list[tuple[ShipmentLine, Decimal]], reason: str, by=None
) -> ReturnAuthorisation:
    """An RMA for goods the customer had: at most what was delivered and not already being
    returned, per shipment line."""
    problems = []
    if not reason.strip():
        problems.append(("return", "reason", "Why does the customer return it?"))
    line_ids = [line.pk for line, _ in lines]
    returning = dict(
        ReturnLine.objects.filter(shipment_line_id__in=line_ids)
        .exclude(rma__status=ReturnAuthorisation.Status.CANCELLED)
        .values_list("shipment_line_id")
        .annotate(q=Sum("quantity"))
    )
    shipment_lines = {
        line.pk: line
        for line in ShipmentLine.objects.filter(pk__in=line_ids).select_related("shipment", "order_line__product")
    }
    for given, quantity in lines:
        line = shipment_lines.get(given.pk)
        quantity = Decimal(quantity)
        if line is None or line.shipment.customer_id != customer.pk or line.shipment.kind != Shipment.Kind.GOODS:
            problems.append((f"line {given.pk}", "quantity", "Not goods shipped to this customer."))
            continue
        if line.shipment.status not in (Shipment.Status.SHIPPED, Shipment.Status.DELIVERED, Shipment.Status.EXCEPTION):
            problems.append((line.order_line.product.sku, "quantity", "Not shipped yet."))
            continue
        had = line.delivered_quantity if line.delivered_quantity is not None else line.quantity
        left = had - returning.get(line.pk, ZERO)
        if not ZERO < quantity <= left:
            problems.append((line.order_line.product.sku, "quantity", f"Between 0 and {_q(left)}."))
    if not lines:
        problems.append(("return", "lines", "At least one line."))
    if problems:
        raise FulfillmentError("The return was not authorised.", problems)
    rma = ReturnAuthorisation.objects.create(
        number=numbering.next_number(prefix="RMA", year=timezone.localdate().year),
        customer=customer,
        reason=reason.strip()[:200],
        created_by=by,
    )
    ReturnLine.objects.bulk_create(ReturnLine(rma=rma, shipment_line=line, quantity=Decimal(q)) for line, q in lines)
    timeline.record(
        rma, "authorised", summary=f"Return {rma.number} authorised: {rma.reason}", trail=f"rma:{rma.pk}", by=by
    )
    return rma


@atomic
def receive_return(*, rma: ReturnAuthorisation, received: dict[int, tuple[Decimal, str]], by=None) -> list[ReturnLine]:
    """Goods back at the warehouse they left from: per return line, the quantity and where it
    goes (back into stock, or scrap: received, then written off with the RMA as reason)."""
    rma = ReturnAuthorisation.objects.select_for_update().get(pk=rma.pk)
    if rma.status != ReturnAuthorisation.Status.AUTHORISED:
        raise FulfillmentError(f"Return {rma} is {rma.get_status_display().lower()}.")
    lines = {
        line.pk: line
        for line in rma.lines.select_related("shipment_line__shipment__warehouse", "shipment_line__order_line__product")
    }
    problems, movements, done = [], [], []
    for line_id, (quantity, disposition) in received.items():
        line = lines.get(int(line_id))
        quantity = Decimal(quantity)
        if line is None:
            problems.append((f"line {line_id}", "quantity", "Not a line of this return."))
            continue
        sku = line.shipment_line.order_line.product.sku
        if not ZERO <= quantity <= line.quantity:
            problems.append((sku, "quantity", f"Between 0 and {_q(line.quantity)}."))
        if disposition not in ReturnLine.Disposition.values:
            problems.append((sku, "disposition", "Back into stock or scrap."))
        if problems or quantity == 0:
            continue
        item = stock_item_for(
            warehouse=line.shipment_line.shipment.warehouse, product=line.shipment_line.order_line.product
        )
        order_line_id = line.shipment_line.order_line_id
        movements.append(
            StockMovement(
                stock_item=item,
                kind="return",
                on_hand_change=quantity,
                order_line_id=order_line_id,
                note=rma.number,
                by=by,
            )
        )
        if disposition == ReturnLine.Disposition.SCRAP:
            movements.append(
                StockMovement(
                    stock_item=item,
                    kind="scrap",
                    on_hand_change=-quantity,
                    order_line_id=order_line_id,
                    reason=f"Returned unsellable ({rma.number})",
                    by=by,
                )
            )
        line.received_quantity, line.disposition = quantity, disposition
        done.append(line)
    if problems:
        raise FulfillmentError("The return was not received.", problems)
    if not done:
        raise FulfillmentError("Nothing was received.", [("return", "quantity", "Enter what came back.")])
    apply_movements(movements)
    ReturnLine.objects.bulk_update(done, ["received_quantity", "disposition"])
    rma.status, rma.received_at = ReturnAuthorisation.Status.RECEIVED, timezone.now()
    rma.save(update_fields=["status", "received_at"])
    timeline.record(rma, "received", summary=f"Return {rma.number} received", trail=f"rma:{rma.pk}", by=by)
    return done


# --- documents ----------------------------------------------------------------------------------
def store_document(*, shipment_id: int, kind: str, content: bytes, filename: str) -> ShipmentDocument:
    """Keep a rendered file once; a second render of the same kind finds the stored one."""
    existing = ShipmentDocument.objects.filter(shipment_id=shipment_id, kind=kind).first()
    if existing:
        return existing
    document = ShipmentDocument(
        shipment_id=shipment_id, kind=kind, sha256=hashlib.sha256(content).hexdigest(), size=len(content)
    )
    document.file.save(filename, ContentFile(content), save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:  # a parallel render stored it first; keep theirs
        document.file.delete(save=False)
        return ShipmentDocument.objects.get(shipment_id=shipment_id, kind=kind)
    return document
