"""Full O2C cycles per second through the flow, and the raw-SQL floor beside it.

    python manage.py bench cycle [--scale 1] [--json PATH]

One cycle: o2c.flow.submit_order (validation, pricing, gapless number, credit check with the
profile locked, reservation) -> o2c.flow.ship (plan, pick, pack, ship, invoice with its gapless
number, posting; render and send tasks published after commit to a scratch Redis database)
-> o2c.flow.receive_payment (payment with an idempotency key, cash applied, order completed).
Single process, one client, on PostgreSQL.

Floor (PERFORMANCE.md): the same rows written as plain SQL in 7 committed transactions (order,
credit check FOR UPDATE, stock, shipment, invoice with gapless number + journal, payment with
idempotency key, cash application), triggers on. Target: the flow within 4x the floor
(about 40 cycles/s or more).

Data: scale x 50 customers and 20 products with stock (through the stock ledger), under a tag
of their own per run; the rows stay (issued invoices cannot be deleted; benchmarks run on a
database of their own)."""

import datetime
import random
import time
import uuid
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from fulfillment.models import Reservation, Shipment, ShipmentLine, StockMovement
from invoicing.models import Invoice, InvoiceLine, InvoiceTaxLine
from invoicing.references import rf_reference
from o2c import flow
from o2c.bench.common import Figure, rate, require_postgresql
from o2c.bench.invoicing import _restore_broker, _scratch_broker
from o2c.bench.orders import _build
from orders.models import SalesOrder, SalesOrderLine
from orders.services import LineInput
from receivables.models import Allocation, JournalEntry, JournalLine, Payment

RUNS = 3


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    rng = random.Random(11)
    tag = f"C{int(time.time()) % 1_000_000:06d}"
    customers, products = _build(tag, customers=max(10, int(50 * scale)), products=20)
    customers = [c for n, c in enumerate(customers) if n % 10]  # the zero-limit tenth would be held
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"first_name": "Benchmark"})
    per_run = max(5, int(100 * scale))
    today = timezone.localdate()

    def one_cycle():
        customer = rng.choice(customers)
        lines = [LineInput(p.sku, str(rng.randint(1, 3))) for p in rng.sample(products, 2)]
        order = flow.submit_order(by=user, customer_account=customer.account_number, lines=lines)
        invoice = flow.ship(order=order, by=user)
        flow.receive_payment(
            invoice=invoice, amount=invoice.total, value_date=today, by=user, idempotency_key=uuid.uuid4().hex
        )

    def raw_cycle():
        customer = rng.choice(customers)
        picked = [(p, rng.randint(1, 3)) for p in rng.sample(products, 2)]
        _raw_sql_cycle(customer, picked, today)

    previous = _scratch_broker()
    try:
        one_cycle()  # warm-up: caches, number series rows
        raw_cycle()
        flow_rates, floor_rates = [], []
        for _ in range(RUNS):
            flow_rates.append(rate(per_run, lambda: [one_cycle() for _ in range(per_run)]))
            floor_rates.append(rate(per_run, lambda: [raw_cycle() for _ in range(per_run)]))
    finally:
        _restore_broker(previous)
    floor = sorted(floor_rates)[len(floor_rates) // 2]
    return [
        Figure(
            "cycle.o2c_through_flow",
            "cycles/s",
            flow_rates,
            floor=floor,
            higher_is_better=True,
            target="within 4x the raw-SQL floor (>= ~40 cycles/s)",
            extra={
                "cycles_per_run": per_run,
                "floor_is": "the same rows as plain SQL in 7 committed transactions, 1 client",
                "floor_runs": [round(r, 2) for r in floor_rates],
            },
        )
    ]


# The floor --------------------------------------------------------------------------------------
_SQL: dict = {}


def _insert(cursor, model, values: dict) -> int:
    """INSERT one row with every concrete column (defaults for the ones not given); its id."""
    key = (model, tuple(values))
    if key not in _SQL:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        names = ", ".join(f'"{f.column}"' for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        _SQL[key] = (fields, f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({marks}) RETURNING id')
    fields, sql = _SQL[key]
    now = timezone.now()
    params = []
    for f in fields:
        if f.attname in values:
            value = values[f.attname]
        elif getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            value = now
        else:
            value = f.get_default()
        params.append(Jsonb(value) if isinstance(f, models.JSONField) else value)
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def _number(cursor, prefix: str, year: int) -> str:
    cursor.execute(
        "UPDATE core_numberseries SET last_number = last_number + 1 WHERE prefix = %s AND year = %s RETURNING last_number",
        [prefix, year],
    )
    return f"{prefix}-{year}-{cursor.fetchone()[0]:06d}"


def _entry(cursor, kind, customer_id, on, description, lines, *, invoice_id=None, payment_id=None) -> None:
    entry_id = _insert(
        cursor,
        JournalEntry,
        {
            "kind": kind,
            "customer_id": customer_id,
            "invoice_id": invoice_id,
            "payment_id": payment_id,
            "currency": "EUR",
            "effective_date": on,
            "description": description,
        },
    )
    for account, debit, credit in lines:
        if debit or credit:
            _insert(
                cursor,
                JournalLine,
                {
                    "entry_id": entry_id,
                    "account": account,
                    "customer_id": customer_id,
                    "debit": debit,
                    "credit": credit,
                },
            )


def _raw_sql_cycle(customer, picked, today: datetime.date) -> None:
    cent = Decimal("0.01")
    rate_ = Decimal("0.21")
    priced = [(p, q, (p.unit_price * q).quantize(cent)) for p, q in picked]
    net = sum(n for *_, n in priced)
    taxes = [(n * rate_).quantize(cent) for *_, n in priced]
    tax = sum(taxes)
    total = net + tax
    with connection.cursor() as cursor:
        with transaction.atomic():  # 1. the order, numbered
            order_id = _insert(
                cursor,
                SalesOrder,
                {
                    "customer_id": customer.pk,
                    "status": "submitted",
                    "order_date": today,
                    "currency": "EUR",
                    "net_amount": net,
                    "tax_amount": tax,
                    "total": total,
                    "payment_terms_id": customer.payment_terms_id,
                    "submitted_at": timezone.now(),
                },
            )
            line_ids = [
                _insert(
                    cursor,
                    SalesOrderLine,
                    {
                        "order_id": order_id,
                        "line_number": n,
                        "product_id": p.pk,
                        "description": p.name,
                        "quantity": q,
                        "list_price": p.unit_price,
                        "price_source": "list price",
                        "unit_price": p.unit_price,
                        "tax_rate": rate_,
                        "net_amount": line_net,
                        "tax_amount": taxes[n - 1],
                    },
                )
                for n, (p, q, line_net) in enumerate(priced, start=1)
            ]
            cursor.execute(
                "UPDATE orders_salesorder SET number = %s WHERE id = %s", [_number(cursor, "SO", today.year), order_id]
            )
        with transaction.atomic():  # 2. the credit check, the profile locked
            cursor.execute(
                "SELECT credit_limit FROM credit_creditprofile WHERE customer_id = %s FOR UPDATE", [customer.pk]
            )
            cursor.execute(
                "SELECT COALESCE(SUM(amount_open), 0) FROM invoicing_invoice WHERE customer_id = %s AND status = 'issued'",
                [customer.pk],
            )
            cursor.execute("UPDATE orders_salesorder SET status = 'approved' WHERE id = %s", [order_id])
        items = []
        with transaction.atomic():  # 3. stock reserved
            for line_id, (p, q, _) in zip(line_ids, priced, strict=True):
                cursor.execute(
                    "UPDATE fulfillment_stockitem SET reserved = reserved + %s WHERE product_id = %s RETURNING id",
                    [q, p.pk],
                )
                item_id = cursor.fetchone()[0]
                items.append(item_id)
                _insert(
                    cursor,
                    StockMovement,
                    {"stock_item_id": item_id, "kind": "reservation", "reserved_change": q, "order_line_id": line_id},
                )
                _insert(cursor, Reservation, {"order_line_id": line_id, "stock_item_id": item_id, "quantity": q})
        with transaction.atomic():  # 4. the shipment, numbered, stock out
            shipment_number = _number(cursor, "SHP", today.year)
            shipment_id = _insert(
                cursor,
                Shipment,
                {
                    "number": shipment_number,
                    "customer_id": customer.pk,
                    "status": "shipped",
                    "ship_to": customer.name,
                    "ship_date": today,
                    "shipped_at": timezone.now(),
                },
            )
            shipment_lines = []
            for line_id, item_id, (_, q, _) in zip(line_ids, items, priced, strict=True):
                shipment_lines.append(
                    _insert(
                        cursor,
                        ShipmentLine,
                        {"shipment_id": shipment_id, "order_line_id": line_id, "quantity": q, "picked_quantity": q},
                    )
                )
                cursor.execute(
                    "UPDATE fulfillment_stockitem SET on_hand = on_hand - %s, reserved = reserved - %s WHERE id = %s",
                    [q, q, item_id],
                )
                _insert(
                    cursor,
                    StockMovement,
                    {
                        "stock_item_id": item_id,
                        "kind": "shipment",
                        "on_hand_change": -q,
                        "reserved_change": -q,
                        "order_line_id": line_id,
                    },
                )
            cursor.execute(
                "UPDATE fulfillment_reservation SET status = 'shipped' WHERE order_line_id = ANY(%s)", [line_ids]
            )
        with transaction.atomic():  # 5. the invoice, numbered last, and its posting
            invoice_id = _insert(
                cursor,
                Invoice,
                {
                    "customer_id": customer.pk,
                    "order_id": order_id,
                    "shipment_id": shipment_id,
                    "status": "draft",
                    "currency": "EUR",
                    "bill_to": customer.name,
                    "payment_terms": "30 days net",
                    "net_amount": net,
                    "tax_amount": tax,
                    "total": total,
                },
            )
            for n, ((p, q, line_net), shipment_line_id) in enumerate(zip(priced, shipment_lines, strict=True), start=1):
                _insert(
                    cursor,
                    InvoiceLine,
                    {
                        "invoice_id": invoice_id,
                        "line_number": n,
                        "order_line_id": line_ids[n - 1],
                        "shipment_line_id": shipment_line_id,
                        "description": p.name,
                        "quantity": q,
                        "unit_price": p.unit_price,
                        "tax_rate": rate_,
                        "net_amount": line_net,
                        "tax_amount": taxes[n - 1],
                        "delivery_reference": shipment_number,
                    },
                )
            _insert(
                cursor,
                InvoiceTaxLine,
                {"invoice_id": invoice_id, "category": "S", "rate": rate_, "taxable_amount": net, "tax_amount": tax},
            )
            number = _number(cursor, "INV", today.year)
            cursor.execute(
                "UPDATE invoicing_invoice SET status = 'issued', number = %s, issue_date = %s, supply_date = %s,"
                " due_date = %s, amount_open = total, issued_at = now(), rf_reference = %s WHERE id = %s",
                [number, today, today, today + datetime.timedelta(days=30), rf_reference(number), invoice_id],
            )
            _entry(
                cursor,
                "invoice",
                customer.pk,
                today,
                f"Invoice {number}",
                [("1200", total, 0), ("4000", 0, net), ("2400", 0, tax)],
                invoice_id=invoice_id,
            )
        with transaction.atomic():  # 6. the payment, with its idempotency key
            payment_id = _insert(
                cursor,
                Payment,
                {
                    "customer_id": customer.pk,
                    "amount": total,
                    "currency": "EUR",
                    "value_date": today,
                    "reference": number,
                    "idempotency_key": uuid.uuid4().hex,
                },
            )
            _entry(
                cursor,
                "payment",
                customer.pk,
                today,
                f"Payment #{payment_id} received",
                [("1000", total, 0), ("2050", 0, total)],
                payment_id=payment_id,
            )
        with transaction.atomic():  # 7. cash applied, invoice paid, order completed
            cursor.execute("SELECT amount FROM receivables_payment WHERE id = %s FOR UPDATE", [payment_id])
            cursor.execute(
                "UPDATE invoicing_invoice SET amount_open = 0, status = 'paid' WHERE id = %s AND amount_open >= %s",
                [invoice_id, total],
            )
            _insert(cursor, Allocation, {"payment_id": payment_id, "invoice_id": invoice_id, "amount": total})
            cursor.execute(
                "UPDATE receivables_payment SET amount_applied = amount, status = 'applied' WHERE id = %s", [payment_id]
            )
            _entry(
                cursor,
                "allocation",
                customer.pk,
                today,
                f"Payment #{payment_id} applied to {number}",
                [("2050", total, 0), ("1200", 0, total)],
                invoice_id=invoice_id,
                payment_id=payment_id,
            )
            cursor.execute(
                "UPDATE orders_salesorder SET status = 'completed', completed_at = now() WHERE id = %s", [order_id]
            )
