"""Reports at size: 1,000,000 invoices of 50,000 customers over 18 months, with their payments,
allocations and receivables-ledger postings (issue and cash applied), on PostgreSQL.

Data is written with COPY (psycopg's cursor.copy) inside one transaction that is rolled back at
the end: the database is left as it was. Triggers (the ledger's balance check, foreign keys) are
off while loading (session_replication_role = replica): only the receivables side of each entry
is written, which is all the reports read. Figures:
- reporting.aging_today: the aging selector (6 buckets by due date, open items + ledger reversal,
  one query); floor = the best hand-written SQL for the same buckets over today's open amounts.
- reporting.aging_90_days_ago: the same for a day 90 days back (ledger reversal does real work);
  floor = the same reversal written by hand as one SQL statement.
- reporting.dashboard: GET /reports/ (the finance overview, default period: the last 90 days)
  through django.test.Client in-process; target < 500 ms; its query count in `queries`.
- reporting.cycle_times_page / cash_forecast_page / snapshot: the other heavy reads, for the record.
- reporting.daily_totals_rebuild: the nightly rebuild of the daily sales and cash totals (done by the
  first snapshot call above, before the dashboard is measured: the dashboard reads closed days
  from them and only today live).
"""

import datetime
import random
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoicing.models import Invoice
from o2c.bench.common import Figure, copy_rows, measured_then_rolled_back, require_postgresql, role_group, timed
from o2c.core import roles
from orders.models import Customer, PaymentTerms
from receivables.models import Account, Allocation, JournalEntry, JournalLine, Payment
from reporting import kpis, selectors, services

CUSTOMERS = 50_000
INVOICES = 1_000_000
DAYS = 540  # 18 months of issue dates
ID_BASE = 900_000_000  # explicit ids far above any sequence value: the transaction is rolled back
TARGET_MS = 500
SEGMENTS = ["retail", "wholesale", "public", "export"]


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    return measured_then_rolled_back(lambda: _load(scale), _measure)


# --- data ----------------------------------------------------------------------------------------
def _load(scale: float) -> dict:
    started = time.perf_counter()
    rng = random.Random(9)
    today = timezone.localdate()
    n_customers = max(int(CUSTOMERS * scale), 50)
    n_invoices = max(int(INVOICES * scale), 1000)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    terms, _ = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})
    customer_ids = [ID_BASE + i for i in range(n_customers)]
    # each customer's habit: days late around its own mean; 8 % of customers leave some invoices unpaid
    habit = {c: (rng.gauss(8, 12), rng.random() < 0.08) for c in customer_ids}
    copy_rows(
        Customer,
        customer_ids,
        {
            "id": lambda c: c,
            "account_number": lambda c: f"B{c}",
            "name": lambda c: f"Bench customer {c} BV",
            "email": lambda c: f"ap@b{c}.example",
            "address_line": lambda c: "Rue du Banc 1",
            "postal_code": lambda c: "1000",
            "city": lambda c: "Brussels",
            "segment": lambda c: SEGMENTS[c % len(SEGMENTS)],
            "payment_terms_id": lambda c: terms.pk,
        },
    )
    invoices, payments = [], []
    for n in range(n_invoices):
        iid = ID_BASE + n
        customer = customer_ids[rng.randrange(n_customers)]
        issued = today - datetime.timedelta(days=rng.randrange(DAYS))
        due = issued + datetime.timedelta(days=30)
        total = Decimal(rng.randrange(5_000, 500_000)) / 100
        mean_late, leaves_unpaid = habit[customer]
        paid_on = due + datetime.timedelta(days=round(rng.gauss(mean_late, 6)))
        paid_on = max(paid_on, issued)
        if paid_on > today or (leaves_unpaid and rng.random() < 0.3):
            invoices.append((iid, customer, issued, due, total, total))  # still open
        else:
            invoices.append((iid, customer, issued, due, total, Decimal("0.00")))
            payments.append((iid, customer, paid_on, total))
    copy_rows(
        Invoice,
        invoices,
        {
            "id": lambda r: r[0],
            "number": lambda r: f"B{r[0]}",
            "customer_id": lambda r: r[1],
            "status": lambda r: "issued" if r[5] else "paid",
            "currency": lambda r: "EUR",
            "bill_to": lambda r: "Bench customer",
            "payment_terms": lambda r: "30 days net",
            "issue_date": lambda r: r[2],
            "due_date": lambda r: r[3],
            "net_amount": lambda r: r[4],
            "tax_amount": lambda r: Decimal("0.00"),
            "total": lambda r: r[4],
            "amount_open": lambda r: r[5],
        },
    )
    # one payment per paid invoice, applied in full; payment id = invoice id
    copy_rows(
        Payment,
        payments,
        {
            "id": lambda r: r[0],
            "customer_id": lambda r: r[1],
            "amount": lambda r: r[3],
            "amount_applied": lambda r: r[3],
            "currency": lambda r: "EUR",
            "value_date": lambda r: r[2],
            "status": lambda r: "applied",
        },
    )
    copy_rows(
        Allocation,
        payments,
        {"id": lambda r: r[0], "payment_id": lambda r: r[0], "invoice_id": lambda r: r[0], "amount": lambda r: r[3]},
    )
    # ledger: entry ids ID_BASE + invoice (issue) and ID_BASE + 2 x invoices + invoice (cash applied)
    offset = n_invoices
    entries = [(r[0], "invoice", r[1], r[2], r[0], None) for r in invoices]
    entries += [(r[0] + offset, "allocation", r[1], r[2], r[0], r[0]) for r in payments]
    copy_rows(
        JournalEntry,
        entries,
        {
            "id": lambda e: e[0],
            "kind": lambda e: e[1],
            "customer_id": lambda e: e[2],
            "effective_date": lambda e: e[3],
            "invoice_id": lambda e: e[4],
            "payment_id": lambda e: e[5],
            "currency": lambda e: "EUR",
            "description": lambda e: "bench",
        },
    )
    totals = {r[0]: r[4] for r in invoices}
    copy_rows(
        JournalLine,
        entries,
        {
            "id": lambda e: e[0],
            "entry_id": lambda e: e[0],
            "account": lambda e: Account.RECEIVABLES,
            "customer_id": lambda e: e[2],
            "debit": lambda e: totals[e[4]] if e[1] == "invoice" else Decimal("0"),
            "credit": lambda e: totals[e[4]] if e[1] == "allocation" else Decimal("0"),
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
        for model in (Customer, Invoice, Payment, Allocation, JournalEntry, JournalLine):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    return {
        "customers": n_customers,
        "invoices": n_invoices,
        "open_invoices": sum(1 for r in invoices if r[5]),
        "payments": len(payments),
        "ledger_lines": len(entries),
        "load_seconds": round(time.perf_counter() - started, 1),
    }


# --- measurements --------------------------------------------------------------------------------
def _bucket_sql(column: str, on: datetime.date) -> str:
    parts = []
    for _, low, high in kpis.aging_buckets():
        cond = []
        if low is not None:
            cond.append(f"{column} <= DATE '{on - datetime.timedelta(days=low)}'")
        if high is not None:
            cond.append(f"{column} >= DATE '{on - datetime.timedelta(days=high)}'")
        parts.append(" AND ".join(cond))
    return parts


def _hand_aging_today(on: datetime.date) -> list:
    sums = ", ".join(f"SUM(amount_open) FILTER (WHERE {c})" for c in _bucket_sql("due_date", on))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sums} FROM invoicing_invoice WHERE kind = 'invoice' AND status = 'issued' AND amount_open > 0 "
            "AND issue_date <= %s",  # as the report: nothing issued after the day counts
            [on],
        )
        return cursor.fetchone()


def _hand_aging_on(on: datetime.date) -> list:
    """Open on a past day, by hand: today's open items plus the receivables lines after the day reversed."""
    live = ", ".join(f"SUM(amount_open) FILTER (WHERE {c})" for c in _bucket_sql("due_date", on))
    back = ", ".join(f"SUM(l.credit - l.debit) FILTER (WHERE {c})" for c in _bucket_sql("i.due_date", on))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM (SELECT {live} FROM invoicing_invoice WHERE kind = 'invoice' AND status = 'issued' "
            f"AND amount_open > 0) a, (SELECT {back} FROM receivables_journalline l "
            "JOIN receivables_journalentry e ON e.id = l.entry_id JOIN invoicing_invoice i ON i.id = e.invoice_id "
            f"WHERE l.account = '1200' AND e.effective_date > %s AND i.kind = 'invoice') b",
            [on],
        )
        return cursor.fetchone()


def _client() -> Client:
    user, _ = get_user_model().objects.get_or_create(username="bench-finance")
    user.groups.add(role_group(roles.FINANCE_MANAGER))
    client = Client()
    client.force_login(user)
    return client


def _get(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def _measure(sizes: dict) -> list[Figure]:
    today = timezone.localdate()
    past = today - datetime.timedelta(days=90)
    runs = 5
    selector_today = [b["amount"] for b in kpis.aging(on=today)]
    hand_today = [v or 0 for v in _hand_aging_today(today)]
    assert selector_today == hand_today, (selector_today, hand_today)  # same figures, or the race is void
    figures = [
        Figure(
            "reporting.aging_today",
            "ms",
            timed(lambda: kpis.aging(on=today), runs=runs),
            floor=min(timed(lambda: _hand_aging_today(today), runs=runs)),
            target="within 2x the hand-written SQL",
            extra=dict(sizes),
        )
    ]
    selector_past = [b["amount"] for b in kpis.aging(on=past)]
    hand_past = _hand_aging_on(past)
    hand_past = [
        (a or 0) + (b or 0)
        for a, b in zip(hand_past[: len(hand_past) // 2], hand_past[len(hand_past) // 2 :], strict=True)
    ]
    assert selector_past == hand_past, (selector_past, hand_past)
    figures.append(
        Figure(
            "reporting.aging_90_days_ago",
            "ms",
            timed(lambda: kpis.aging(on=past), runs=runs),
            floor=min(timed(lambda: _hand_aging_on(past), runs=runs)),
            target="within 2x the hand-written SQL",
        )
    )
    client = _client()
    parts = {}
    start = today - datetime.timedelta(days=89)
    for name, fn in [
        ("aging_ms", lambda: kpis.aging(on=today)),
        ("receivables_before_start_from_ledger_ms", lambda: kpis.receivables_on(on=start - datetime.timedelta(days=1))),
        ("credit_sales_12_months_ms", lambda: kpis.credit_sales(start=start, end=today)),
        ("cash_received_ms", lambda: selectors.cash_received(start=start, end=today)),
    ]:
        parts[name] = round(min(timed(fn, runs=1, warmup=0)), 1)
    connection.queries_log.clear()  # the log keeps 9,000 entries: a full one captures nothing
    with CaptureQueriesContext(connection) as queries:
        without_snapshot = timed(lambda: _get(client, "/reports/"), runs=1, warmup=0)
    figures.append(
        Figure(
            "reporting.dashboard_without_snapshot",
            "ms",
            without_snapshot,
            target="no snapshot of the day before the period: opening receivables from the ledger",
            extra={"queries": len(queries), **parts},
        )
    )
    services.take_ar_snapshot(on=start - datetime.timedelta(days=1))  # what the nightly task left
    connection.queries_log.clear()  # the log keeps 9,000 entries: a full one captures nothing
    with CaptureQueriesContext(connection) as queries:
        _get(client, "/reports/")
    figures.append(
        Figure(
            "reporting.dashboard",
            "ms",
            timed(lambda: _get(client, "/reports/"), runs=runs),
            target=f"< {TARGET_MS} ms server time",
            extra={"queries": len(queries)},
        )
    )
    figures.append(
        Figure("reporting.cycle_times_page", "ms", timed(lambda: _get(client, "/reports/cycle-times/"), runs=3))
    )
    figures.append(
        Figure("reporting.cash_forecast_page", "ms", timed(lambda: _get(client, "/reports/cash-forecast/"), runs=3))
    )
    day = [today - datetime.timedelta(days=1)]  # yesterday and the days before: none taken yet

    def snapshot():
        services.take_ar_snapshot(on=day[0])
        day[0] -= datetime.timedelta(days=1)

    figures.append(Figure("reporting.nightly_snapshot", "ms", timed(snapshot, runs=3, warmup=0)))
    through = [today - datetime.timedelta(days=2)]  # a day not rebuilt yet: the full nightly rebuild

    def rebuild():
        services.refresh_daily_totals(through=through[0])
        through[0] -= datetime.timedelta(days=1)

    figures.append(
        Figure(
            "reporting.daily_totals_rebuild",
            "ms",
            timed(rebuild, runs=3, warmup=0),
            target="nightly, once: what the dashboard's sales and cash figures read for closed days",
        )
    )
    return figures
