"""Orders submitted per second through o2c.flow.submit_order (validation, pricing, gapless
number, credit check with the profile row locked, stock reservation), single process, on
PostgreSQL; beside it the floor: the same writes as raw SQL, one transaction per order. Also
the CSV import's preview: rows checked per second for a 1,000-order file.

Data: `scale` x 300 customers (one in ten with a zero limit, so its orders are held) and
scale x 200 products with stock, bulk-inserted under a tag of their own per run (the rows stay:
benchmarks run on a database of their own)."""

import csv
import io
import random
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from credit.models import CreditProfile
from fulfillment import services as fulfillment
from fulfillment.models import Warehouse
from o2c import flow
from o2c.bench.common import Figure, rate, require_postgresql
from orders import imports
from orders.models import Customer, PaymentTerms, Product, SalesOrder
from orders.services import LineInput

LINES_PER_ORDER = 3
RUNS = 3


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    rng = random.Random(7)
    tag = f"B{int(time.time()) % 1_000_000:06d}"
    customers, products = _build(tag, customers=max(20, int(300 * scale)), products=max(10, int(200 * scale)))
    by, _ = get_user_model().objects.get_or_create(username="bench", defaults={"first_name": "Benchmark"})
    per_run = max(50, int(500 * scale))

    def orders(count: int) -> list[tuple[str, list[LineInput]]]:
        return [
            (
                rng.choice(customers).account_number,
                [LineInput(p.sku, str(rng.randint(1, 3))) for p in rng.sample(products, LINES_PER_ORDER)],
            )
            for _ in range(count)
        ]

    def submit_all(batch):
        for account, lines in batch:
            flow.submit_order(by=by, customer_account=account, lines=lines)

    submit_all(orders(10))  # warm-up: caches, the number series row
    flow_rates, floor_rates = [], []
    for _ in range(RUNS):
        batch = orders(per_run)
        flow_rates.append(rate(per_run, lambda batch=batch: submit_all(batch)))
        raw = orders(per_run)
        floor_rates.append(rate(per_run, lambda raw=raw: _raw_sql_orders(raw, customers, products)))
    held = SalesOrder.objects.filter(customer__account_number__startswith=tag, status="credit_hold").count()
    figures = [
        Figure(
            name="orders_submitted_per_second",
            unit="orders/s",
            samples=flow_rates,
            floor=sorted(floor_rates)[len(floor_rates) // 2],
            higher_is_better=True,
            extra={
                "orders_per_run": per_run,
                "lines_per_order": LINES_PER_ORDER,
                "customers": len(customers),
                "products": len(products),
                "held_orders": held,
                "floor_is": "raw SQL per order: lock credit profile, insert order and lines, reserve stock; one commit",
            },
        )
    ]
    figures.append(_csv_preview(tag, customers, products, by, rng))
    return figures


def _build(tag: str, *, customers: int, products: int) -> tuple[list[Customer], list[Product]]:
    terms, _ = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})
    warehouse, _ = Warehouse.objects.get_or_create(code="BENCH", defaults={"name": "Benchmark"})
    with transaction.atomic():
        made = Customer.objects.bulk_create(
            Customer(
                account_number=f"{tag}-{n:05d}",
                name=f"Bench customer {tag} {n}",
                email=f"ap{n}@{tag.lower()}.example",
                address_line="Rue Neuve 1",
                postal_code="1000",
                city="Brussels",
                payment_terms=terms,
            )
            for n in range(customers)
        )
        CreditProfile.objects.bulk_create(
            CreditProfile(customer=c, credit_limit=Decimal("0") if n % 10 == 0 else Decimal("10000000"))
            for n, c in enumerate(made)
        )
        items = Product.objects.bulk_create(
            Product(sku=f"{tag}-P{n:05d}", name=f"Bench product {n}", unit_price=Decimal(f"{5 + n % 50}.95"))
            for n in range(products)
        )
        for product in items:  # through the stock ledger, like any receipt
            fulfillment.receive_stock(
                warehouse=warehouse, product=product, quantity=Decimal("100000000"), by=None, note="Benchmark stock"
            )
    return made, items


def _raw_sql_orders(batch, customers: list[Customer], products: list[Product]) -> None:
    """The floor: what submit_order writes, as plain SQL, one committed transaction per order."""
    customer_ids = {c.account_number: c.pk for c in customers}
    product_ids = {p.sku: (p.pk, p.unit_price) for p in products}
    today, now = timezone.localdate(), timezone.now()
    with connection.cursor() as cursor:
        for account, lines in batch:
            with transaction.atomic():
                customer_id = customer_ids[account]
                cursor.execute(
                    "SELECT credit_limit FROM credit_creditprofile WHERE customer_id = %s FOR UPDATE", [customer_id]
                )
                cursor.fetchone()
                priced = []
                for number, line in enumerate(lines, start=1):
                    product_id, price = product_ids[line.sku]
                    quantity = Decimal(line.quantity)
                    net = (quantity * price).quantize(Decimal("0.01"))
                    priced.append(
                        (number, product_id, quantity, price, net, (net * Decimal("0.21")).quantize(Decimal("0.01")))
                    )
                net_total = sum(p[4] for p in priced)
                tax_total = sum(p[5] for p in priced)
                cursor.execute(
                    "INSERT INTO orders_salesorder (customer_id, status, channel, order_date, customer_po, currency,"
                    " net_amount, tax_amount, total, notes, created_at, cancel_reason, import_key)"
                    " VALUES (%s, 'approved', 'api', %s, '', 'EUR', %s, %s, %s, '', %s, '', '') RETURNING id",
                    [customer_id, today, net_total, tax_total, net_total + tax_total, now],
                )
                order_id = cursor.fetchone()[0]
                cursor.executemany(
                    "INSERT INTO orders_salesorderline (order_id, line_number, product_id, description, quantity,"
                    " list_price, price_source, discount_percent, override_reason, unit_price, tax_rate, net_amount,"
                    " tax_amount) VALUES (%s, %s, %s, 'x', %s, %s, 'list price', 0, '', %s, 0.21, %s, %s)",
                    [(order_id, n, pid, q, price, price, net, tax) for n, pid, q, price, net, tax in priced],
                )
                for _, product_id, quantity, *_ in priced:
                    cursor.execute(
                        "UPDATE fulfillment_stockitem SET reserved = reserved + %s WHERE product_id = %s",
                        [quantity, product_id],
                    )


def _csv_preview(tag: str, customers, products, by, rng) -> Figure:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order_key", "customer_account", "sku", "quantity", "customer_po"])
    rows = 0
    for n in range(1000):
        customer = rng.choice(customers)
        for product in rng.sample(products, 2):
            writer.writerow([f"{tag}-{n}", customer.account_number, product.sku, rng.randint(1, 5), f"PO-{n}"])
            rows += 1
    data = out.getvalue().encode()
    samples = [rate(rows, lambda: imports.check_file(imports.read_csv(data), by=by)) for _ in range(RUNS)]
    return Figure(
        name="csv_import_preview_rows_per_second",
        unit="rows/s",
        samples=samples,
        higher_is_better=True,
        extra={"orders": 1000, "rows": rows},
    )
