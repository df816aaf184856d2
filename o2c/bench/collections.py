"""Collections at size: 20,000 customers with 100,000 overdue invoices (and 20,000 not yet due),
credit profiles with risk classes, 10 collectors with every customer assigned, 2,000 broken
promises and 2,000 open call tasks, on PostgreSQL.

Data is written with COPY inside one transaction that is rolled back at the end. Figures:
- collections.worklist_page: GET /receivables/collections/?collector=all (every overdue account
  ranked; the heaviest filter) through django.test.Client in-process; target < 150 ms; its
  query count in `queries`; floor = the worklist's one SQL statement alone.
- collections.my_worklist_page: the same for one collector's accounts (the default view).
- collections.account_page: GET /desk/customers/<id>/account/ for a customer with 5 overdue
  items, promises, activities and a credit profile; its query count in `queries`.
"""

import datetime
import os
import random
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credit.models import CreditProfile
from invoicing.models import Invoice
from o2c.bench.common import Figure, copy_rows, measured_then_rolled_back, require_postgresql, role_group, timed
from o2c.core import roles
from orders.models import Customer, PaymentTerms
from receivables import collections
from receivables.models import CollectionActivity, Collector, CollectorAssignment, PromiseToPay

CUSTOMERS = 20_000
OVERDUE_INVOICES = 100_000
NOT_DUE_INVOICES = 20_000
COLLECTORS = 10
ID_BASE = 910_000_000  # explicit ids far above any sequence value: the transaction is rolled back
TARGET_MS = 150
SEGMENTS = ["retail", "wholesale", "public", "export"]


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    return measured_then_rolled_back(lambda: _load(scale), _measure)


def _load(scale: float) -> dict:
    started = time.perf_counter()
    rng = random.Random(7)
    today = timezone.localdate()
    n_customers = max(int(CUSTOMERS * scale), 20)
    n_overdue = max(int(OVERDUE_INVOICES * scale), 100)
    n_not_due = max(int(NOT_DUE_INVOICES * scale), 20)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    terms, _ = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})
    customer_ids = [ID_BASE + i for i in range(n_customers)]
    copy_rows(
        Customer,
        customer_ids,
        {
            "id": lambda c: c,
            "account_number": lambda c: f"K{c}",
            "name": lambda c: f"Collections customer {c} BV",
            "email": lambda c: f"ap@k{c}.example",
            "address_line": lambda c: "Rue du Banc 1",
            "postal_code": lambda c: "1000",
            "city": lambda c: "Brussels",
            "segment": lambda c: SEGMENTS[c % len(SEGMENTS)],
            "payment_terms_id": lambda c: terms.pk,
        },
    )
    copy_rows(
        CreditProfile,
        customer_ids,
        {
            "id": lambda c: c,
            "customer_id": lambda c: c,
            "credit_limit": lambda c: Decimal("10000.00"),
            "risk_class": lambda c: "ABCDE"[c % 5],
        },
    )
    # the bench user is the first collector; the others are plain users
    user_model = get_user_model()
    me, _ = user_model.objects.get_or_create(username="bench-collector")
    me.groups.add(role_group(roles.AR_CLERK))
    collector_rows = [Collector.objects.create(user=me)]
    for n in range(1, COLLECTORS):
        user = user_model.objects.create(username=f"bench-collector-{n}", first_name="Collector", last_name=str(n))
        collector_rows.append(Collector.objects.create(user=user))
    copy_rows(
        CollectorAssignment,
        customer_ids,
        {
            "id": lambda c: c,
            "customer_id": lambda c: c,
            "collector_id": lambda c: collector_rows[c % COLLECTORS].pk,
            "by_rule": lambda c: True,
            "next_action_on": lambda c: today + datetime.timedelta(days=c % 7) if c % 3 == 0 else None,
        },
    )
    invoices = []
    for n in range(n_overdue + n_not_due):
        customer = customer_ids[rng.randrange(n_customers)]
        overdue = n < n_overdue
        due = (
            today - datetime.timedelta(days=rng.randrange(1, 200))
            if overdue
            else today + datetime.timedelta(days=rng.randrange(0, 30))
        )
        total = Decimal(rng.randrange(5_000, 500_000)) / 100
        open_amount = total if rng.random() < 0.8 else (total / 2).quantize(Decimal("0.01"))
        invoices.append((ID_BASE + n, customer, due, total, open_amount))
    copy_rows(
        Invoice,
        invoices,
        {
            "id": lambda r: r[0],
            "number": lambda r: f"K{r[0]}",
            "customer_id": lambda r: r[1],
            "status": lambda r: "issued",
            "currency": lambda r: "EUR",
            "bill_to": lambda r: "Collections customer",
            "payment_terms": lambda r: "30 days net",
            "issue_date": lambda r: r[2] - datetime.timedelta(days=30),
            "due_date": lambda r: r[2],
            "net_amount": lambda r: r[3],
            "tax_amount": lambda r: Decimal("0.00"),
            "total": lambda r: r[3],
            "amount_open": lambda r: r[4],
        },
    )
    n_promises = max(n_customers // 10, 2)
    copy_rows(
        PromiseToPay,
        range(n_promises),
        {
            "id": lambda n: ID_BASE + n,
            "customer_id": lambda n: customer_ids[(n * 7) % n_customers],
            "promised_date": lambda n: today - datetime.timedelta(days=n % 30 + 2),
            "amount": lambda n: Decimal("100.00"),
            "currency": lambda n: "EUR",
            "status": lambda n: "broken" if n % 2 == 0 else "open",
        },
    )
    copy_rows(
        CollectionActivity,
        range(n_promises),
        {
            "id": lambda n: ID_BASE + n,
            "customer_id": lambda n: customer_ids[(n * 11) % n_customers],
            "kind": lambda n: "call_task",
            "summary": lambda n: "Level 2: call the customer",
            "follow_up_on": lambda n: today,
            "done": lambda n: False,
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
        for model in (Customer, CreditProfile, CollectorAssignment, Invoice, PromiseToPay, CollectionActivity):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    # one account with a real, small history for the account page
    account = customer_ids[0]
    return {
        "customers": n_customers,
        "overdue_invoices": n_overdue,
        "not_due_invoices": n_not_due,
        "promises": n_promises,
        "account": account,
        "collector": collector_rows[0].pk,
        "user": me.pk,
        "load_seconds": round(time.perf_counter() - started, 1),
    }


def _client(user_id: int) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    return client


def _get(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def _page_figure(name: str, client: Client, url: str, *, runs: int, floor=None, target: str = "", extra=None):
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        _get(client, url)
    return Figure(
        name,
        "ms",
        timed(lambda: _get(client, url), runs=runs),
        floor=floor,
        target=target,
        extra={"queries": len(queries), **(extra or {})},
    )


def _measure(sizes: dict) -> list[Figure]:
    today = timezone.localdate()
    runs = 5
    client = _client(sizes["user"])
    everyone = collections.worklist(on=today)
    assert everyone.total > 0 and everyone.rows[0].score >= everyone.rows[-1].score
    floor = min(timed(lambda: collections.worklist(on=today), runs=runs))
    extra = {k: v for k, v in sizes.items() if k not in {"account", "collector", "user"}}
    extra["accounts_ranked"] = everyone.total
    extra["load_average_1min"] = round(os.getloadavg()[0], 2)  # this machine is shared: read figures with it
    figures = [
        _page_figure(
            "collections.worklist_page",
            client,
            "/receivables/collections/?collector=all",
            runs=runs,
            floor=floor,
            target=f"< {TARGET_MS} ms server time, constant query count",
            extra=extra,
        ),
        _page_figure(
            "collections.my_worklist_page",
            client,
            "/receivables/collections/",
            runs=runs,
            floor=min(timed(lambda: collections.worklist(on=today, collector_id=sizes["collector"]), runs=runs)),
            target=f"< {TARGET_MS} ms server time",
        ),
        _page_figure(
            "collections.account_page",
            client,
            f"/desk/customers/{sizes['account']}/account/",
            runs=runs,
            target="constant query count",
        ),
    ]
    return figures
