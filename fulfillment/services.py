"""Stock and shipping writes. Stock rows are locked in id order, so concurrent reservations
never oversell and never deadlock; the CHECK constraints are the last line of defence."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from o2c.core import numbering, timeline
from o2c.core.errors import DomainError
from orders.models import SalesOrder, SalesOrderLine

from .models import Reservation, Shipment, ShipmentLine, StockItem, StockMovement, Warehouse
from .selectors import unshipped_quantity


class FulfillmentError(DomainError):
    pass


@dataclass
class Shortfall:
    line: SalesOrderLine
    missing: Decimal


@transaction.atomic
def receive_stock(*, warehouse: Warehouse, product, quantity: Decimal, by=None, note: str = "") -> StockItem:
    if quantity <= 0:
        raise FulfillmentError("A receipt must add a positive quantity.")
    item, _ = StockItem.objects.get_or_create(warehouse=warehouse, product=product)
    StockItem.objects.filter(pk=item.pk).update(on_hand=F("on_hand") + quantity)
    StockMovement.objects.create(stock_item=item, kind=StockMovement.Kind.RECEIPT, quantity=quantity, by=by, note=note)
    item.refresh_from_db()
    return item


@transaction.atomic
def reserve_order(*, order: SalesOrder, by=None) -> list[Shortfall]:
    """Reserve every stock-tracked line of an approved order from the warehouses that have it,
    default warehouse first. Returns what could not be reserved (backorder), if anything."""
    shortfalls = []
    lines = order.lines.select_related("product").filter(product__is_stock_tracked=True)
    for line in lines:
        still_needed = line.quantity - _reserved_or_shipped(line)
        if still_needed <= 0:
            continue
        items = (
            StockItem.objects.select_for_update(of=("self",))
            .filter(product_id=line.product_id)
            .select_related("warehouse")
            .order_by("id")  # one lock order for everybody: no deadlocks between orders
        )
        for item in sorted(items, key=lambda i: not i.warehouse.is_default):
            take = min(still_needed, item.on_hand - item.reserved)
            if take <= 0:
                continue
            StockItem.objects.filter(pk=item.pk).update(reserved=F("reserved") + take)
            Reservation.objects.create(order_line=line, stock_item=item, quantity=take)
            StockMovement.objects.create(
                stock_item=item, kind=StockMovement.Kind.RESERVATION, quantity=take, order_line=line, by=by
            )
            still_needed -= take
            if still_needed == 0:
                break
        if still_needed > 0:
            shortfalls.append(Shortfall(line, still_needed))
    summary = (
        "Stock reserved"
        if not shortfalls
        else "Stock reserved in part; "
        + ", ".join(
            f"line {s.line.line_number} short {s.missing.normalize()} {s.line.product.unit}" for s in shortfalls
        )
    )
    timeline.record(order, "reserved", summary=summary, trail=order.trail, by=by)
    return shortfalls


def _reserved_or_shipped(line: SalesOrderLine) -> Decimal:
    return sum(
        (
            r.quantity
            for r in line.reservations.filter(status__in=[Reservation.Status.ACTIVE, Reservation.Status.SHIPPED])
        ),
        Decimal("0"),
    )


@transaction.atomic
def ship_order(*, order: SalesOrder, by, carrier: str = "", tracking_number: str = "") -> Shipment:
    """Ship everything reserved for the order, plus its service lines, in one shipment.
    What is not reserved stays open for a later shipment."""
    order = SalesOrder.objects.select_for_update().get(pk=order.pk)
    if order.status != SalesOrder.Status.APPROVED:
        raise FulfillmentError(f"Order {order} is {order.get_status_display().lower()}; only approved orders ship.")
    reservations = list(
        Reservation.objects.select_for_update(of=("self",))
        .filter(order_line__order=order, status=Reservation.Status.ACTIVE)
        .select_related("order_line")
        .order_by("stock_item_id")
    )
    to_ship: dict[int, Decimal] = {}
    for reservation in reservations:
        to_ship[reservation.order_line_id] = to_ship.get(reservation.order_line_id, Decimal("0")) + reservation.quantity
    for line in order.lines.filter(product__is_stock_tracked=False):
        open_quantity = unshipped_quantity(line)
        if open_quantity > 0:
            to_ship[line.pk] = open_quantity
    if not to_ship:
        raise FulfillmentError(f"Nothing is reserved for order {order} yet, so nothing can ship.")

    customer = order.customer
    shipment = Shipment.objects.create(
        number=numbering.next_number(prefix="SHP", year=timezone.localdate().year),
        customer=customer,
        status=Shipment.Status.SHIPPED,
        ship_to="\n".join([customer.name, *customer.address_lines]),
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_at=timezone.now(),
        created_by=by,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=quantity)
        for line_id, quantity in to_ship.items()
    )
    for reservation in reservations:
        StockItem.objects.filter(pk=reservation.stock_item_id).update(
            on_hand=F("on_hand") - reservation.quantity, reserved=F("reserved") - reservation.quantity
        )
        StockMovement.objects.create(
            stock_item_id=reservation.stock_item_id,
            kind=StockMovement.Kind.SHIPMENT,
            quantity=-reservation.quantity,
            order_line_id=reservation.order_line_id,
            by=by,
            note=shipment.number,
        )
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(status=Reservation.Status.SHIPPED)
    carrier_text = f" with {carrier}" + (f", tracking {tracking_number}" if tracking_number else "") if carrier else ""
    timeline.record(
        shipment, "shipped", summary=f"Shipment {shipment.number} shipped{carrier_text}", trail=order.trail, by=by
    )
    return shipment
