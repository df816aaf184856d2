"""The credit hold queue at size: 100,000 customers (80 % with a credit profile), 20,000 orders
on credit hold, plus the books exposure reads (open invoices, approved orders, unapplied cash).
Target: the queue page under 150 ms server time, with a query count that does not change with
the data (first page, a deep page, another sort).

Data is written with COPY inside one transaction that is rolled back at the end: the database
is left as it was. Figures:
- credit.hold_queue_page: GET /credit/holds/ through Django's test client (view, selectors,
  template), first page, oldest first; floor = the same page's SQL statements replayed raw.
- credit.hold_queue_deep_page / credit.hold_queue_largest_first: a keyset page deep in the
  queue; the largest-first sort.
- credit.hold_queue_queries: queries per page (must equal on every page and at every scale).
- credit.decision_per_order: one automatic credit decision (lock the profile, gather the
  figures with aggregates, evaluate, record), on a customer with open items.
"""

import datetime
import random
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credit import selectors as credit_selectors
from credit import services as credit
from credit.models import CreditDecision, CreditProfile
from invoicing.models import Invoice
from o2c.bench.common import Figure, copy_rows, measured_then_rolled_back, require_postgresql, role_group, timed
from o2c.core import roles
from orders.models import Customer, PaymentTerms, Product, SalesOrder, SalesOrderLine
from receivables.models import Payment

CUSTOMERS = 100_000
HELD = 20_000
APPROVED = 20_000
OPEN_INVOICES = 60_000
PAYMENTS = 10_000
ID_BASE = 900_000_000  # explicit ids far above any sequence value: the transaction is rolled back
TARGET_MS = 150


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    return measured_then_rolled_back(lambda: _load(scale), _measure)


# --- data ----------------------------------------------------------------------------------------
def _load(scale: float) -> dict:
    rng = random.Random(7)
    today = timezone.localdate()
    now = timezone.now()
    n_customers = max(int(CUSTOMERS * scale), 100)
    n_held = max(int(HELD * scale), 60)
    n_approved = max(int(APPROVED * scale), 20)
    n_invoices = max(int(OPEN_INVOICES * scale), 60)
    n_payments = max(int(PAYMENTS * scale), 10)
    terms, _ = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})
    product = Product.objects.create(sku=f"BENCH-{ID_BASE}", name="Bench crate", unit_price=Decimal("10.00"))
    customer_ids = [ID_BASE + i for i in range(n_customers)]
    # every 50th customer heads a group of the next 4
    parent_of = {cid: customer_ids[(i // 50) * 50] for i, cid in enumerate(customer_ids) if i % 50 and i % 50 <= 4}
    copy_rows(
        Customer,
        customer_ids,
        {
            "id": lambda c: c,
            "account_number": lambda c: f"B{c}",
            "name": lambda c: f"Bench customer {c} BV",
            "email": lambda c: f"ap@b{c}.example",
            "address_line": lambda c: "Rue 1",
            "postal_code": lambda c: "1000",
            "city": lambda c: "Brussels",
            "payment_terms_id": lambda c: terms.pk,
            "parent_id": lambda c: parent_of.get(c),
        },
    )
    with_profile = [c for i, c in enumerate(customer_ids) if i % 5]
    copy_rows(
        CreditProfile,
        with_profile,
        {
            "id": lambda c: c,
            "customer_id": lambda c: c,
            "credit_limit": lambda c: Decimal(rng.randrange(1_000, 100_000, 500)),
            "risk_class": lambda c: rng.choice("ABBBCCD"),
        },
    )
    invoice_ids = [ID_BASE + i for i in range(n_invoices)]
    copy_rows(
        Invoice,
        invoice_ids,
        {
            "id": lambda i: i,
            "number": lambda i: f"BINV-{i}",
            "customer_id": lambda i: rng.choice(customer_ids),
            "status": lambda i: Invoice.Status.ISSUED,
            "currency": lambda i: "EUR",
            "bill_to": lambda i: "x",
            "payment_terms": lambda i: "30 days net",
            "issue_date": lambda i: today - datetime.timedelta(days=(i % 120)),
            "due_date": lambda i: today - datetime.timedelta(days=(i % 120) - 30),
            "net_amount": lambda i: Decimal("1000.00"),
            "tax_amount": lambda i: Decimal("210.00"),
            "total": lambda i: Decimal("1210.00"),
            "amount_open": lambda i: Decimal("1210.00") if i % 3 else Decimal("400.00"),
            "issued_at": lambda i: now,
        },
    )
    copy_rows(
        Payment,
        range(n_payments),
        {
            "id": lambda i: ID_BASE + i,
            "customer_id": lambda i: rng.choice(customer_ids),
            "amount": lambda i: Decimal("250.00"),
            "currency": lambda i: "EUR",
            "value_date": lambda i: today,
            "status": lambda i: Payment.Status.UNAPPLIED,
        },
    )
    order_ids = [ID_BASE + i for i in range(n_held + n_approved)]
    totals = {o: Decimal(rng.randrange(100, 50_000)) for o in order_ids}
    copy_rows(
        SalesOrder,
        order_ids,
        {
            "id": lambda o: o,
            "number": lambda o: f"BSO-{o}",
            "customer_id": lambda o: rng.choice(customer_ids),
            "status": lambda o: SalesOrder.Status.CREDIT_HOLD if o - ID_BASE < n_held else SalesOrder.Status.APPROVED,
            "order_date": lambda o: today - datetime.timedelta(days=(o % 60)),
            "currency": lambda o: "EUR",
            "net_amount": lambda o: totals[o],
            "tax_amount": lambda o: Decimal("0"),
            "total": lambda o: totals[o],
            "submitted_at": lambda o: now - datetime.timedelta(minutes=o - ID_BASE),
        },
    )
    copy_rows(
        SalesOrderLine,
        order_ids,
        {
            "id": lambda o: o,
            "order_id": lambda o: o,
            "line_number": lambda o: 1,
            "product_id": lambda o: product.pk,
            "description": lambda o: "Bench crate",
            "quantity": lambda o: totals[o] / 10,
            "unit_price": lambda o: Decimal("10.00"),
            "tax_rate": lambda o: Decimal("0"),
            "net_amount": lambda o: totals[o],
            "tax_amount": lambda o: Decimal("0"),
        },
    )
    policy = credit_selectors.current_policy()
    copy_rows(
        CreditDecision,
        order_ids[:n_held],
        {
            "id": lambda o: o,
            "order_id": lambda o: o,
            "outcome": lambda o: CreditDecision.Outcome.HELD,
            "reasons": lambda o: (
                "Credit limit exceeded: exposure 9,000.00 EUR + this order 2,000.00 EUR = "
                "11,000.00 EUR, limit 10,000.00 EUR.\nOverdue: an invoice is 45 days past due (more than 30 allowed)."
            ),
            "failed_rules": lambda o: "limit,overdue_days",
            "policy_id": lambda o: policy.pk,
            "exposure": lambda o: Decimal("9000.00"),
            "credit_limit": lambda o: Decimal("10000.00"),
        },
    )
    with connection.cursor() as cursor:
        for table in [
            "orders_customer",
            "credit_creditprofile",
            "invoicing_invoice",
            "receivables_payment",
            "orders_salesorder",
            "orders_salesorderline",
            "credit_creditdecision",
        ]:
            cursor.execute(f"ANALYZE {table}")
    return {"customers": n_customers, "held": n_held, "approved": n_approved, "invoices": n_invoices}


# --- measurements ---------------------------------------------------------------------------------
def _client() -> Client:
    user = get_user_model().objects.create(username=f"bench-credit-{time.time_ns()}")
    user.groups.add(role_group(roles.CREDIT_MANAGER))
    client = Client()
    client.force_login(user)
    return client


def _page(client: Client, url: str, params: dict):
    def get():
        response = client.get(url, params)
        assert response.status_code == 200, response.status_code
        return response

    return get


def _queries(fn) -> tuple[int, list[tuple[str, None]]]:
    with CaptureQueriesContext(connection) as context:
        fn()
    # the session and user lookups are the test client's login, not the page's work
    return len(context), [q["sql"] for q in context.captured_queries]


def _replay(statements: list[str]):
    def run_sql():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description:
                    cursor.fetchall()

    return run_sql


def _measure(sizes: dict) -> list[Figure]:
    client = _client()
    url = "/credit/holds/"
    first = _page(client, url, {})
    largest = _page(client, url, {"sort": "largest"})
    middle = (
        SalesOrder.objects.filter(status=SalesOrder.Status.CREDIT_HOLD)
        .order_by("submitted_at", "id")
        .values_list("submitted_at", "id")[sizes["held"] // 2]
    )
    deep = _page(client, url, {"after": f"{middle[0].isoformat()}_{middle[1]}"})
    first()  # warm caches, templates
    counts = {}
    statements = {}
    for name, fn in [("first", first), ("deep", deep), ("largest", largest)]:
        counts[name], statements[name] = _queries(fn)
    extra = sizes | {"queries": counts, "debug": settings.DEBUG}
    figures = [
        Figure(
            name="credit.hold_queue_page",
            unit="ms",
            samples=timed(first, runs=7),
            floor=min(timed(_replay(statements["first"]), runs=7)),
            target=f"< {TARGET_MS} ms",
            extra=extra,
        ),
        Figure(
            name="credit.hold_queue_page_cpu",
            unit="ms",
            samples=_cpu_ms(first, runs=7),
            target="Python CPU of the same request (the web process's own work; wall time above also waits "
            "for PostgreSQL and, on a loaded machine, for a core)",
        ),
        Figure(
            name="credit.hold_queue_deep_page",
            unit="ms",
            samples=timed(deep, runs=5),
            floor=min(timed(_replay(statements["deep"]), runs=5)),
            target=f"< {TARGET_MS} ms",
        ),
        Figure(
            name="credit.hold_queue_largest_first",
            unit="ms",
            samples=timed(largest, runs=5),
            floor=min(timed(_replay(statements["largest"]), runs=5)),
            target=f"< {TARGET_MS} ms",
        ),
        Figure(
            name="credit.hold_queue_queries",
            unit="queries",
            samples=[float(counts["first"]), float(counts["deep"]), float(counts["largest"])],
            target="equal on every page and at every scale",
        ),
    ]
    figures.append(_decision_figure())
    figures.append(_submit_figure(sizes))
    return figures


def _submit_figure(sizes: dict) -> Figure:
    """Orders submitted through o2c.flow.submit_order (validate, number, credit decision with
    the profile locks, reserve stock), one after another, for customers with profiles and
    open items. Each order runs in a savepoint of the benchmark's transaction (no COMMIT, so
    the fsync floor of PERFORMANCE.md is not included)."""
    from fulfillment.models import StockItem, Warehouse
    from o2c import flow
    from orders.services import LineInput

    user = get_user_model().objects.filter(username__startswith="bench-credit").first()
    product = Product.objects.get(sku=f"BENCH-{ID_BASE}")
    warehouse, _ = Warehouse.objects.get_or_create(code="BENCH", defaults={"name": "Bench", "is_default": True})
    StockItem.objects.create(warehouse=warehouse, product=product, on_hand=Decimal("1000000"))
    accounts = list(
        Customer.objects.filter(pk__gte=ID_BASE, credit_profile__isnull=False).values_list("account_number", flat=True)[
            :200
        ]
    )
    outcomes = {"approved": 0, "credit_hold": 0}

    def submit_all():
        for account in accounts:
            order = flow.submit_order(by=user, customer_account=account, lines=[LineInput(product.sku, "3")])
            outcomes[order.status] = outcomes.get(order.status, 0) + 1

    start = time.perf_counter()
    submit_all()
    elapsed = time.perf_counter() - start
    return Figure(
        name="credit.submit_orders_per_second",
        unit="orders/s",
        samples=[len(accounts) / elapsed],
        higher_is_better=True,
        extra={"orders": len(accounts), "outcomes": outcomes, "customers": sizes["customers"]},
    )


def _cpu_ms(fn, *, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        samples.append((time.process_time() - start) * 1000)
    return samples


def _decision_figure() -> Figure:
    """One automatic decision on a submitted order of a customer with open items, each in a
    savepoint rolled back so every run decides the same order against the same books."""
    order = (
        SalesOrder.objects.filter(status=SalesOrder.Status.CREDIT_HOLD, customer__credit_profile__isnull=False)
        .select_related("customer")
        .order_by("id")
        .first()
    )

    def decide():
        sid = transaction.savepoint()
        credit.decide_order(order=order)
        transaction.savepoint_rollback(sid)

    samples = timed(decide, runs=20, warmup=3)
    return Figure(
        name="credit.decision_per_order",
        unit="ms",
        samples=samples,
        extra={"decisions_per_second": round(1000 / sorted(samples)[len(samples) // 2], 1)},
    )
