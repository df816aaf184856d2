"""Shipments: plan (pick list) -> pick -> pack (packages, weights) -> ship (carrier, tracking)
-> delivered. Stock leaves the books at ship, from the reservations of the shipment's lines in
the shipment's warehouse; asking for more than is reserved is refused with the line named.
A shipment may carry lines of several orders of one customer to one address; an order may
ship in several shipments, the rest staying reserved and open."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from o2c.core import numbering, timeline
from o2c.core.transactions import atomic
from orders.models import SalesOrder, SalesOrderLine

from .. import carriers
from ..models import Carrier, Package, Reservation, Shipment, ShipmentLine, StockItem, StockMovement, Warehouse
from .stock import ZERO, FulfillmentError, _q, apply_movements

OPEN_STATUSES = [Shipment.Status.PLANNED, Shipment.Status.PICKED, Shipment.Status.PACKED]


def _enqueue(shipment_id: int, kind: str) -> None:
    from .. import tasks  # tasks import services: import here to keep the module graph simple

    # robust: a broker that is down must not fail the committed shipment; the sweeper
    # (o2c.tasks.requeue_stale_work) publishes missing documents again.
    transaction.on_commit(lambda: tasks.render_shipment_document.delay(shipment_id, kind), robust=True)


def plannable_quantities(*, order_lines, warehouse: Warehouse) -> dict[int, Decimal]:
    """Per order line: reserved in `warehouse` and not yet on an open shipment from there."""
    line_ids = [line.pk if hasattr(line, "pk") else line for line in order_lines]
    reserved = dict(
        Reservation.objects.filter(
            order_line_id__in=line_ids, status=Reservation.Status.ACTIVE, stock_item__warehouse=warehouse
        )
        .values_list("order_line_id")
        .annotate(q=Sum("quantity"))
    )
    planned = dict(
        ShipmentLine.objects.filter(
            order_line_id__in=line_ids, shipment__status__in=OPEN_STATUSES, shipment__warehouse=warehouse
        )
        .values_list("order_line_id")
        .annotate(q=Sum("quantity"))
    )
    return {pk: reserved.get(pk, ZERO) - planned.get(pk, ZERO) for pk in line_ids}


@atomic
def plan_shipment(
    *,
    orders: list[SalesOrder],
    warehouse: Warehouse,
    by=None,
    quantities: dict[int, Decimal] | None = None,
) -> Shipment:
    """A planned shipment from `warehouse` of what is reserved there for `orders` (all of one
    customer: one consignee, one address), or of `quantities` per order line id. Queues the
    pick list. Refuses, naming the line, any quantity above what is reserved and unplanned."""
    orders = list(SalesOrder.objects.select_for_update().filter(pk__in=[o.pk for o in orders]).order_by("id"))
    if not orders:
        raise FulfillmentError("Choose at least one order to ship.")
    customers = {o.customer_id for o in orders}
    if len(customers) > 1:
        raise FulfillmentError("One shipment goes to one customer at one address; these orders are for several.")
    for order in orders:
        if order.status != SalesOrder.Status.APPROVED:
            raise FulfillmentError(f"Order {order} is {order.get_status_display().lower()}; only approved orders ship.")
    lines = list(
        SalesOrderLine.objects.filter(order__in=orders, product__is_stock_tracked=True)
        .select_related("order", "product")
        .order_by("order_id", "line_number")
    )
    free = plannable_quantities(order_lines=lines, warehouse=warehouse)
    wanted: dict[int, Decimal] = {}
    problems = []
    by_id = {line.pk: line for line in lines}
    if quantities is None:
        wanted = {pk: q for pk, q in free.items() if q > 0}
    else:
        for pk, quantity in quantities.items():
            quantity = Decimal(quantity)
            line = by_id.get(int(pk))
            if line is None:
                problems.append((f"line {pk}", "quantity", "Not a stock line of these orders."))
            elif quantity < 0:
                problems.append((f"{line.order} line {line.line_number}", "quantity", "Cannot be negative."))
            elif quantity > free[line.pk]:
                problems.append(
                    (
                        f"{line.order} line {line.line_number}",
                        "quantity",
                        f"{_q(quantity)} {line.product.unit} asked, only {_q(free[line.pk])} reserved in "
                        f"{warehouse.code} and not yet on a shipment.",
                    )
                )
            elif quantity > 0:
                wanted[line.pk] = quantity
    if problems:
        raise FulfillmentError("Cannot ship more than is reserved.", problems)
    if not wanted:
        raise FulfillmentError(
            f"Nothing reserved in {warehouse.code} for {', '.join(map(str, orders))} is left to ship: "
            "it is not in stock yet, or already on an open shipment."
        )
    customer = orders[0].customer
    shipment = Shipment.objects.create(
        number=numbering.next_number(prefix="SHP", year=timezone.localdate().year),
        customer=customer,
        warehouse=warehouse,
        ship_to="\n".join([customer.name, *customer.address_lines]),
        created_by=by,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line_id=pk, quantity=q) for pk, q in wanted.items()
    )
    for order in {by_id[pk].order_id: by_id[pk].order for pk in wanted}.values():
        timeline.record(
            shipment,
            "planned",
            summary=f"Shipment {shipment.number} planned from {warehouse.code}",
            trail=order.trail,
            by=by,
        )
    _enqueue(shipment.pk, "pick_list")
    return shipment


def _locked(shipment: Shipment, *statuses) -> Shipment:
    shipment = (
        Shipment.objects.select_for_update(of=("self",)).select_related("warehouse", "customer").get(pk=shipment.pk)
    )
    if statuses and shipment.status not in statuses:
        raise FulfillmentError(f"Shipment {shipment} is {shipment.get_status_display().lower()}.")
    return shipment


@atomic
def record_pick(*, shipment: Shipment, code: str, quantity: Decimal, by=None) -> ShipmentLine:
    """A scan at the shelf: `code` is the SKU (any case) or the barcode of the bin the product
    is picked from. Refuses an unknown code or more than the line asks for."""
    shipment = _locked(shipment, Shipment.Status.PLANNED)
    code = (code or "").strip()
    try:
        quantity = Decimal(quantity)
    except Exception:  # noqa: BLE001 - any unparsable input is the same clerk-facing error
        raise FulfillmentError("Quantity must be a number.", [("scan", "quantity", "Enter a number.")]) from None
    if quantity <= 0:
        raise FulfillmentError("Quantity must be above zero.", [("scan", "quantity", "Above zero.")])
    bin_products = (
        set(
            StockItem.objects.filter(warehouse=shipment.warehouse, location__barcode=code).values_list(
                "product_id", flat=True
            )
        )
        if code
        else set()
    )
    candidates = [
        line
        for line in shipment.lines.select_related("order_line__product", "order_line__order")
        if line.order_line.product.sku.lower() == code.lower() or line.order_line.product_id in bin_products
    ]
    if not code or not candidates:
        raise FulfillmentError(
            f"'{code}' is not on shipment {shipment}.", [("scan", "code", "Scan or type a SKU of this shipment.")]
        )
    line = next((c for c in candidates if c.picked_quantity < c.quantity), candidates[0])
    if line.picked_quantity + quantity > line.quantity:
        raise FulfillmentError(
            f"{line.order_line.product.sku}: {_q(line.quantity - line.picked_quantity)} left to pick, not {_q(quantity)}.",
            [("scan", "quantity", f"At most {_q(line.quantity - line.picked_quantity)}.")],
        )
    line.picked_quantity += quantity
    line.save(update_fields=["picked_quantity"])
    return line


@atomic
def finish_picking(*, shipment: Shipment, by=None) -> Shipment:
    """Close picking: lines picked short shrink to what was picked (the rest stays reserved and
    open for a later shipment), lines not picked at all leave the shipment."""
    shipment = _locked(shipment, Shipment.Status.PLANNED)
    return _close_picking(shipment, list(shipment.lines.all()))


def _close_picking(shipment: Shipment, lines: list[ShipmentLine]) -> Shipment:
    if not any(line.picked_quantity > 0 for line in lines):
        raise FulfillmentError(f"Nothing is picked for shipment {shipment} yet.")
    for line in lines:
        if line.picked_quantity == 0:
            line.delete()
        elif line.picked_quantity < line.quantity:
            line.quantity = line.picked_quantity
            line.save(update_fields=["quantity"])
    shipment.status, shipment.picked_at = Shipment.Status.PICKED, timezone.now()
    shipment.save(update_fields=["status", "picked_at"])
    return shipment


@atomic
def pick_all(*, shipment: Shipment, by=None) -> Shipment:
    """Everything picked as planned (a warehouse that confirms the pick list in one go)."""
    shipment = _locked(shipment, Shipment.Status.PLANNED)
    lines = list(shipment.lines.all())
    for line in lines:
        line.picked_quantity = line.quantity
    shipment.lines.update(picked_quantity=F("quantity"))  # one statement for all the lines
    return _close_picking(shipment, lines)


@atomic
def pack(*, shipment: Shipment, packages: list[tuple[Decimal, str]], by=None) -> Shipment:
    """Record the packages (weight in kg, description) and queue the packing slip."""
    shipment = _locked(shipment, Shipment.Status.PICKED)
    problems = []
    cleaned = []
    for number, (weight, description) in enumerate(packages, start=1):
        try:
            weight = Decimal(str(weight))
        except Exception:  # noqa: BLE001
            weight = Decimal("-1")
        if weight <= 0 or weight > Decimal("100000"):
            problems.append((f"package {number}", "weight_kg", "A weight above 0 kg."))
        cleaned.append(Package(shipment=shipment, number=number, weight_kg=weight, description=description[:100]))
    if not cleaned:
        problems.append(("shipment", "packages", "At least one package."))
    if problems:
        raise FulfillmentError("The packages are not right.", problems)
    Package.objects.bulk_create(cleaned)
    shipment.status, shipment.packed_at = Shipment.Status.PACKED, timezone.now()
    shipment.save(update_fields=["status", "packed_at"])
    _enqueue(shipment.pk, "packing_slip")
    return shipment


# Public tracking pages of well-known carriers: a carrier typed for the first time gets its link.
KNOWN_TRACKING_URLS = {
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tracking}",
    "ups": "https://www.ups.com/track?tracknum={tracking}",
    "dpd": "https://tracking.dpd.de/status/en_US/parcel/{tracking}",
    "postnl": "https://jouw.postnl.nl/track-and-trace/{tracking}",
    "bpost": "https://track.bpost.cloud/btr/web/#/search?itemCode={tracking}",
    "gls": "https://gls-group.com/track/{tracking}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={tracking}",
}


def carrier_named(name: str) -> Carrier | None:
    """The carrier with this code or name, created (manual adapter, with the tracking link of a
    well-known carrier) the first time it is typed."""
    name = (name or "").strip()[:60]
    if not name:
        return None
    carrier = Carrier.objects.filter(Q(code__iexact=name[:20]) | Q(name__iexact=name)).first()
    return carrier or Carrier.objects.create(
        code=name[:20].upper(),
        name=name,
        tracking_url=KNOWN_TRACKING_URLS.get(name.lower().replace(" ", ""), ""),
    )


@atomic
def ship_shipment(
    *,
    shipment: Shipment,
    by=None,
    carrier: Carrier | None = None,
    service: str = "",
    tracking_number: str = "",
    ship_date: datetime.date | None = None,
    freight_terms: str = "",
) -> Shipment:
    """Hand the packed shipment to the carrier: stock leaves on hand and reserved of the
    shipment's warehouse (a shipment movement per line), the reservations are consumed, the
    bill of lading is queued. Invoicing is the flow's next step."""
    shipment = _locked(shipment, Shipment.Status.PACKED)
    if carrier is not None:
        booking = carriers.adapter_for(carrier).book(
            carrier=carrier, shipment=shipment, service=service, tracking_number=tracking_number
        )
        shipment.carrier, shipment.service, shipment.tracking_number = carrier, booking.service, booking.tracking_number
    if freight_terms:
        if freight_terms not in Shipment.FreightTerms.values:
            raise FulfillmentError("Unknown freight terms.", [("shipment", "freight_terms", "Choose from the list.")])
        shipment.freight_terms = freight_terms
    lines = list(shipment.lines.select_related("order_line__product", "order_line__order"))
    movements = _consume_reservations(shipment=shipment, lines=lines, by=by)
    apply_movements(movements)
    shipment.status = Shipment.Status.SHIPPED
    shipment.shipped_at = timezone.now()
    shipment.ship_date = ship_date or timezone.localdate()
    shipment.save(
        update_fields=["carrier", "service", "tracking_number", "freight_terms", "status", "shipped_at", "ship_date"]
    )
    via = f" with {shipment.carrier}" + (f", tracking {shipment.tracking_number}" if shipment.tracking_number else "")
    for order in {line.order_line.order_id: line.order_line.order for line in lines}.values():
        timeline.record(
            shipment,
            "shipped",
            summary=f"Shipment {shipment.number} shipped" + (via if shipment.carrier_id else ""),
            trail=order.trail,
            by=by,
        )
    _enqueue(shipment.pk, "bill_of_lading")
    return shipment


def _consume_reservations(*, shipment: Shipment, lines: list[ShipmentLine], by) -> list[StockMovement]:
    stock_lines = [line for line in lines if line.order_line.product.is_stock_tracked]
    reservations = defaultdict(list)
    for reservation in (
        Reservation.objects.select_for_update()
        .filter(
            order_line_id__in=[line.order_line_id for line in stock_lines],
            status=Reservation.Status.ACTIVE,
            stock_item__warehouse=shipment.warehouse_id,
        )
        .order_by("stock_item_id", "id")
    ):
        reservations[reservation.order_line_id].append(reservation)
    problems, movements, shipped, consumed = [], [], [], []
    for line in stock_lines:
        held = sum((r.quantity for r in reservations[line.order_line_id]), ZERO)
        if line.quantity > held:
            problems.append(
                (
                    f"{line.order_line.order} line {line.order_line.line_number}",
                    "quantity",
                    f"{_q(line.quantity)} {line.order_line.product.unit} to ship, only {_q(held)} reserved.",
                )
            )
            continue
        left = line.quantity
        for reservation in reservations[line.order_line_id]:
            take = min(left, reservation.quantity)
            if take <= 0:
                break
            if take == reservation.quantity:
                consumed.append(reservation.pk)
            else:
                reservation.quantity -= take
                reservation.save(update_fields=["quantity"])
                shipped.append(
                    Reservation(
                        order_line_id=line.order_line_id,
                        stock_item_id=reservation.stock_item_id,
                        quantity=take,
                        status=Reservation.Status.SHIPPED,
                    )
                )
            movements.append(
                StockMovement(
                    stock_item_id=reservation.stock_item_id,
                    kind=StockMovement.Kind.SHIPMENT,
                    on_hand_change=-take,
                    reserved_change=-take,
                    order_line_id=line.order_line_id,
                    note=shipment.number,
                    by=by,
                )
            )
            left -= take
    if problems:
        raise FulfillmentError("Shipping more than is reserved is refused.", problems)
    if consumed:  # taken whole: one statement for all of them
        Reservation.objects.filter(pk__in=consumed).update(status=Reservation.Status.SHIPPED)
    Reservation.objects.bulk_create(shipped)
    return movements


@atomic
def transfer_reservations(*, order: SalesOrder, to: Warehouse, by=None) -> None:
    """Move the order's reservations held in other warehouses to `to` (goods sent across
    before the order ships): transfer movements out and in, each balanced."""
    target_items = {}
    for reservation in (
        Reservation.objects.select_for_update()
        .filter(order_line__order=order, status=Reservation.Status.ACTIVE)
        .exclude(stock_item__warehouse=to)
        .select_related("stock_item")
        .order_by("stock_item_id")
    ):
        product_id = reservation.stock_item.product_id
        if product_id not in target_items:
            target_items[product_id], _ = StockItem.objects.get_or_create(warehouse=to, product_id=product_id)
        target = target_items[product_id]
        q = reservation.quantity
        note = f"Transfer for {order} to {to.code}"
        apply_movements(
            [
                StockMovement(
                    stock_item_id=reservation.stock_item_id,
                    kind=StockMovement.Kind.TRANSFER,
                    on_hand_change=-q,
                    reserved_change=-q,
                    order_line_id=reservation.order_line_id,
                    note=note,
                    by=by,
                ),
                StockMovement(
                    stock_item=target,
                    kind=StockMovement.Kind.TRANSFER,
                    on_hand_change=q,
                    reserved_change=q,
                    order_line_id=reservation.order_line_id,
                    note=note,
                    by=by,
                ),
            ]
        )
        reservation.stock_item = target
        reservation.save(update_fields=["stock_item"])


@atomic
def confirm_services(*, order: SalesOrder, by=None, lines: dict[int, Decimal] | None = None) -> Shipment:
    """Services are delivered by a confirmation, not a parcel: a service 'shipment', delivered
    at once, of the open service lines (or `lines`: quantity per order line id)."""
    order = SalesOrder.objects.select_for_update().select_related("customer").get(pk=order.pk)
    if order.status != SalesOrder.Status.APPROVED:
        raise FulfillmentError(f"Order {order} is {order.get_status_display().lower()}; only approved orders deliver.")
    open_lines = open_service_quantities(order)
    wanted = open_lines if lines is None else {int(pk): Decimal(q) for pk, q in lines.items() if Decimal(q) > 0}
    problems = [
        (f"line {pk}", "quantity", f"At most {_q(open_lines.get(pk, ZERO))} left to deliver.")
        for pk, q in wanted.items()
        if q > open_lines.get(pk, ZERO)
    ]
    if problems:
        raise FulfillmentError("Cannot confirm more than was ordered.", problems)
    if not wanted:
        raise FulfillmentError(f"Order {order} has no service left to confirm.")
    now = timezone.now()
    shipment = Shipment.objects.create(
        number=numbering.next_number(prefix="SHP", year=timezone.localdate().year),
        kind=Shipment.Kind.SERVICE,
        customer=order.customer,
        status=Shipment.Status.DELIVERED,
        ship_to="\n".join([order.customer.name, *order.customer.address_lines]),
        shipped_at=now,
        delivered_at=now,
        ship_date=timezone.localdate(),
        created_by=by,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line_id=pk, quantity=q, picked_quantity=q, delivered_quantity=q)
        for pk, q in wanted.items()
    )
    timeline.record(
        shipment, "delivered", summary=f"Services confirmed delivered ({shipment.number})", trail=order.trail, by=by
    )
    return shipment


def open_service_quantities(order: SalesOrder) -> dict[int, Decimal]:
    lines = SalesOrderLine.objects.filter(order=order, product__is_stock_tracked=False).annotate(
        done=Sum("shipment_lines__quantity", default=ZERO)
    )
    return {line.pk: line.quantity - line.done for line in lines if line.quantity > line.done}


@atomic
def add_service_lines(*, shipment: Shipment, order: SalesOrder) -> None:
    """Services delivered with the goods (installation on delivery) ride on the shipment."""
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line_id=pk, quantity=q, picked_quantity=q)
        for pk, q in open_service_quantities(order).items()
    )
