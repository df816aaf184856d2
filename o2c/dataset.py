"""A realistic, seeded dataset at a chosen size, bulk-loaded with COPY (PostgreSQL only).

`python manage.py generate_dataset --invoices 1000000` builds, for the last ~13 months:
customers (segments, terms, credit profiles with limits and risk classes, contacts), products,
stock (warehouses, stock items whose on hand and reserved are the sums of their movements),
orders with lines, shipments, issued invoices with gapless numbers per series and year and
their tax breakdown, every money event as a balanced AR journal entry (Dr receivables / Cr
revenue / Cr tax; Dr bank / Cr unapplied cash; Dr unapplied cash / Cr receivables), payments
with allocations, credit notes, disputes and promises to pay. Most invoices are paid; the
rest are open, some of them overdue in every aging bucket, some partly paid.

How it is fast: every row is generated in Python as COPY text and streamed to PostgreSQL,
table by table in chunks; the row triggers (FK checks, the issued-invoice guard, the ledger's
balanced-entry check) are switched off for the load with session_replication_role=replica,
because the rows are written already issued and complete. What those triggers would have
checked is then proved set-based by o2c.integrity (the nightly check), which the command runs
at the end unless --no-check. Sequences are advanced past the loaded ids and the number
series counters set to the last number of each series and year.
"""

import datetime
import json
import queue
import random
import threading
import time
from dataclasses import dataclass, field

from django.db import connection, models, transaction
from django.utils import timezone

from credit.models import CreditProfile
from fulfillment.models import (
    Carrier,
    Reservation,
    Shipment,
    ShipmentLine,
    StockItem,
    StockMovement,
    Warehouse,
)
from invoicing.models import Invoice, InvoiceLine, InvoiceTaxLine
from invoicing.references import rf_reference
from invoicing.services import current_company, seller_snapshot
from o2c.core.models import NumberSeries
from orders.models import Contact, Customer, PaymentTerms, Product, SalesOrder, SalesOrderLine
from receivables.models import (
    Account,
    Allocation,
    CollectionActivity,
    Dispute,
    JournalEntry,
    JournalLine,
    Payment,
    PromiseToPay,
)

CHUNK = 20_000  # invoices per flush of the COPY buffers
DROP_INDEXES_FROM = 100_000  # invoices: above this, secondary indexes are rebuilt after the load

SEGMENTS = [("SMB", 55), ("MID", 30), ("ENTERPRISE", 8), ("PUBLIC", 4), ("RETAIL", 3)]
LIMIT_BY_SEGMENT = {"SMB": 10_000, "MID": 50_000, "ENTERPRISE": 250_000, "PUBLIC": 100_000, "RETAIL": 5_000}
RISK = [("A", 20), ("B", 45), ("C", 22), ("D", 9), ("E", 4)]
CITIES = [
    ("1000", "Brussels", "BE"),
    ("2000", "Antwerp", "BE"),
    ("9000", "Ghent", "BE"),
    ("4000", "Liege", "BE"),
    ("3000", "Leuven", "BE"),
    ("8000", "Bruges", "BE"),
]
FOREIGN = [
    ("1011", "Amsterdam", "NL", "intra_eu"),
    ("75001", "Paris", "FR", "intra_eu"),
    ("10115", "Berlin", "DE", "intra_eu"),
]
EXPORT = [("SW1A", "London", "GB", "export"), ("10001", "New York", "US", "export")]
WORDS = [
    "Acme",
    "Nova",
    "Delta",
    "Orion",
    "Vega",
    "Atlas",
    "Polar",
    "Lumen",
    "Terra",
    "Nexus",
    "Apex",
    "Zenit",
    "Vertex",
    "Flux",
    "Sigma",
    "Helix",
    "Mosa",
    "Scheldt",
]
FORMS = ["NV", "BV", "SRL", "BVBA", "SA", "GmbH", "Ltd"]
ITEMS = [
    "Bolt",
    "Nut",
    "Washer",
    "Bracket",
    "Hinge",
    "Valve",
    "Pump",
    "Filter",
    "Sensor",
    "Cable",
    "Relay",
    "Switch",
    "Panel",
    "Gasket",
    "Bearing",
    "Motor",
]


def _esc(value: str) -> str:
    """Text for COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _money(cents: int) -> str:
    """Cents (never negative here) as a decimal string."""
    return f"{cents // 100}.{cents % 100:02d}"


def _tax(net_cents: int, rate_percent: int) -> int:
    """Tax in cents, rounded half up (net is never negative here)."""
    return (net_cents * rate_percent + 50) // 100


def _constant(f: models.Field, now: datetime.datetime) -> str:
    """The COPY text of a column we do not generate: its default (auto_now(_add): now)."""
    if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
        return now.isoformat()
    value = f.get_default()
    if value is None:
        return "\\N"
    if isinstance(f, models.JSONField):
        return _esc(json.dumps(value))
    if isinstance(value, bool):
        return "t" if value else "f"
    return _esc(str(value))


class Table:
    """A COPY stream into one model's table: the generated columns first, then every other
    concrete column as its default (so a column added later with a default keeps loading)."""

    def __init__(self, model, columns: list[str], now: datetime.datetime):
        self.model = model
        self.table = model._meta.db_table
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(columns) - set(by_attname)
        if unknown:
            raise ValueError(f"{self.table}: no columns {sorted(unknown)}")
        rest = [f for f in model._meta.concrete_fields if f.attname not in columns]
        self.columns = [by_attname[c].column for c in columns] + [f.column for f in rest]
        self.suffix = "".join("\t" + _constant(f, now) for f in rest)
        self.buffer: list[str] = []
        self.rows = 0
        self.next_id = None

    def start_ids(self, cursor) -> int:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{self.table}"')
        self.next_id = cursor.fetchone()[0]
        return self.next_id

    def take_id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def add(self, line: str) -> None:
        """`line`: the generated columns, tab-separated and already escaped."""
        self.buffer.append(line + self.suffix + "\n")

    def flush(self, writer: "Writer") -> None:
        if not self.buffer:
            return
        names = ", ".join(f'"{c}"' for c in self.columns)
        writer.put(f'COPY "{self.table}" ({names}) FROM STDIN', "".join(self.buffer))
        self.rows += len(self.buffer)
        self.buffer = []


class Writer:
    """COPYs the generated chunks from a thread, so PostgreSQL ingests one chunk while Python
    generates the next (psycopg releases the GIL while it waits on the socket)."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.queue: queue.Queue = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error:
                continue
            sql, data = item
            try:
                with self.cursor.copy(sql) as copy:
                    copy.write(data)
            except BaseException as error:  # noqa: BLE001 - raised again in the generating thread
                self.error = error

    def put(self, sql: str, data: str) -> None:
        if self.error:
            raise self.error
        self.queue.put((sql, data))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error:
            raise self.error


@dataclass
class Result:
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0
    problems: list = field(default_factory=list)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def generate(
    *, invoices: int, customers: int | None = None, products: int | None = None, seed: int = 1, today=None, log=print
) -> Result:
    """Generate the dataset in one transaction. Returns the row counts and the seconds taken."""
    if connection.vendor != "postgresql":
        raise SystemExit("generate_dataset needs PostgreSQL (COPY): set DATABASE_URL=postgres://...")
    started = time.perf_counter()
    rng = random.Random(seed)
    today = today or timezone.localdate()
    now = timezone.now()
    customers = customers or max(20, invoices // 10)
    products = products or max(20, min(5_000, invoices // 200))
    counts: dict[str, int] = {}
    with transaction.atomic():
        _master_data()
        with connection.cursor() as django_cursor:
            cursor = django_cursor.cursor  # the psycopg cursor: COPY
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            generator = _Generator(rng=rng, cursor=cursor, today=today, now=now, log=log)
            rebuild = _drop_secondary_indexes(cursor, generator.tables()) if invoices >= DROP_INDEXES_FROM else []
            writer = generator.writer = Writer(cursor)
            try:
                generator.customers(customers)
                generator.products(products)
                generator.documents(invoices)
                generator.finish_stock()
            finally:
                writer.close()
            log(f"  rows loaded in {time.perf_counter() - started:.1f} s")
            if rebuild:
                index_started = time.perf_counter()
                for sql in rebuild:
                    cursor.execute(sql)
                log(f"  {len(rebuild)} indexes rebuilt in {time.perf_counter() - index_started:.1f} s")
            counts = generator.finish()
            cursor.execute("SET LOCAL session_replication_role = origin")
    # Planner statistics, and (outside a transaction) the visibility map a bulk load leaves empty,
    # so the covering indexes answer from the index alone as they will once autovacuum has been by.
    analyze = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for table in counts:
            cursor.execute(f'{analyze} "{table}"')
    return Result(counts=counts, seconds=time.perf_counter() - started)


def _drop_secondary_indexes(cursor, tables: list[str]) -> list[str]:
    """Drop the indexes that back no constraint (primary keys and unique constraints stay) and
    return the statements that build them again: one sort per index instead of millions of
    random inserts."""
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema()"
        " AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
        " WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
        [tables],
    )
    rows = cursor.fetchall()
    for name, _ in rows:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def _master_data() -> None:
    """What every dataset needs and the app itself would have: terms, warehouses, a carrier."""
    for code, name, days in [("NET30", "30 days net", 30), ("NET14", "14 days net", 14), ("NET60", "60 days net", 60)]:
        PaymentTerms.objects.get_or_create(code=code, defaults={"name": name, "net_days": days})
    if not Warehouse.objects.filter(is_default=True).exists():
        Warehouse.objects.get_or_create(code="MAIN", defaults={"name": "Main warehouse", "is_default": True})
    Warehouse.objects.get_or_create(code="EAST", defaults={"name": "East depot"})
    Carrier.objects.get_or_create(code="DSPOST", defaults={"name": "Dataset Post"})
    current_company()


class _Generator:
    def __init__(self, *, rng, cursor, today, now, log):
        self.rng, self.cursor, self.today, self.now, self.log = rng, cursor, today, now, log
        self.t = {}
        spec = {
            "customer": (
                Customer,
                [
                    "id",
                    "account_number",
                    "name",
                    "email",
                    "phone",
                    "tax_id",
                    "address_line",
                    "postal_code",
                    "city",
                    "country",
                    "currency",
                    "language",
                    "tax_treatment",
                    "segment",
                    "payment_terms_id",
                    "is_active",
                    "created_at",
                ],
            ),
            "contact": (Contact, ["id", "customer_id", "name", "email", "phone", "role"]),
            "profile": (
                CreditProfile,
                [
                    "id",
                    "customer_id",
                    "credit_limit",
                    "currency",
                    "approved_until",
                    "risk_class",
                    "reviewed_risk_class",
                    "reviewed_at",
                    "review_due",
                ],
            ),
            "product": (
                Product,
                [
                    "id",
                    "sku",
                    "name",
                    "unit",
                    "unit_price",
                    "currency",
                    "tax_rate",
                    "tax_category",
                    "is_stock_tracked",
                    "allow_backorder",
                    "is_active",
                ],
            ),
            "stock": (StockItem, ["id", "warehouse_id", "product_id", "on_hand", "reserved"]),
            "movement": (
                StockMovement,
                ["id", "stock_item_id", "kind", "on_hand_change", "reserved_change", "order_line_id", "note", "at"],
            ),
            "reservation": (Reservation, ["id", "order_line_id", "stock_item_id", "quantity", "status", "created_at"]),
            "order": (
                SalesOrder,
                [
                    "id",
                    "number",
                    "customer_id",
                    "status",
                    "channel",
                    "order_date",
                    "requested_date",
                    "customer_po",
                    "currency",
                    "net_amount",
                    "tax_amount",
                    "total",
                    "payment_terms_id",
                    "created_at",
                    "submitted_at",
                    "completed_at",
                ],
            ),
            "order_line": (
                SalesOrderLine,
                [
                    "id",
                    "order_id",
                    "line_number",
                    "product_id",
                    "description",
                    "quantity",
                    "list_price",
                    "price_source",
                    "unit_price",
                    "tax_rate",
                    "net_amount",
                    "tax_amount",
                ],
            ),
            "shipment": (
                Shipment,
                [
                    "id",
                    "number",
                    "kind",
                    "customer_id",
                    "warehouse_id",
                    "status",
                    "ship_to",
                    "carrier_id",
                    "tracking_number",
                    "ship_date",
                    "picked_at",
                    "packed_at",
                    "shipped_at",
                    "delivered_at",
                    "created_at",
                ],
            ),
            "shipment_line": (
                ShipmentLine,
                ["id", "shipment_id", "order_line_id", "quantity", "picked_quantity", "delivered_quantity"],
            ),
            "invoice": (
                Invoice,
                [
                    "id",
                    "kind",
                    "credited_invoice_id",
                    "reason",
                    "number",
                    "customer_id",
                    "order_id",
                    "shipment_id",
                    "status",
                    "currency",
                    "customer_po",
                    "bill_to",
                    "payment_terms",
                    "issue_date",
                    "supply_date",
                    "due_date",
                    "net_amount",
                    "tax_amount",
                    "total",
                    "amount_open",
                    "issued_at",
                    "created_at",
                    "seller",
                    "buyer",
                    "rounding_rule",
                    "rf_reference",
                ],
            ),
            "invoice_line": (
                InvoiceLine,
                [
                    "id",
                    "invoice_id",
                    "line_number",
                    "order_line_id",
                    "shipment_line_id",
                    "description",
                    "quantity",
                    "unit",
                    "unit_price",
                    "tax_rate",
                    "tax_category",
                    "net_amount",
                    "tax_amount",
                    "delivery_reference",
                ],
            ),
            "tax_line": (
                InvoiceTaxLine,
                [
                    "id",
                    "invoice_id",
                    "category",
                    "rate",
                    "taxable_amount",
                    "tax_amount",
                    "exemption_reason",
                    "exemption_code",
                ],
            ),
            "entry": (
                JournalEntry,
                [
                    "id",
                    "kind",
                    "customer_id",
                    "invoice_id",
                    "payment_id",
                    "currency",
                    "effective_date",
                    "description",
                    "posted_at",
                ],
            ),
            "line": (JournalLine, ["id", "entry_id", "account", "customer_id", "debit", "credit"]),
            "payment": (
                Payment,
                [
                    "id",
                    "customer_id",
                    "amount",
                    "amount_applied",
                    "currency",
                    "value_date",
                    "method",
                    "reference",
                    "status",
                    "payer_iban",
                    "payer_name",
                    "end_to_end_id",
                    "created_at",
                ],
            ),
            "allocation": (Allocation, ["id", "payment_id", "invoice_id", "amount", "created_at"]),
            "dispute": (
                Dispute,
                [
                    "id",
                    "invoice_id",
                    "customer_id",
                    "reason",
                    "amount",
                    "description",
                    "status",
                    "due_date",
                    "opened_in_portal",
                    "opened_at",
                    "resolution",
                    "accepted_amount",
                    "credit_note_id",
                    "resolution_note",
                    "resolved_at",
                ],
            ),
            "promise": (
                PromiseToPay,
                [
                    "id",
                    "customer_id",
                    "promised_date",
                    "amount",
                    "currency",
                    "status",
                    "note",
                    "created_at",
                    "closed_on",
                ],
            ),
            "promise_invoice": (PromiseToPay.invoices.through, ["id", "promisetopay_id", "invoice_id"]),
            "activity": (CollectionActivity, ["id", "customer_id", "kind", "outcome", "summary", "follow_up_on", "at"]),
        }
        for key, (model, columns) in spec.items():
            table = Table(model, columns, now)
            table.start_ids(cursor)
            self.t[key] = table
        self.terms = {t.code: t for t in PaymentTerms.objects.filter(code__in=["NET30", "NET14", "NET60"])}
        self.warehouse = Warehouse.objects.filter(is_default=True).order_by("pk").first()
        self.second_warehouse = Warehouse.objects.exclude(pk=self.warehouse.pk).order_by("pk").first()
        self.carrier = Carrier.objects.get(code="DSPOST")
        currency = "EUR"
        self.seller_json = _esc(json.dumps(seller_snapshot(current_company(), currency)))
        self.series = {(s.prefix, s.year): s.last_number for s in NumberSeries.objects.all()}
        self.used_series: set[tuple[str, int]] = set()

    def number(self, prefix: str, year: int) -> str:
        key = (prefix, year)
        value = self.series.get(key, 0) + 1
        self.series[key] = value
        self.used_series.add(key)
        return f"{prefix}-{year}-{value:06d}"

    def tables(self) -> list[str]:
        return sorted({table.table for table in self.t.values()})

    def flush(self) -> None:
        for table in self.t.values():
            table.flush(self.writer)

    # --- customers ---------------------------------------------------------------------------
    def customers(self, count: int) -> None:
        rng, t = self.rng, self.t
        self.customer_rows = []  # (id, terms net days, treatment, bill_to escaped, buyer json escaped, segment, name)
        terms_choices = [("NET30", 70), ("NET14", 15), ("NET60", 15)]
        created = (self.now - datetime.timedelta(days=800)).isoformat()
        for _ in range(count):
            cid = t["customer"].take_id()
            segment = _weighted(rng, SEGMENTS)
            roll = rng.random()
            if roll < 0.85:
                postal, city, country = rng.choice(CITIES)
                treatment = "domestic"
            elif roll < 0.96:
                postal, city, country, treatment = rng.choice(FOREIGN)
            else:
                postal, city, country, treatment = rng.choice(EXPORT)
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {cid} {rng.choice(FORMS)}"
            account = f"D{cid:08d}"
            email = f"ap{cid}@customer{cid % 997}.example"
            street = f"{rng.choice(WORDS)}straat {rng.randint(1, 250)}"
            tax_id = f"{country}0{cid:09d}" if country != "US" else ""
            terms = self.terms[_weighted(rng, terms_choices)]
            t["customer"].add(
                f"{cid}\t{account}\t{name}\t{email}\t+32 2 {cid % 1000:03d} {cid % 100:02d} 00\t{tax_id}\t{street}\t{postal}\t{city}\t{country}\tEUR\ten\t{treatment}\t{segment}\t{terms.pk}\tt\t{created}"
            )
            t["contact"].add(f"{t['contact'].take_id()}\t{cid}\tAccounts payable\t{email}\t\tinvoices")
            t["contact"].add(
                f"{t['contact'].take_id()}\t{cid}\tPurchasing\tbuyer{cid}@customer{cid % 997}.example\t\torders"
            )
            if rng.random() < 0.3:
                t["contact"].add(
                    f"{t['contact'].take_id()}\t{cid}\tCFO\tcfo{cid}@customer{cid % 997}.example\t\tdunning"
                )
            risk = _weighted(rng, RISK)
            limit = LIMIT_BY_SEGMENT[segment] * rng.choice([1, 1, 2, 3]) // (1 if risk in "AB" else 2)
            reviewed = self.today - datetime.timedelta(days=rng.randint(0, 400))
            approved = reviewed + datetime.timedelta(days=365)
            t["profile"].add(
                f"{t['profile'].take_id()}\t{cid}\t{limit}.00\tEUR\t{approved}\t{risk}\t{risk}\t{reviewed}\t{approved}"
            )
            bill_to = _esc(f"{name}\n{street}\n{postal} {city}\n{country}")
            buyer = _esc(
                json.dumps(
                    {
                        "name": name,
                        "account_number": account,
                        "address_line": street,
                        "postal_code": postal,
                        "city": city,
                        "country": country,
                        "vat_id": tax_id,
                        "email": email,
                        "tax_treatment": treatment,
                        "endpoint_scheme": "",
                        "endpoint_id": "",
                    }
                )
            )
            self.customer_rows.append((cid, terms.net_days, terms.name, treatment, bill_to, buyer, name))
        # A few heavy buyers: a skewed share of the orders goes to 5% of the customers.
        self.heavy = self.customer_rows[: max(1, count // 20)]
        for key in ("customer", "contact", "profile"):
            t[key].flush(self.writer)

    # --- products and stock --------------------------------------------------------------------
    def products(self, count: int) -> None:
        rng, t = self.rng, self.t
        self.product_rows = []  # (id, sku, name, price cents, rate percent)
        for _ in range(count):
            pid = t["product"].take_id()
            sku = f"DS-{pid:06d}"
            name = f"{rng.choice(ITEMS)} {rng.choice(WORDS)} {rng.randint(1, 99)}"
            price = rng.choice([250, 499, 1250, 2990, 4500, 8900, 15000, 32000, 75000])
            rate = 21 if rng.random() < 0.9 else 6
            t["product"].add(f"{pid}\t{sku}\t{name}\tpc\t{_money(price)}\tEUR\t0.{rate:02d}00\tS\tt\tt\tt")
            self.product_rows.append((pid, sku, name, price, rate))
        t["product"].flush(self.writer)
        # One stock item per product in each warehouse; their receipts are written at the end
        # (when the quantities shipped and reserved are known) under ids taken now, so the
        # ledger reads in time order.
        self.stock_of = {}  # product id -> [stock item id (main), shipped, reserved]
        self.receipt_ids = {}
        self.second_stock = {}
        for pid, *_ in self.product_rows:
            self.stock_of[pid] = [t["stock"].take_id(), 0, 0]
            if self.second_warehouse:
                self.second_stock[pid] = t["stock"].take_id()
        for pid in self.stock_of:
            self.receipt_ids[pid] = t["movement"].take_id()
        for pid in self.second_stock:
            self.receipt_ids[-pid] = t["movement"].take_id()

    # --- orders to cash ------------------------------------------------------------------------
    def documents(self, count: int) -> None:
        span = 395  # days of history
        start = self.today - datetime.timedelta(days=span)
        last_log = time.perf_counter()
        for done, i in enumerate(range(count), start=1):
            issue = start + datetime.timedelta(days=i * span // count)
            self.one_cycle(issue)
            if self.rng.random() < 0.04:  # orders not invoiced yet: approved (stock reserved), held, drafts
                self.open_order(issue)
            if done % CHUNK == 0:
                self.flush()
                if time.perf_counter() - last_log > 10:
                    self.log(f"  {done:,} of {count:,} invoices")
                    last_log = time.perf_counter()
        self.flush()

    def pick_customer(self):
        if self.rng.random() < 0.3:
            return self.rng.choice(self.heavy)
        return self.rng.choice(self.customer_rows)

    def order_lines(self, order_id: int, treatment: str):
        """[(line id, product, qty, net cents, tax cents, rate percent)]"""
        rng, t = self.rng, self.t
        lines = []
        for number in range(1, _weighted(rng, [(1, 50), (2, 35), (3, 15)]) + 1):
            product = rng.choice(self.product_rows)
            pid, sku, name, price, rate = product
            rate = rate if treatment == "domestic" else 0
            qty = rng.choice([1, 1, 2, 3, 5, 10, 20])
            net = qty * price
            tax = _tax(net, rate)
            line_id = t["order_line"].take_id()
            t["order_line"].add(
                f"{line_id}\t{order_id}\t{number}\t{pid}\t{name}\t{qty}\t{_money(price)}\tlist price\t{_money(price)}\t0.{rate:02d}00\t{_money(net)}\t{_money(tax)}"
            )
            lines.append((line_id, product, qty, net, tax, rate))
        return lines

    def one_cycle(self, issue: datetime.date) -> None:
        rng, t = self.rng, self.t
        cid, net_days, terms_name, treatment, bill_to, buyer, name = self.pick_customer()
        order_date = issue - datetime.timedelta(days=rng.randint(1, 6))
        ship_date = issue
        order_id = t["order"].take_id()
        order_number = self.number("SO", order_date.year)
        po = f"PO{rng.randint(10000, 99999)}" if rng.random() < 0.6 else ""
        lines = self.order_lines(order_id, treatment)
        net = sum(line[3] for line in lines)
        tax = sum(line[4] for line in lines)
        total = net + tax
        placed = f"{order_date} 09:{rng.randint(0, 59):02d}:00+00"
        shipped_at = f"{ship_date} 15:00:00+00"
        terms_pk = self.terms_pk(net_days)
        t["order"].add(
            f"{order_id}\t{order_number}\t{cid}\tcompleted\t{rng.choice(['clerk', 'clerk', 'email', 'phone', 'portal', 'csv'])}\t{order_date}\t\\N\t{po}\tEUR\t{_money(net)}\t{_money(tax)}\t{_money(total)}\t{terms_pk}\t{placed}\t{placed}\t{shipped_at}"
        )
        shipment_id = t["shipment"].take_id()
        shipment_number = self.number("SHP", ship_date.year)
        delivered = ship_date + datetime.timedelta(days=2)
        delivered_at = f"{delivered} 11:00:00+00" if delivered <= self.today else "\\N"
        status = "delivered" if delivered <= self.today else "shipped"
        t["shipment"].add(
            f"{shipment_id}\t{shipment_number}\tgoods\t{cid}\t{self.warehouse.pk}\t{status}\t{bill_to}\t{self.carrier.pk}\tDS{shipment_id:010d}\t{ship_date}\t{shipped_at}\t{shipped_at}\t{shipped_at}\t{delivered_at}\t{shipped_at}"
        )
        invoice_id = t["invoice"].take_id()
        number = self.number("INV", issue.year)
        due = issue + datetime.timedelta(days=net_days)
        issued_at = f"{issue} 18:00:00+00"
        by_rate: dict[int, list[int]] = {}
        for line_number, (line_id, product, qty, line_net, line_tax, rate) in enumerate(lines, start=1):
            pid = product[0]
            stock = self.stock_of[pid]
            stock[1] += qty
            movement = t["movement"]
            movement.add(f"{movement.take_id()}\t{stock[0]}\treservation\t0\t{qty}\t{line_id}\t\t{placed}")
            movement.add(
                f"{movement.take_id()}\t{stock[0]}\tshipment\t-{qty}\t-{qty}\t{line_id}\t{shipment_number}\t{shipped_at}"
            )
            shipment_line_id = t["shipment_line"].take_id()
            delivered_qty = qty if status == "delivered" else "\\N"
            t["shipment_line"].add(f"{shipment_line_id}\t{shipment_id}\t{line_id}\t{qty}\t{qty}\t{delivered_qty}")
            category = "S" if treatment == "domestic" else ("K" if treatment == "intra_eu" else "G")
            t["invoice_line"].add(
                f"{t['invoice_line'].take_id()}\t{invoice_id}\t{line_number}\t{line_id}\t{shipment_line_id}\t{product[2]}\t{qty}\tpc\t{_money(product[3])}\t0.{rate:02d}00\t{category}\t{_money(line_net)}\t{_money(line_tax)}\t{shipment_number}"
            )
            sums = by_rate.setdefault(rate, [0, 0])
            sums[0] += line_net
            sums[1] += line_tax
        for rate, (taxable, rate_tax) in by_rate.items():
            category, reason, code = self.category(treatment)
            t["tax_line"].add(
                f"{t['tax_line'].take_id()}\t{invoice_id}\t{category}\t0.{rate:02d}00\t{_money(taxable)}\t{_money(rate_tax)}\t{reason}\t{code}"
            )
        self.post(
            "invoice",
            cid,
            issue,
            f"Invoice {number}",
            [(Account.RECEIVABLES, total, 0), (Account.REVENUE, 0, net), (Account.TAX, 0, tax)],
            invoice=invoice_id,
        )
        open_cents = total
        # A credit note on some (price correction, damaged goods), sometimes after a dispute.
        credit_note = None
        if rng.random() < 0.02:
            share = rng.choice([10, 20, 25, 50])
            first_rate = lines[0][5]
            cn_net = net * share // 100
            cn_tax = _tax(cn_net, first_rate)
            if cn_net > 0 and cn_net + cn_tax <= open_cents:
                cn_issue = issue + datetime.timedelta(days=rng.randint(3, 20))
                if cn_issue <= self.today:
                    credit_note = self.credit_note(
                        invoice_id,
                        number,
                        cid,
                        bill_to,
                        buyer,
                        terms_name,
                        treatment,
                        cn_issue,
                        cn_net,
                        cn_tax,
                        first_rate,
                    )
                    open_cents -= cn_net + cn_tax
        # Payment behaviour: most pay around the due date, some late, a few never.
        delay = _weighted(
            rng,
            [
                (rng.randint(-20, 0), 52),
                (rng.randint(1, 30), 28),
                (rng.randint(31, 90), 12),
                (rng.randint(91, 240), 5),
                (None, 3),
            ],
        )
        paid_on = None if delay is None else due + datetime.timedelta(days=delay)
        if paid_on and paid_on < issue:
            paid_on = issue + datetime.timedelta(days=1)
        if paid_on and paid_on <= self.today and open_cents > 0:
            partial = rng.random() < 0.04
            amount = open_cents * rng.choice([30, 50, 70, 90]) // 100 if partial else open_cents
            if amount > 0:
                self.payment(cid, invoice_id, number, amount, paid_on)
                open_cents -= amount
        status = "issued" if open_cents else "paid"
        rf = rf_reference(number)
        t["invoice"].add(
            f"{invoice_id}\tinvoice\t\\N\t\t{number}\t{cid}\t{order_id}\t{shipment_id}\t{status}\tEUR\t{po}\t{bill_to}\t{terms_name}\t{issue}\t{ship_date}\t{due}\t{_money(net)}\t{_money(tax)}\t{_money(total)}\t{_money(open_cents)}\t{issued_at}\t{issued_at}\t{self.seller_json}\t{buyer}\tper_line\t{rf}"
        )
        if credit_note and rng.random() < 0.5:
            cn_id, cn_total, cn_issue = credit_note
            self.dispute(invoice_id, cid, issue, cn_total, resolved=(cn_id, cn_issue))
        elif open_cents and due < self.today:
            if rng.random() < 0.01:
                self.dispute(invoice_id, cid, issue, open_cents, resolved=None)
            elif rng.random() < 0.02:
                self.promise(invoice_id, cid, due, open_cents)

    def terms_pk(self, net_days: int) -> int:
        return next(t.pk for t in self.terms.values() if t.net_days == net_days)

    @staticmethod
    def category(treatment: str) -> tuple[str, str, str]:
        if treatment == "domestic":
            return "S", "", ""
        if treatment == "intra_eu":
            return "K", "Intra-Community supply of goods, exempt (Art. 138 Directive 2006/112/EC)", "VATEX-EU-IC"
        return "G", "Export outside the EU, exempt (Art. 146 Directive 2006/112/EC)", "VATEX-EU-G"

    def post(self, kind, cid, on, description, lines, *, invoice="\\N", payment="\\N") -> None:
        t = self.t
        entry_id = t["entry"].take_id()
        t["entry"].add(
            f"{entry_id}\t{kind}\t{cid}\t{invoice}\t{payment}\tEUR\t{on}\t{_esc(description)}\t{on} 18:00:00+00"
        )
        for account, debit, credit in lines:
            if debit or credit:
                t["line"].add(f"{t['line'].take_id()}\t{entry_id}\t{account}\t{cid}\t{_money(debit)}\t{_money(credit)}")

    def credit_note(self, invoice_id, invoice_number, cid, bill_to, buyer, terms_name, treatment, on, net, tax, rate):
        t = self.t
        cn_id = t["invoice"].take_id()
        number = self.number("CN", on.year)
        total = net + tax
        reason = "Price correction agreed with the customer"
        issued_at = f"{on} 17:00:00+00"
        category, exemption, code = self.category(treatment)
        t["invoice"].add(
            f"{cn_id}\tcredit_note\t{invoice_id}\t{reason}\t{number}\t{cid}\t\\N\t\\N\tissued\tEUR\t\t{bill_to}\t{terms_name}\t{on}\t{on}\t{on}\t{_money(net)}\t{_money(tax)}\t{_money(total)}\t0.00\t{issued_at}\t{issued_at}\t{self.seller_json}\t{buyer}\tper_line\t{rf_reference(number)}"
        )
        t["invoice_line"].add(
            f"{t['invoice_line'].take_id()}\t{cn_id}\t1\t\\N\t\\N\tPrice correction on {invoice_number}\t1\tpc\t{_money(net)}\t0.{rate:02d}00\t{category}\t{_money(net)}\t{_money(tax)}\t"
        )
        t["tax_line"].add(
            f"{t['tax_line'].take_id()}\t{cn_id}\t{category}\t0.{rate:02d}00\t{_money(net)}\t{_money(tax)}\t{exemption}\t{code}"
        )
        self.post(
            "credit_note",
            cid,
            on,
            f"Credit note {number} on {invoice_number}",
            [(Account.REVENUE, net, 0), (Account.TAX, tax, 0), (Account.RECEIVABLES, 0, total)],
            invoice=cn_id,
        )
        return cn_id, total, on

    def payment(self, cid, invoice_id, number, amount, on) -> None:
        rng, t = self.rng, self.t
        payment_id = t["payment"].take_id()
        method = _weighted(rng, [("transfer", 85), ("direct_debit", 10), ("card", 3), ("check", 2)])
        created = f"{on} 10:00:00+00"
        # ~1% pay a little too much: the rest stays as unapplied cash on the account.
        extra = rng.randint(1, 2500) if rng.random() < 0.01 else 0
        received = amount + extra
        status = "partially_applied" if extra else "applied"
        t["payment"].add(
            f"{payment_id}\t{cid}\t{_money(received)}\t{_money(amount)}\tEUR\t{on}\t{method}\t{number}\t{status}\tBE{cid % 97:02d}0000{cid:08d}\t\t\t{created}"
        )
        self.post(
            "payment",
            cid,
            on,
            f"Payment #{payment_id} received ({number})",
            [(Account.BANK, received, 0), (Account.UNAPPLIED_CASH, 0, received)],
            payment=payment_id,
        )
        t["allocation"].add(f"{t['allocation'].take_id()}\t{payment_id}\t{invoice_id}\t{_money(amount)}\t{created}")
        self.post(
            "allocation",
            cid,
            on,
            f"Payment #{payment_id} applied to {number}",
            [(Account.UNAPPLIED_CASH, amount, 0), (Account.RECEIVABLES, 0, amount)],
            invoice=invoice_id,
            payment=payment_id,
        )

    def dispute(self, invoice_id, cid, issue, amount, *, resolved) -> None:
        rng, t = self.rng, self.t
        opened = issue + datetime.timedelta(days=rng.randint(2, 15))
        if opened > self.today:
            opened = self.today
        reason = rng.choice(["price", "quantity", "damaged", "not_received", "other"])
        if resolved:
            cn_id, cn_issue = resolved
            t["dispute"].add(
                f"{t['dispute'].take_id()}\t{invoice_id}\t{cid}\t{reason}\t{_money(amount)}\tCustomer disputes the invoice\tresolved\t{opened + datetime.timedelta(days=14)}\tf\t{opened} 09:00:00+00\tcredit_note\t{_money(amount)}\t{cn_id}\tAccepted\t{cn_issue} 17:00:00+00"
            )
        else:
            status = rng.choice(["open", "under_review"])
            t["dispute"].add(
                f"{t['dispute'].take_id()}\t{invoice_id}\t{cid}\t{reason}\t{_money(amount)}\tCustomer disputes the invoice\t{status}\t{opened + datetime.timedelta(days=14)}\t{'t' if rng.random() < 0.3 else 'f'}\t{opened} 09:00:00+00\t\t0.00\t\\N\t\t\\N"
            )

    def promise(self, invoice_id, cid, due, amount) -> None:
        rng, t = self.rng, self.t
        made = min(self.today, due + datetime.timedelta(days=rng.randint(5, 30)))
        promised = made + datetime.timedelta(days=rng.randint(3, 21))
        status = "open" if promised >= self.today else "broken"
        closed = "\\N" if status == "open" else str(promised + datetime.timedelta(days=1))
        promise_id = t["promise"].take_id()
        t["promise"].add(
            f"{promise_id}\t{cid}\t{promised}\t{_money(amount)}\tEUR\t{status}\tPromised on the phone\t{made} 10:00:00+00\t{closed}"
        )
        t["promise_invoice"].add(f"{t['promise_invoice'].take_id()}\t{promise_id}\t{invoice_id}")
        t["activity"].add(
            f"{t['activity'].take_id()}\t{cid}\tcall\tpromised\tPromised to pay {_money(amount)} EUR by {promised}\t{promised}\t{made} 10:00:00+00"
        )

    def open_order(self, near: datetime.date) -> None:
        """An order not invoiced (yet): approved with stock reserved, on credit hold, or a draft."""
        rng, t = self.rng, self.t
        cid, net_days, terms_name, treatment, *_ = self.pick_customer()
        status = _weighted(rng, [("approved", 60), ("credit_hold", 15), ("draft", 15), ("cancelled", 10)])
        order_id = t["order"].take_id()
        number = "\\N" if status == "draft" else self.number("SO", near.year)
        lines = self.order_lines(order_id, treatment)
        net = sum(line[3] for line in lines)
        tax = sum(line[4] for line in lines)
        placed = f"{near} 09:00:00+00"
        submitted = "\\N" if status == "draft" else placed
        t["order"].add(
            f"{order_id}\t{number}\t{cid}\t{status}\tclerk\t{near}\t\\N\t\tEUR\t{_money(net)}\t{_money(tax)}\t{_money(net + tax)}\t{self.terms_pk(net_days)}\t{placed}\t{submitted}\t\\N"
        )
        if status == "approved":
            for line_id, product, qty, *_ in lines:
                stock = self.stock_of[product[0]]
                stock[2] += qty
                t["movement"].add(
                    f"{t['movement'].take_id()}\t{stock[0]}\treservation\t0\t{qty}\t{line_id}\t\t{placed}"
                )
                t["reservation"].add(f"{t['reservation'].take_id()}\t{line_id}\t{stock[0]}\t{qty}\tactive\t{placed}")

    # --- the end: stock balances, series counters, sequences ---------------------------------------
    def finish_stock(self) -> None:
        rng, t = self.rng, self.t
        received_at = f"{self.today - datetime.timedelta(days=400)} 08:00:00+00"
        for pid, (item_id, shipped, reserved) in self.stock_of.items():
            received = shipped + reserved + rng.randint(0, 500)
            t["stock"].add(f"{item_id}\t{self.warehouse.pk}\t{pid}\t{received - shipped}\t{reserved}")
            if received:
                t["movement"].add(
                    f"{self.receipt_ids[pid]}\t{item_id}\treceipt\t{received}\t0\t\\N\tOpening stock\t{received_at}"
                )
        for pid, item_id in self.second_stock.items():
            quantity = rng.randint(0, 200)
            t["stock"].add(f"{item_id}\t{self.second_warehouse.pk}\t{pid}\t{quantity}\t0")
            if quantity:
                t["movement"].add(
                    f"{self.receipt_ids[-pid]}\t{item_id}\treceipt\t{quantity}\t0\t\\N\tOpening stock\t{received_at}"
                )
        self.flush()

    def finish(self) -> dict:
        for prefix, year in self.used_series:
            NumberSeries.objects.update_or_create(
                prefix=prefix, year=year, defaults={"last_number": self.series[(prefix, year)]}
            )
        counts = {}
        for table in self.t.values():
            self.cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table.table}\"', 'id'), GREATEST((SELECT MAX(id) FROM \"{table.table}\"), 1))"
            )
            counts[table.table] = counts.get(table.table, 0) + table.rows
        return counts


def summary_lines(result: Result) -> list[str]:
    return [f"{table:<40} {rows:>12,}" for table, rows in result.counts.items()] + [
        f"{'total rows':<40} {sum(result.counts.values()):>12,}",
        f"{'seconds':<40} {result.seconds:>12.1f}",
    ]
