import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, Exists, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from orders.models import Product, SalesOrder, SalesOrderLine

from .models import (
    Backorder,
    DeliveryDiscrepancy,
    ExpectedReceipt,
    Reservation,
    Shipment,
    ShipmentLine,
    StockItem,
    Warehouse,
)

ZERO_QTY = Value(Decimal("0"), output_field=DecimalField(max_digits=12, decimal_places=3))


def available_by_product(product_ids) -> dict[int, Decimal]:
    """Available to promise today (on hand - reserved, all warehouses), per product id."""
    rows = (
        StockItem.objects.filter(product_id__in=product_ids)
        .values("product_id")
        .annotate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
    )
    found = {row["product_id"]: row["on_hand"] - row["reserved"] for row in rows}
    return {pk: found.get(pk, Decimal("0")) for pk in product_ids}


def shipped_quantities(order: SalesOrder) -> dict[int, Decimal]:
    rows = (
        ShipmentLine.objects.filter(order_line__order=order)
        .exclude(shipment__status__in=["planned", "picked", "packed"])
        .values("order_line_id")
        .annotate(q=Sum("quantity"))
    )
    return {row["order_line_id"]: row["q"] for row in rows}


def reserved_quantities(order: SalesOrder) -> dict[int, Decimal]:
    rows = (
        Reservation.objects.filter(order_line__order=order, status=Reservation.Status.ACTIVE)
        .values("order_line_id")
        .annotate(q=Sum("quantity"))
    )
    return {row["order_line_id"]: row["q"] for row in rows}


def unshipped_quantity(line: SalesOrderLine) -> Decimal:
    shipped = line.shipment_lines.aggregate(q=Sum("quantity"))["q"] or Decimal("0")
    return line.quantity - shipped


def is_fully_shipped(order: SalesOrder) -> bool:
    shipped = shipped_quantities(order)
    return all(shipped.get(line.pk, Decimal("0")) >= line.quantity for line in order.lines.all())


def shipments_for_order(order: SalesOrder):
    return (
        Shipment.objects.filter(lines__order_line__order=order)
        .distinct()
        .select_related("carrier")
        .order_by("created_at")
    )


# Approved orders with something reserved or a service line still to deliver. Written as SQL for
# one reason: the OFFSET 0 inside each EXISTS keeps PostgreSQL from turning it into a hashed
# subplan over every reservation (500 ms at 1,000,000 invoices); evaluated per order instead,
# the walk follows the partial index salesorder_to_ship and stops at the limit (about 1 ms).
_READY_TO_SHIP = """
    FROM orders_salesorder o
    WHERE o.status = %s AND (
        EXISTS (SELECT 1 FROM orders_salesorderline l JOIN fulfillment_reservation r ON r.order_line_id = l.id
                WHERE l.order_id = o.id AND r.status = %s FENCE)
        OR EXISTS (SELECT 1 FROM orders_salesorderline l JOIN orders_product p ON p.id = l.product_id
                   WHERE l.order_id = o.id AND NOT p.is_stock_tracked
                     AND l.quantity > COALESCE(
                         (SELECT SUM(s.quantity) FROM fulfillment_shipmentline s WHERE s.order_line_id = l.id), 0)
                   FENCE))
"""
_READY_PARAMS = [SalesOrder.Status.APPROVED, Reservation.Status.ACTIVE]


def _ready_to_ship_sql() -> str:
    # SQLite (the embedded default) has no hashed subplans and no OFFSET without LIMIT.
    return _READY_TO_SHIP.replace("FENCE", "OFFSET 0" if connection.vendor == "postgresql" else "")


def ready_to_ship_ids(*, limit: int) -> list[int]:
    """Ids of the orders ready to ship, in queue order: requested date, order date, id."""
    sql = f"SELECT o.id {_ready_to_ship_sql()} ORDER BY o.requested_date, o.order_date, o.id LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_READY_PARAMS, limit])
        return [row[0] for row in cursor.fetchall()]


def count_ready_to_ship(*, up_to: int = 1000) -> int:
    """How many orders are ready to ship, counted up to `up_to` (a card shows "1000+"): the
    walk stops there instead of visiting every approved order."""
    sql = f"SELECT count(*) FROM (SELECT 1 {_ready_to_ship_sql()} LIMIT %s) AS ready"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_READY_PARAMS, up_to + 1])
        return cursor.fetchone()[0]


def product_stock(product: Product):
    return StockItem.objects.filter(product=product).select_related("warehouse")


def shipping_queue(*, limit: int = 200) -> list[SalesOrder]:
    """The warehouse's list: the orders ready to ship with, per order, `line_count` and
    `reserved_lines` (lines with an active reservation), counted by the database."""
    ids = ready_to_ship_ids(limit=limit)
    lines = SalesOrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order")
    reserved = lines.filter(reservations__status=Reservation.Status.ACTIVE)
    orders = (
        SalesOrder.objects.filter(pk__in=ids)
        .select_related("customer")
        .annotate(
            line_count=Subquery(lines.annotate(n=Count("pk")).values("n")),
            reserved_lines=Coalesce(Subquery(reserved.annotate(n=Count("pk", distinct=True)).values("n")), 0),
        )
    )
    position = {pk: i for i, pk in enumerate(ids)}
    return sorted(orders, key=lambda order: position[order.pk])


# --- available to promise, backorders, warehouse queues -------------------------------------------
def available_to_promise(product_ids, on_date) -> dict[int, Decimal]:
    """Per product id: on hand - reserved (all warehouses) + open expected receipts due by
    `on_date`. Two queries, however many products."""
    product_ids = list(product_ids)
    today = available_by_product(product_ids)
    expected = dict(
        ExpectedReceipt.objects.filter(
            product_id__in=product_ids, status=ExpectedReceipt.Status.OPEN, expected_date__lte=on_date
        )
        .values_list("product_id")
        .annotate(q=Sum("quantity"))
        .order_by()
    )
    return {pk: today[pk] + expected.get(pk, Decimal("0")) for pk in product_ids}


def next_expected_dates(product_ids) -> dict[int, datetime.date]:
    rows = (
        ExpectedReceipt.objects.filter(product_id__in=list(product_ids), status=ExpectedReceipt.Status.OPEN)
        .values("product_id")
        .annotate(first=Min("expected_date"))
        .order_by()
    )
    return {row["product_id"]: row["first"] for row in rows}


def backorders_for(order: SalesOrder):
    return Backorder.objects.filter(order_line__order=order, status=Backorder.Status.OPEN).select_related(
        "order_line__product"
    )


def backorder_worklist(*, limit: int = 200) -> list[Backorder]:
    """The clerk's list: every open backorder with its order, customer and product, the
    orders served first on top."""
    return list(
        Backorder.objects.filter(status=Backorder.Status.OPEN)
        .select_related("order_line__order__customer", "order_line__product")
        .order_by(
            F("order_line__order__requested_date").asc(nulls_last=True),
            "order_line__order__order_date",
            "order_line__order_id",
            "order_line__line_number",
        )[:limit]
    )


def pick_queue(*, warehouse: Warehouse, limit: int = 200) -> list[SalesOrder]:
    """Approved orders with stock reserved in `warehouse` that is not yet on a shipment from
    there, in reservation priority order; each with `units_ready` and `line_count`."""
    reserved_here = (
        Reservation.objects.filter(
            order_line__order=OuterRef("pk"), status=Reservation.Status.ACTIVE, stock_item__warehouse=warehouse
        )
        .order_by()
        .values("order_line__order")
        .annotate(q=Sum("quantity"))
        .values("q")
    )
    planned_here = (
        ShipmentLine.objects.filter(
            order_line__order=OuterRef("pk"),
            shipment__warehouse=warehouse,
            shipment__status__in=["planned", "picked", "packed"],
        )
        .order_by()
        .values("order_line__order")
        .annotate(q=Sum("quantity"))
        .values("q")
    )
    lines = SalesOrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order")
    return list(
        SalesOrder.objects.filter(status=SalesOrder.Status.APPROVED)
        .annotate(
            units_ready=Coalesce(Subquery(reserved_here), ZERO_QTY) - Coalesce(Subquery(planned_here), ZERO_QTY),
            line_count=Subquery(lines.annotate(n=Count("pk")).values("n")),
            backordered=Exists(Backorder.objects.filter(order_line__order=OuterRef("pk"), status="open")),
        )
        .filter(units_ready__gt=0)
        .select_related("customer")
        .order_by(F("requested_date").asc(nulls_last=True), "order_date", "id")[:limit]
    )


def open_shipments(*, warehouse: Warehouse | None = None, limit: int = 200) -> list[Shipment]:
    shipments = Shipment.objects.filter(status__in=["planned", "picked", "packed"]).select_related(
        "customer", "warehouse"
    )
    if warehouse is not None:
        shipments = shipments.filter(warehouse=warehouse)
    return list(shipments.annotate(line_count=Count("lines")).order_by("id")[:limit])


def shipment_detail(pk: int) -> Shipment:
    return Shipment.objects.select_related("customer", "warehouse", "carrier", "proof_of_delivery").get(pk=pk)


def shipment_lines(shipment: Shipment) -> list[ShipmentLine]:
    return list(
        shipment.lines.select_related("order_line__order", "order_line__product").order_by(
            "order_line__order_id", "order_line__line_number"
        )
    )


def delivery_exceptions(*, limit: int = 200) -> list[DeliveryDiscrepancy]:
    """Every discrepancy recorded at delivery, newest first, with shipment, customer, product."""
    return list(
        DeliveryDiscrepancy.objects.select_related(
            "proof__shipment__customer", "shipment_line__order_line__product", "shipment_line__order_line__order"
        ).order_by("-proof__signed_at", "-id")[:limit]
    )


def stock_balances_match_ledger() -> list[str]:
    """Problems where a stock item's on hand or reserved differs from its movements' sums
    (none expected: the nightly check and the property test use it). One grouped query."""
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=12, decimal_places=3))
    items = (
        StockItem.objects.annotate(
            ledger_on_hand=Coalesce(Sum("movements__on_hand_change"), zero),
            ledger_reserved=Coalesce(Sum("movements__reserved_change"), zero),
        )
        .filter(~Q(on_hand=F("ledger_on_hand")) | ~Q(reserved=F("ledger_reserved")))
        .select_related("product", "warehouse")
        .order_by("id")
    )
    return [
        f"{item.product.sku} at {item.warehouse.code}: balances {item.on_hand}/{item.reserved}, "
        f"ledger {item.ledger_on_hand}/{item.ledger_reserved}"
        for item in items
    ]


def main_warehouse_for(order: SalesOrder) -> Warehouse | None:
    """Where an order ships from in one go: the warehouse holding most of its reserved units
    (the default one on a tie); None when nothing is reserved (services only)."""
    rows = (
        Reservation.objects.filter(order_line__order=order, status=Reservation.Status.ACTIVE)
        .values("stock_item__warehouse")
        .annotate(q=Sum("quantity"))
        .order_by("-q", "-stock_item__warehouse__is_default", "stock_item__warehouse")
    )
    first = rows.first()
    return Warehouse.objects.get(pk=first["stock_item__warehouse"]) if first else None


def backordered_quantity(product_id: int) -> Decimal:
    return Backorder.objects.filter(order_line__product_id=product_id, status=Backorder.Status.OPEN).aggregate(
        q=Sum("quantity", default=Decimal("0"))
    )["q"]


def order_has_shipment_lines(order) -> bool:
    """Is any of the order on a shipment (being picked, packed, shipped or delivered)?"""
    return ShipmentLine.objects.filter(order_line__order=order).exists()
