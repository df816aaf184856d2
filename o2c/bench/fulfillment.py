"""Reservations per second with 8 concurrent workers (threads, each its own PostgreSQL
connection), on one hot SKU and spread over 10,000 SKUs (scaled by --scale).

Each worker reserves approved one-line orders through fulfillment.services.reserve_order, one
transaction per order, exactly as an approval does (lock the order and stock rows, guarded
update, reservation + ledger movement + timeline). The floor is the same reservation written as
raw SQL by the same 8 threads: one guarded UPDATE of the stock row, one reservation INSERT, one
movement INSERT, one COMMIT. Data is bulk-inserted under a fresh prefix, so runs never collide. --scale sizes the number
of orders reserved per run (4,000 at 1.0); the catalogue is always 10,000 SKUs.
"""

import threading
import time
from decimal import Decimal

from django.db import connection, connections, transaction
from django.utils import timezone

from fulfillment import services as fulfillment
from fulfillment.models import StockItem, StockMovement, Warehouse
from orders.models import Customer, PaymentTerms, Product, SalesOrder, SalesOrderLine

from .common import Figure, require_postgresql

WORKERS = 8
RUNS = 3
FULL_SKUS = 10_000
FULL_ORDERS_PER_RUN = 4_000


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    skus = FULL_SKUS  # always the 10,000 SKUs (cheap to insert); --scale sizes the order count
    per_run = max(WORKERS * 20, int(FULL_ORDERS_PER_RUN * scale))
    world = _build(skus=skus, orders=per_run * RUNS * 2)
    figures = []
    for scenario, pick in (
        ("hot SKU", lambda i: world["hot"]),
        (f"{skus:,} SKUs", lambda i: world["spread"][i % skus]),
    ):
        samples, floors = [], []
        for _ in range(RUNS):
            orders = _orders(world, per_run, pick)
            samples.append(_concurrently(orders, _reserve_one))
            floors.append(_concurrently(_floor_rows(world, per_run, pick), _raw_reserve_one))
        figures.append(
            Figure(
                name=f"fulfillment.reservations_per_s.{'hot_sku' if scenario == 'hot SKU' else 'spread_skus'}",
                unit="res/s",
                samples=samples,
                floor=sorted(floors)[len(floors) // 2],
                higher_is_better=True,
                target=f"{WORKERS} workers, {per_run} one-line orders per run, {scenario}",
                extra={"workers": WORKERS, "skus": 1 if scenario == "hot SKU" else skus},
            )
        )
    problems = _check_consistency(world)
    if problems:
        raise SystemExit("Stock balances do not match the ledger after the benchmark:\n" + "\n".join(problems[:10]))
    return figures


# --- data -----------------------------------------------------------------------------------------
def _build(*, skus: int, orders: int) -> dict:
    prefix = f"B{int(time.time()) % 10**7:07d}"
    with transaction.atomic():
        warehouse, _ = Warehouse.objects.get_or_create(code="BENCH", defaults={"name": "Benchmark warehouse"})
        terms, _ = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})
        customer = Customer.objects.create(
            account_number=prefix,
            name=f"Bench customer {prefix}",
            email="bench@example.com",
            address_line="Benchlaan 1",
            postal_code="1000",
            city="Brussels",
            payment_terms=terms,
        )
        products = Product.objects.bulk_create(
            Product(sku=f"{prefix}-{n:05d}", name=f"Bench item {n}", unit_price=Decimal("1.00"))
            for n in range(skus + 1)
        )
        huge = Decimal(orders * 2)
        items = StockItem.objects.bulk_create(StockItem(warehouse=warehouse, product=p, on_hand=huge) for p in products)
        StockMovement.objects.bulk_create(
            StockMovement(stock_item=i, kind=StockMovement.Kind.RECEIPT, on_hand_change=huge, note="Bench stock")
            for i in items
        )
    return {
        "prefix": prefix,
        "customer": customer,
        "hot": products[0],
        "spread": products[1:],
        "items": {i.product_id: i.pk for i in items},
        "warehouse": warehouse,
    }


def _orders(world: dict, count: int, pick) -> list[int]:
    today = timezone.localdate()
    with transaction.atomic():
        orders = SalesOrder.objects.bulk_create(
            SalesOrder(
                customer=world["customer"],
                status=SalesOrder.Status.APPROVED,
                order_date=today,
                currency="EUR",
                net_amount=Decimal("1.00"),
                tax_amount=Decimal("0.21"),
                total=Decimal("1.21"),
            )
            for _ in range(count)
        )
        SalesOrderLine.objects.bulk_create(
            SalesOrderLine(
                order=order,
                line_number=1,
                product=pick(index),
                description="Bench item",
                quantity=Decimal("1"),
                unit_price=Decimal("1.00"),
                tax_rate=Decimal("0.21"),
                net_amount=Decimal("1.00"),
                tax_amount=Decimal("0.21"),
            )
            for index, order in enumerate(orders)
        )
    return [o.pk for o in orders]


def _floor_rows(world: dict, count: int, pick) -> list[tuple[int, int]]:
    """(stock item id, order line id) pairs for the raw-SQL floor: fresh orders, same shape."""
    order_ids = _orders(world, count, pick)
    lines = dict(SalesOrderLine.objects.filter(order_id__in=order_ids).values_list("order_id", "pk"))
    products = dict(SalesOrderLine.objects.filter(order_id__in=order_ids).values_list("pk", "product_id"))
    return [(world["items"][products[lines[o]]], lines[o]) for o in order_ids]


# --- the work -------------------------------------------------------------------------------------
def _reserve_one(order_id: int) -> None:
    fulfillment.reserve_order(order=SalesOrder(pk=order_id))


def _raw_reserve_one(row: tuple[int, int]) -> None:
    item_id, line_id = row
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE fulfillment_stockitem SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1",
            [item_id],
        )
        cursor.execute(
            "INSERT INTO fulfillment_reservation (order_line_id, stock_item_id, quantity, status, created_at)"
            " VALUES (%s, %s, 1, 'active', now())",
            [line_id, item_id],
        )
        cursor.execute(
            "INSERT INTO fulfillment_stockmovement (stock_item_id, kind, on_hand_change, reserved_change, reason, note, at)"
            " VALUES (%s, 'reservation', 0, 1, '', '', now())",
            [item_id],
        )


def _concurrently(work: list, fn) -> float:
    """Items per second when WORKERS threads (each its own connection) share `work`."""
    chunks = [work[i::WORKERS] for i in range(WORKERS)]
    barrier = threading.Barrier(WORKERS + 1)
    errors = []

    def worker(chunk):
        try:
            connection.ensure_connection()
            barrier.wait()
            for item in chunk:
                fn(item)
        except Exception as error:  # noqa: BLE001 - reported after the run
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} workers failed; first: {errors[0]!r}")
    return len(work) / elapsed


def _check_consistency(world: dict) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.id, s.on_hand, s.reserved, COALESCE(SUM(m.on_hand_change), 0), COALESCE(SUM(m.reserved_change), 0)
                 FROM fulfillment_stockitem s LEFT JOIN fulfillment_stockmovement m ON m.stock_item_id = s.id
                WHERE s.warehouse_id = %s GROUP BY s.id
               HAVING s.on_hand <> COALESCE(SUM(m.on_hand_change), 0) OR s.reserved <> COALESCE(SUM(m.reserved_change), 0)""",
            [world["warehouse"].pk],
        )
        return [f"stock item {row[0]}: {row[1]}/{row[2]} vs ledger {row[3]}/{row[4]}" for row in cursor.fetchall()]
