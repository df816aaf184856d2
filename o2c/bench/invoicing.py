"""Invoicing: invoices issued per second through the flow, and PDF renders per second per worker.

    python manage.py bench invoicing --scale 0.1 --json bench-invoicing.json

Figures (all measured in the same run, on PostgreSQL):
- invoices issued/s through o2c.flow.issue_and_post (number from the gapless series, dates and
  terms, ledger posting, render and send tasks published after commit), 1 client and 4 clients;
  floor: the same writes as raw SQL in one transaction per invoice (counter UPDATE ... RETURNING,
  invoice UPDATE, journal entry + 3 lines).
- PDF renders/s per worker: the render task's body (services.render_documents for the PDF: load,
  template, WeasyPrint, hash, store, timeline); floor: WeasyPrint alone on the same HTML with the
  same fetcher. Target: overhead under 15% (ratio < 1.15).

Data: drafts are written with bulk_create (customers, invoices, lines, tax lines), never
row by row. Issued invoices cannot be deleted (that is the point), so the rows stay, under
customers whose account numbers start with "BENCH"; their numbers use the year 2099 series.
Tasks are published to a scratch Redis database (O2C_BENCH_REDIS_DB, default 15), flushed after.
"""

import datetime
import os
import statistics
import threading
import time
import uuid
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection, connections, transaction

from invoicing import documents, services
from invoicing.models import Invoice, InvoiceLine, InvoiceTaxLine
from o2c import flow
from o2c.bench.common import Figure, require_postgresql
from orders.models import Customer, PaymentTerms

BENCH_YEAR = 2099
ISSUE_DATE = datetime.date(BENCH_YEAR, 6, 15)
RUNS = 3


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    per_run = max(10, int(200 * scale))
    renders = max(3, int(20 * scale))
    previous = _scratch_broker()
    try:
        services.current_company()
        customers = _customers(8)
        flow_one, flow_four, floor = [], [], []
        for _ in range(RUNS):
            flow_one.append(_issue_rate(_drafts(customers, per_run), clients=1))
            flow_four.append(_issue_rate(_drafts(customers, per_run), clients=4))
            floor.append(_raw_sql_rate(_drafts(customers, per_run)))
        task_rates, weasy_rates = _render_rates([_drafts(customers, renders) for _ in range(RUNS)])
    finally:
        _restore_broker(previous)
    floor_rate = statistics.median(floor)
    return [
        Figure(
            "invoicing.issue_through_flow_1_client",
            "invoices/s",
            flow_one,
            floor=floor_rate,
            higher_is_better=True,
            extra={"invoices_per_run": per_run, "floor_is": "raw SQL issue + posting, 1 client"},
        ),
        Figure(
            "invoicing.issue_through_flow_4_clients",
            "invoices/s",
            flow_four,
            higher_is_better=True,
            extra={"invoices_per_run": per_run},
        ),
        Figure(
            "invoicing.pdf_renders_per_worker",
            "PDFs/s",
            task_rates,
            floor=statistics.median(weasy_rates),
            higher_is_better=True,
            target="ratio < 1.15 (overhead over WeasyPrint alone under 15%)",
            extra={"pdfs_per_run": renders, "weasyprint_alone": [round(r, 3) for r in weasy_rates]},
        ),
    ]


# Data ---------------------------------------------------------------------------------------------
def _customers(count: int) -> list[Customer]:
    terms, _ = PaymentTerms.objects.get_or_create(code="BENCH30", defaults={"name": "30 days net", "net_days": 30})
    tag = uuid.uuid4().hex[:8].upper()
    return Customer.objects.bulk_create(
        Customer(
            account_number=f"BENCH{tag}{n:02d}"[:20],
            name=f"Bench customer {tag} {n}",
            email=f"bench{n}@example.invalid",
            tax_id="BE0477472701",
            address_line="Rue Neuve 10",
            postal_code="1000",
            city="Brussels",
            payment_terms=terms,
        )
        for n in range(count)
    )


def _drafts(customers: list[Customer], count: int) -> list[int]:
    """`count` draft invoices of 20 lines at 21% and 6% (2,100.00 net, 276.00 VAT), written
    in three bulk inserts."""
    buyers = {c.pk: services.buyer_snapshot(c) for c in customers}
    invoices = Invoice.objects.bulk_create(
        Invoice(
            customer=customer,
            currency="EUR",
            bill_to=customer.name,
            payment_terms="30 days net",
            buyer=buyers[customer.pk],
            net_amount=Decimal("2100.00"),
            tax_amount=Decimal("276.00"),
            total=Decimal("2376.00"),
        )
        for customer in (customers[n % len(customers)] for n in range(count))
    )
    lines, tax_lines = [], []
    for invoice in invoices:
        for number in range(1, 21):  # odd lines at 21% (1,000.00 net), even at 6% (1,100.00)
            rate = Decimal("0.21") if number % 2 else Decimal("0.06")
            net = Decimal(number * 10).quantize(Decimal("0.01"))
            lines.append(
                InvoiceLine(
                    invoice=invoice,
                    line_number=number,
                    description=f"SKU-{number:04d} Bench article {number}",
                    quantity=Decimal(number),
                    unit="pc",
                    unit_price=Decimal("10.00"),
                    tax_rate=rate,
                    net_amount=net,
                    tax_amount=(net * rate).quantize(Decimal("0.01")),
                )
            )
        tax_lines += [
            InvoiceTaxLine(
                invoice=invoice,
                category="S",
                rate=Decimal("0.21"),
                taxable_amount=Decimal("1000.00"),
                tax_amount=Decimal("210.00"),
            ),
            InvoiceTaxLine(
                invoice=invoice,
                category="S",
                rate=Decimal("0.06"),
                taxable_amount=Decimal("1100.00"),
                tax_amount=Decimal("66.00"),
            ),
        ]
    InvoiceLine.objects.bulk_create(lines)
    InvoiceTaxLine.objects.bulk_create(tax_lines)
    return [invoice.pk for invoice in invoices]


# Issuing --------------------------------------------------------------------------------------------
def _issue_rate(ids: list[int], *, clients: int) -> float:
    chunks = [ids[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients + 1)
    errors = []

    def worker(chunk):
        try:
            barrier.wait()
            for pk in chunk:
                flow.issue_and_post(invoice=Invoice(pk=pk), by=None, on=ISSUE_DATE)
        except Exception as error:  # noqa: BLE001 - re-raised below
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
        raise errors[0]
    return len(ids) / elapsed


RAW_ISSUE = """
WITH n AS (
    UPDATE core_numberseries SET last_number = last_number + 1
     WHERE prefix = 'RAW' AND year = %s RETURNING last_number
)
UPDATE invoicing_invoice SET status = 'issued', issue_date = %s, due_date = %s, amount_open = total,
       issued_at = now(), number = 'RAW-' || %s || '-' || lpad((SELECT last_number FROM n)::text, 6, '0')
 WHERE id = %s AND status = 'draft'
RETURNING customer_id, net_amount, tax_amount, total
"""
RAW_ENTRY = """
INSERT INTO receivables_journalentry (kind, customer_id, invoice_id, currency, effective_date, description, posted_at)
VALUES ('invoice', %s, %s, 'EUR', %s, 'raw', now()) RETURNING id
"""
RAW_LINES = """
INSERT INTO receivables_journalline (entry_id, account, customer_id, debit, credit)
VALUES (%s, '1200', %s, %s, 0), (%s, '4000', %s, 0, %s), (%s, '2400', %s, 0, %s)
"""


def _raw_sql_rate(ids: list[int]) -> float:
    """The floor: the same rows written with hand-written SQL, one transaction per invoice."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_numberseries (prefix, year, last_number) VALUES ('RAW', %s, 0) ON CONFLICT DO NOTHING",
            [BENCH_YEAR],
        )
    due = ISSUE_DATE + datetime.timedelta(days=30)
    start = time.perf_counter()
    for pk in ids:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(RAW_ISSUE, [BENCH_YEAR, ISSUE_DATE, due, BENCH_YEAR, pk])
            customer_id, net, tax, total = cursor.fetchone()
            cursor.execute(RAW_ENTRY, [customer_id, pk, ISSUE_DATE])
            entry_id = cursor.fetchone()[0]
            cursor.execute(
                RAW_LINES, [entry_id, customer_id, total, entry_id, customer_id, net, entry_id, customer_id, tax]
            )
    return len(ids) / (time.perf_counter() - start)


# Rendering ------------------------------------------------------------------------------------------
def _render_rates(batches: list[list[int]]) -> tuple[list[float], list[float]]:
    """Per run, a fresh batch (a stored PDF is never redone). Each invoice is rendered both
    ways back to back, in alternating order, so the noise of a shared machine hits both
    alike: WeasyPrint alone on the invoice's HTML, and the render task's body."""
    from weasyprint import HTML

    task_rates, weasy_rates = [], []
    for number, batch in enumerate(batches):
        issued = [flow.issue_and_post(invoice=Invoice(pk=pk), by=None, on=ISSUE_DATE) for pk in batch]
        html = [documents.invoice_html(invoice) for invoice in issued]
        if number == 0:  # warm fonts and caches for both paths
            HTML(string=html[0], url_fetcher=documents.DATA_ONLY_FETCHER).write_pdf()
        weasy_seconds = task_seconds = 0.0
        for index, (invoice, page) in enumerate(zip(issued, html, strict=True)):
            steps = [("weasy", page), ("task", invoice)]
            for kind, subject in steps if index % 2 == 0 else reversed(steps):
                start = time.perf_counter()
                if kind == "weasy":
                    HTML(string=subject, url_fetcher=documents.DATA_ONLY_FETCHER).write_pdf()
                    weasy_seconds += time.perf_counter() - start
                else:
                    services.render_documents(invoice_id=subject.pk, kinds=("pdf",))
                    task_seconds += time.perf_counter() - start
        weasy_rates.append(len(html) / weasy_seconds)
        task_rates.append(len(issued) / task_seconds)
    return task_rates, weasy_rates


# Broker -----------------------------------------------------------------------------------------------
def _scratch_broker() -> str:
    from o2c.celery import app

    base = os.environ.get("REDIS_URL") or settings.CELERY_BROKER_URL
    parts = urlsplit(base if base.startswith("redis") else "redis://127.0.0.1:6379/0")
    url = urlunsplit((parts.scheme, parts.netloc, f"/{os.environ.get('O2C_BENCH_REDIS_DB', '15')}", "", ""))
    previous = app.conf.broker_url
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    return previous


def _restore_broker(previous: str) -> None:
    import redis

    from o2c.celery import app

    redis.Redis.from_url(app.conf.broker_url).flushdb()
    app.conf.broker_url = previous
    app._pool = None
    app.amqp._producer_pool = None
