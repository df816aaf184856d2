"""Stock: the ledger of movements and the balances it keeps, reservations and backorders.

Every change of on hand or reserved goes through apply_movements(): one guarded UPDATE for all
stock items touched (it refuses, as a whole, any change that would take on hand below zero or
reserved above on hand), then the movements themselves, which the database never lets anyone
update or delete. Reservation locks the stock rows of an order's products in one statement, in
id order, so concurrent approvals never oversell and never deadlock.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from o2c.core import timeline
from o2c.core.errors import DomainError
from o2c.core.transactions import atomic
from orders.models import SalesOrder, SalesOrderLine
from orders.selectors import contact_emails

from ..models import Backorder, ExpectedReceipt, Reservation, StockItem, StockMovement, Warehouse

ZERO = Decimal("0")
DEFAULT_PRIORITY = ("requested_date", "order_date")


class FulfillmentError(DomainError):
    pass


@dataclass
class Shortfall:
    line: SalesOrderLine
    missing: Decimal


# --- the ledger ---------------------------------------------------------------------------------
def apply_movements(movements: list[StockMovement]) -> None:
    """Apply the balance changes of `movements` to their stock items and record them, all or
    nothing. Raises FulfillmentError naming the product when a balance would break."""
    if not movements:
        return
    deltas: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for movement in movements:
        delta = deltas[movement.stock_item_id]
        delta[0] += movement.on_hand_change
        delta[1] += movement.reserved_change
    deltas = {pk: d for pk, d in deltas.items() if d != [ZERO, ZERO]}
    # No savepoint of its own: a refusal raises, and the caller's transaction rolls back whole.
    with transaction.atomic(savepoint=False):
        if deltas:
            updated = _guarded_update(deltas)
            if updated != len(deltas):
                raise FulfillmentError(_which_item_breaks(deltas))
        StockMovement.objects.bulk_create(movements)


def _guarded_update(deltas: dict[int, list[Decimal]]) -> int:
    if connection.vendor == "postgresql":
        values = ", ".join(["(%s::bigint, %s::numeric, %s::numeric)"] * len(deltas))
        params = [value for pk in sorted(deltas) for value in (pk, *deltas[pk])]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE fulfillment_stockitem AS s
                       SET on_hand = s.on_hand + v.column2, reserved = s.reserved + v.column3
                      FROM (VALUES {values}) AS v
                     WHERE s.id = v.column1
                       AND s.on_hand + v.column2 >= 0
                       AND s.reserved + v.column3 >= 0
                       AND s.reserved + v.column3 <= s.on_hand + v.column2""",
                params,
            )
            return cursor.rowcount
    updated = 0  # the embedded SQLite: one guarded statement per item (its writes are serialised anyway)
    for pk in sorted(deltas):
        on_hand, reserved = deltas[pk]
        updated += (
            StockItem.objects.filter(pk=pk, on_hand__gte=-on_hand, reserved__gte=-reserved)
            .filter(reserved__lte=F("on_hand") + on_hand - reserved)
            .update(on_hand=F("on_hand") + on_hand, reserved=F("reserved") + reserved)
        )
    return updated


def _which_item_breaks(deltas) -> str:
    for item in StockItem.objects.filter(pk__in=deltas).select_related("product", "warehouse"):
        on_hand, reserved = item.on_hand + deltas[item.pk][0], item.reserved + deltas[item.pk][1]
        if on_hand < 0:
            return f"{item.product.sku} at {item.warehouse.code}: only {_q(item.on_hand)} on hand."
        if reserved > on_hand:
            return (
                f"{item.product.sku} at {item.warehouse.code}: {_q(item.available)} available "
                f"({_q(item.on_hand)} on hand, {_q(item.reserved)} reserved)."
            )
    return "The stock changed meanwhile; try again."


def _q(quantity: Decimal) -> str:
    return f"{quantity.normalize():f}"


def stock_item_for(*, warehouse: Warehouse, product) -> StockItem:
    item = StockItem.objects.filter(warehouse=warehouse, product=product).first()
    if item is None:
        item, _ = StockItem.objects.get_or_create(warehouse=warehouse, product=product)
    return item


# --- receipts, adjustments, scrap ---------------------------------------------------------------
@atomic
def receive_stock(
    *,
    warehouse: Warehouse,
    product,
    quantity: Decimal,
    by=None,
    note: str = "",
    expected_receipt: ExpectedReceipt | None = None,
) -> StockItem:
    """Put `quantity` of `product` on hand in `warehouse` (a receipt movement). Marks the
    expected receipt received. Filling backorders is the flow's next step (flow.receive_stock)."""
    quantity = Decimal(quantity)
    if quantity <= 0:
        raise FulfillmentError("A receipt must add a positive quantity.", [("receipt", "quantity", "Above zero.")])
    item = stock_item_for(warehouse=warehouse, product=product)
    apply_movements(
        [StockMovement(stock_item=item, kind=StockMovement.Kind.RECEIPT, on_hand_change=quantity, by=by, note=note)]
    )
    if expected_receipt is not None:
        ExpectedReceipt.objects.filter(pk=expected_receipt.pk).update(status=ExpectedReceipt.Status.RECEIVED)
    item.refresh_from_db()
    return item


@atomic
def adjust_stock(*, warehouse: Warehouse, product, change: Decimal, reason: str, by=None, scrap: bool = False):
    """A counted difference (or scrap, always negative) with the reason a clerk gave."""
    change = Decimal(change)
    if not reason.strip():
        raise FulfillmentError("Say why the stock changes.", [("adjustment", "reason", "A reason is required.")])
    if change == 0 or (scrap and change > 0):
        raise FulfillmentError("The change must be non-zero (and negative for scrap).")
    item = stock_item_for(warehouse=warehouse, product=product)
    kind = StockMovement.Kind.SCRAP if scrap else StockMovement.Kind.ADJUSTMENT
    apply_movements([StockMovement(stock_item=item, kind=kind, on_hand_change=change, reason=reason.strip(), by=by)])
    item.refresh_from_db()
    return item


# --- reservations -------------------------------------------------------------------------------
def priority_order() -> list:
    """The order in which competing orders are served: settings.O2C_RESERVATION_PRIORITY,
    fields of SalesOrder (earliest first, empty last), then the order id."""
    fields = getattr(settings, "O2C_RESERVATION_PRIORITY", DEFAULT_PRIORITY)
    return [*(F(field).asc(nulls_last=True) for field in fields), F("id").asc()]


def reserve_order(*, order: SalesOrder, by=None) -> list[Shortfall]:
    """Reserve every stock-tracked line of an approved order, default warehouse first; the
    rest becomes (or updates) the line's open backorder. Returns the shortfalls."""
    return reserve_orders(orders=[order], by=by).get(order.pk, [])


@atomic
def reserve_orders(*, orders: list[SalesOrder], by=None) -> dict[int, list[Shortfall]]:
    """Reserve for several approved orders at once, served in priority order: one lock
    statement for all their stock rows, one guarded update, bulk inserts. A constant number
    of queries, however many lines."""
    order_ids = sorted(o.pk for o in orders)
    # Lock the orders first (id order): a receipt filling backorders and an approval of the
    # same order never both reserve its lines.
    list(SalesOrder.objects.select_for_update().filter(pk__in=order_ids).order_by("id").values_list("id"))
    lines = list(
        SalesOrderLine.objects.filter(order_id__in=order_ids, order__status=SalesOrder.Status.APPROVED)
        .filter(product__is_stock_tracked=True)
        .select_related("order", "product")
        .annotate(
            held=Sum(
                "reservations__quantity",
                filter=Q(reservations__status__in=[Reservation.Status.ACTIVE, Reservation.Status.SHIPPED]),
                default=ZERO,
            )
        )
        .order_by(*[_on_order(p) for p in priority_order()], "line_number")
    )
    needed = {line.pk: line.quantity - line.held for line in lines if line.quantity > line.held}
    if not needed:
        _close_filled_backorders(lines)
        return {}
    product_ids = {line.product_id for line in lines if line.pk in needed}
    items = list(
        StockItem.objects.select_for_update(of=("self",))
        .filter(product_id__in=product_ids)
        .select_related("warehouse")
        .order_by("id")  # one lock order for everybody: no deadlocks between orders
    )
    by_product: dict[int, list[StockItem]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (not i.warehouse.is_default, i.warehouse.code)):
        by_product[item.product_id].append(item)
    movements, reservations, shortfalls = [], [], defaultdict(list)
    for line in lines:
        still_needed = needed.get(line.pk, ZERO)
        if still_needed <= 0:
            continue
        for item in by_product[line.product_id]:
            take = min(still_needed, item.on_hand - item.reserved)
            if take <= 0:
                continue
            item.reserved += take
            still_needed -= take
            reservations.append(Reservation(order_line=line, stock_item=item, quantity=take))
            movements.append(
                StockMovement(
                    stock_item=item, kind=StockMovement.Kind.RESERVATION, reserved_change=take, order_line=line, by=by
                )
            )
            if still_needed == 0:
                break
        if still_needed > 0:
            shortfalls[line.order_id].append(Shortfall(line, still_needed))
    apply_movements(movements)
    Reservation.objects.bulk_create(reservations)
    _record_backorders(lines=lines, shortfalls=[s for group in shortfalls.values() for s in group])
    touched = {line.order_id: line.order for line in lines if line.pk in needed}
    for order in touched.values():
        short = shortfalls.get(order.pk, [])
        summary = (
            "Stock reserved"
            if not short
            else "Stock reserved in part; "
            + ", ".join(f"line {s.line.line_number} short {_q(s.missing)} {s.line.product.unit}" for s in short)
        )
        timeline.record(order, "reserved", summary=summary, trail=order.trail, by=by)
    return dict(shortfalls)


def _on_order(expression):
    """priority_order() is written for SalesOrder; the same ordering for its lines."""
    if isinstance(expression.expression, F):
        expression = expression.copy()
        expression.expression = F(f"order__{expression.expression.name}")
    return expression


def _record_backorders(*, lines: list[SalesOrderLine], shortfalls: list[Shortfall]) -> None:
    """Open (or resize) one backorder per short line, close those now filled, and tell each
    customer once per line, with the date the expected receipts promise."""
    short_by_line = {s.line.pk: s for s in shortfalls}
    line_ids = [line.pk for line in lines]
    open_backorders = {b.order_line_id: b for b in Backorder.objects.filter(order_line_id__in=line_ids, status="open")}
    already_told = set(
        Backorder.objects.filter(order_line_id__in=short_by_line, notified_at__isnull=False).values_list(
            "order_line_id", flat=True
        )
    )
    now = timezone.now()
    to_create, to_resize, to_fill = [], [], []
    for line_id, backorder in open_backorders.items():
        if line_id not in short_by_line:
            backorder.status, backorder.filled_at = Backorder.Status.FILLED, now
            to_fill.append(backorder)
        elif backorder.quantity != short_by_line[line_id].missing:
            backorder.quantity = short_by_line[line_id].missing
            to_resize.append(backorder)
    expected = _expected_dates({s.line.product_id for s in shortfalls}, shortfalls)
    for line_id, shortfall in short_by_line.items():
        if line_id not in open_backorders:
            to_create.append(
                Backorder(
                    order_line=shortfall.line,
                    quantity=shortfall.missing,
                    expected_date=expected.get(line_id),
                    notified_at=None if line_id in already_told else now,
                )
            )
    Backorder.objects.bulk_create(to_create)
    Backorder.objects.bulk_update(to_fill, ["status", "filled_at"])
    Backorder.objects.bulk_update(to_resize, ["quantity"])
    to_tell = [b for b in to_create if b.notified_at == now]
    if to_tell:
        notices = _notices(to_tell)
        transaction.on_commit(lambda: _send_notices(notices))


def _close_filled_backorders(lines) -> None:
    Backorder.objects.filter(order_line__in=[line.pk for line in lines], status="open").update(
        status=Backorder.Status.FILLED, filled_at=timezone.now()
    )


def _expected_dates(product_ids, shortfalls: list[Shortfall]) -> dict[int, datetime.date]:
    """Per short line, the first expected-receipt date by which everything expected covers
    the backorders already waiting for the product plus this one."""
    if not product_ids:
        return {}
    receipts = defaultdict(list)
    for receipt in ExpectedReceipt.objects.filter(
        product_id__in=product_ids, status=ExpectedReceipt.Status.OPEN
    ).order_by("expected_date", "id"):
        receipts[receipt.product_id].append(receipt)
    waiting = dict(
        Backorder.objects.filter(order_line__product_id__in=product_ids, status="open")
        .exclude(order_line_id__in=[s.line.pk for s in shortfalls])
        .values_list("order_line__product_id")
        .annotate(q=Sum("quantity"))
    )
    result = {}
    for shortfall in shortfalls:
        product_id = shortfall.line.product_id
        waiting[product_id] = waiting.get(product_id, ZERO) + shortfall.missing
        covered = ZERO
        for receipt in receipts[product_id]:
            covered += receipt.quantity
            if covered >= waiting[product_id]:
                result[shortfall.line.pk] = receipt.expected_date
                break
    return result


def _notices(backorders: list[Backorder]) -> list[tuple[list[str], str, str]]:
    """(to, subject, body) per order, to the customer's 'orders' contacts (or its invoice email)."""
    by_order = defaultdict(list)
    for backorder in backorders:
        by_order[backorder.order_line.order].append(backorder)
    notices = []
    for order, items in by_order.items():
        rows = []
        for b in items:
            line = b.order_line
            when = f"expected by {b.expected_date:%d %B %Y}" if b.expected_date else "date to be confirmed"
            rows.append(
                f"- line {line.line_number}, {line.product.sku} {line.description}: {_q(b.quantity)} {line.product.unit} to follow, {when}"
            )
        body = (
            f"Dear {order.customer.name},\n\nThank you for order {order.number}"
            + (f" (your PO {order.customer_po})" if order.customer_po else "")
            + ". Part of it is not in stock today:\n\n"
            + "\n".join(rows)
            + "\n\nWe ship the rest as soon as it arrives; you do not need to do anything.\n\n"
            + settings.O2C_COMPANY["name"]
        )
        to = contact_emails(order.customer, "orders")
        if to:
            notices.append((to, f"Order {order.number}: items on backorder", body))
    return notices


def _send_notices(notices) -> None:
    for to, subject, body in notices:
        send_mail(subject, body, None, to, fail_silently=False)


def backordered_orders():
    """Approved orders with an open backorder, in the order they will be served."""
    return SalesOrder.objects.filter(status=SalesOrder.Status.APPROVED, lines__backorders__status="open").distinct()


@atomic
def fill_backorders(*, product_ids, by=None) -> dict[int, list[Shortfall]]:
    """Reserve newly arrived stock for the orders waiting for these products, in priority
    order (requested date, then order date, by default)."""
    order_ids = (
        Backorder.objects.filter(status="open", order_line__product_id__in=list(product_ids))
        .values_list("order_line__order_id", flat=True)
        .distinct()
    )
    orders = list(SalesOrder.objects.filter(pk__in=list(order_ids), status=SalesOrder.Status.APPROVED))
    if not orders:
        return {}
    return reserve_orders(orders=orders, by=by)


@atomic
def release_order(*, order: SalesOrder, by=None, reason: str = "") -> Decimal:
    """Give back every active reservation of the order (cancelled, or re-planned)."""
    reservations = list(
        Reservation.objects.select_for_update()
        .filter(order_line__order=order, status=Reservation.Status.ACTIVE)
        .order_by("stock_item_id")
    )
    apply_movements(
        [
            StockMovement(
                stock_item_id=r.stock_item_id,
                kind=StockMovement.Kind.RELEASE,
                reserved_change=-r.quantity,
                order_line_id=r.order_line_id,
                note=reason[:200],
                by=by,
            )
            for r in reservations
        ]
    )
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(status=Reservation.Status.RELEASED)
    Backorder.objects.filter(order_line__order=order, status="open").update(status=Backorder.Status.CANCELLED)
    return sum((r.quantity for r in reservations), ZERO)
