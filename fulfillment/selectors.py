from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from orders.models import Product, SalesOrder, SalesOrderLine

from .models import Reservation, Shipment, ShipmentLine, StockItem

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
    rows = ShipmentLine.objects.filter(order_line__order=order).values("order_line_id").annotate(q=Sum("quantity"))
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
    return Shipment.objects.filter(lines__order_line__order=order).distinct().order_by("created_at")


def orders_ready_to_ship():
    """Approved orders with something reserved or a service line still to deliver."""
    shipped = (
        ShipmentLine.objects.filter(order_line=OuterRef("pk"))
        .values("order_line")
        .annotate(q=Sum("quantity"))
        .values("q")
    )
    open_service_lines = SalesOrderLine.objects.filter(product__is_stock_tracked=False).annotate(
        shipped=Coalesce(Subquery(shipped), ZERO_QTY)
    )
    open_service_lines = open_service_lines.filter(quantity__gt=F("shipped"))
    return (
        SalesOrder.objects.filter(status=SalesOrder.Status.APPROVED)
        .filter(Q(lines__reservations__status=Reservation.Status.ACTIVE) | Q(lines__in=open_service_lines))
        .distinct()
        .select_related("customer")
        .order_by("requested_date", "order_date", "id")
    )


def product_stock(product: Product):
    return StockItem.objects.filter(product=product).select_related("warehouse")


def shipping_queue(*, limit: int = 200) -> list[SalesOrder]:
    """The warehouse's list: orders_ready_to_ship() with, per order, `line_count` and
    `reserved_lines` (lines with an active reservation), counted by the database."""
    lines = SalesOrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order")
    reserved = lines.filter(reservations__status=Reservation.Status.ACTIVE)
    return list(
        orders_ready_to_ship().annotate(
            line_count=Subquery(lines.annotate(n=Count("pk")).values("n")),
            reserved_lines=Coalesce(Subquery(reserved.annotate(n=Count("pk", distinct=True)).values("n")), 0),
        )[:limit]
    )
