"""The daily dunning run at scale: 100,000 overdue invoices of 20,000 customers (at --scale 1),
on PostgreSQL. Target: under 60 s for the run (selection, skip screen, levels, letters and
items written) and its approval (each letter's delivery task registered for after commit:
queued for rendering, not rendered).

Data: customers and issued invoices loaded with COPY, due 1 to 120 days before the run date;
around them the exceptions the screen must find: open disputes (1% of the items, a third of
them for the whole amount), promises to pay (1%), dunning blocks (0.5% of the customers),
unapplied payments (1% of the customers) and items below the minimum amount. A fifth of the
items were dunned at level 1 on an earlier run, so the run also escalates.

The floor is the same selection written by hand in one SQL statement (PERFORMANCE.md,
"set-based dunning levels"): every overdue item's level from the ladder, the skips as anti-joins,
grouped into one row per letter. Everything is rolled back after measuring."""

import datetime
import random
import time
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from invoicing.models import Invoice
from o2c import flow
from orders.models import Customer, PaymentTerms
from receivables.models import (
    CollectionSkip,
    CollectionsSettings,
    Dispute,
    DunningBlock,
    DunningItem,
    DunningLetter,
    DunningLevel,
    DunningProcedure,
    DunningRun,
    Payment,
    PromiseToPay,
)

from .common import Figure, copy_rows, measured_then_rolled_back, require_postgresql

RUN_DATE = datetime.date(2026, 11, 2)


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    return measured_then_rolled_back(lambda: scale, _run)


def _ladder() -> DunningProcedure:
    """The default procedure of migration 0008 (a flushed test database has none: make it)."""
    procedure = DunningProcedure.objects.filter(segment="", is_active=True).first()
    if procedure and procedure.levels.exists():
        return procedure
    procedure = DunningProcedure.objects.create(code="BENCH", name="Bench dunning", segment="")
    for level, days, fee, interest, channel in [
        (1, 7, "0", False, "email"),
        (2, 21, "10", True, "email"),
        (3, 45, "25", True, "letter"),
        (4, 75, "0", False, "call"),
    ]:
        DunningLevel.objects.create(
            procedure=procedure,
            level=level,
            name=f"Level {level}",
            days_overdue=days,
            fee=Decimal(fee),
            charge_interest=interest,
            channel=channel,
            letter_text="Please pay.",
        )
    return procedure


def build_data(*, customers: int, invoices: int, seed: int = 21) -> dict:
    rng = random.Random(seed)
    terms = PaymentTerms.objects.get_or_create(code="NET30", defaults={"name": "30 days net", "net_days": 30})[0]
    settings = CollectionsSettings.current()
    settings.dunning_mode = "preview"
    settings.save()
    procedure = _ladder()
    start_id = (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    customer_ids = list(range(start_id, start_id + customers))
    copy_rows(
        Customer,
        customer_ids,
        {
            "id": lambda pk: pk,
            "account_number": lambda pk: f"D{pk:08d}",
            "name": lambda pk: f"Dunning Bench {pk} NV",
            "email": lambda pk: f"ap{pk}@bench.example",
            "address_line": lambda pk: "Street 1",
            "postal_code": lambda pk: "1000",
            "city": lambda pk: "Brussels",
            "country": lambda pk: "BE",
            "currency": lambda pk: "EUR",
            "language": lambda pk: "en",
            "tax_treatment": lambda pk: "domestic",
            "payment_terms_id": lambda pk: terms.pk,
            "is_active": lambda pk: True,
        },
    )
    invoice_start = (Invoice.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    issued_at = timezone.now()
    rows = []
    for i in range(invoices):
        total = Decimal(rng.randint(300, 500_000)) / 100  # a few under the 5.00 minimum
        due = RUN_DATE - datetime.timedelta(days=rng.randint(1, 120))
        rows.append(
            {
                "id": invoice_start + i,
                "kind": "invoice",
                "number": f"DB-2026-{invoice_start + i:08d}",
                "customer_id": customer_ids[i % customers],
                "status": "issued",
                "currency": "EUR",
                "bill_to": "Bench",
                "payment_terms": "30 days net",
                "issue_date": due - datetime.timedelta(days=30),
                "supply_date": due - datetime.timedelta(days=30),
                "due_date": due,
                "net_amount": total,
                "tax_amount": Decimal("0.00"),
                "total": total,
                "amount_open": total,
                "issued_at": issued_at,
            }
        )
    copy_rows(Invoice, rows, {name: (lambda row, name=name: row[name]) for name in rows[0]})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('orders_customer', 'id'), (SELECT max(id) FROM orders_customer));"
            "SELECT setval(pg_get_serial_sequence('invoicing_invoice', 'id'), (SELECT max(id) FROM invoicing_invoice))"
        )
    sample = rng.sample(rows, max(1, invoices // 100))
    Dispute.objects.bulk_create(
        Dispute(
            invoice_id=row["id"],
            customer_id=row["customer_id"],
            reason="price",
            amount=row["total"] if n % 3 == 0 else max(Decimal("0.01"), (row["total"] / 2).quantize(Decimal("0.01"))),
        )
        for n, row in enumerate(sample)
    )
    promised = rng.sample(rows, max(1, invoices // 100))
    promises = PromiseToPay.objects.bulk_create(
        PromiseToPay(
            customer_id=row["customer_id"],
            promised_date=RUN_DATE + datetime.timedelta(days=5),
            amount=row["total"],
            currency="EUR",
        )
        for row in promised
    )
    PromiseToPay.invoices.through.objects.bulk_create(
        PromiseToPay.invoices.through(promisetopay_id=p.pk, invoice_id=row["id"])
        for p, row in zip(promises, promised, strict=True)
    )
    DunningBlock.objects.bulk_create(
        DunningBlock(customer_id=pk, reason="bench") for pk in rng.sample(customer_ids, max(1, customers // 200))
    )
    Payment.objects.bulk_create(
        Payment(customer_id=pk, amount=Decimal("250.00"), currency="EUR", value_date=RUN_DATE)
        for pk in rng.sample(customer_ids, max(1, customers // 100))
    )
    # An earlier run dunned a fifth of the items at level 1.
    level1 = procedure.levels.get(level=1)
    earlier = DunningRun.objects.create(run_date=RUN_DATE - datetime.timedelta(days=14), status="sent")
    dunned = [row for row in rows[: invoices // 5] if (RUN_DATE - row["due_date"]).days >= 21]
    by_customer: dict[int, list] = {}
    for row in dunned:
        by_customer.setdefault(row["customer_id"], []).append(row)
    letters = DunningLetter.objects.bulk_create(
        DunningLetter(
            run=earlier, customer_id=pk, level=level1, currency="EUR", total_overdue=Decimal("1"), status="sent"
        )
        for pk in by_customer
    )
    DunningItem.objects.bulk_create(
        (
            DunningItem(
                letter=letter,
                invoice_id=row["id"],
                level=level1,
                days_overdue=(RUN_DATE - row["due_date"]).days - 14,
                amount=row["total"],
            )
            for letter, items in zip(letters, by_customer.values(), strict=True)
            for row in items
        ),
        batch_size=10000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE orders_customer; ANALYZE invoicing_invoice; ANALYZE receivables_dunningitem; "
            "ANALYZE receivables_dispute; ANALYZE receivables_payment"
        )
    return {"customers": customers, "invoices": invoices, "dunned_before": len(dunned)}


def _run(scale: float) -> list[Figure]:
    customers = max(20, int(20_000 * scale))
    invoices = max(100, int(100_000 * scale))
    started = time.perf_counter()
    with transaction.atomic():
        facts = build_data(customers=customers, invoices=invoices)
    build_seconds = time.perf_counter() - started
    floor_ms, floor_letters = _floor()
    with transaction.atomic():
        started = time.perf_counter()
        run = flow.run_dunning(on=RUN_DATE)
        planned = time.perf_counter() - started
        queued_before = len(connection.run_on_commit)
        run = flow.approve_dunning_run(run=run, by=None)
        queued = len(connection.run_on_commit) - queued_before
        seconds = time.perf_counter() - started
    skips = dict(
        CollectionSkip.objects.filter(run=run).values_list("reason").annotate(n=_count()).values_list("reason", "n")
    )
    return [
        Figure(
            name="dunning_run",
            unit="s",
            samples=[seconds],
            floor=floor_ms / 1000,
            target="< 60 s at scale 1 (100,000 overdue invoices of 20,000 customers; letters queued, not rendered)",
            extra={
                "customers": customers,
                "overdue_invoices": invoices,
                "dunned_before_at_level_1": facts["dunned_before"],
                "letters": run.letters_count,
                "items": run.items_count,
                "skipped": run.skipped_count,
                "skip_reasons": skips,
                "letters_queued_for_sending": queued,
                "plan_seconds": round(planned, 2),
                "floor_letters": floor_letters,
                "data_build_seconds": round(build_seconds, 1),
            },
        )
    ]


def _count():
    from django.db.models import Count

    return Count("id")


FLOOR_SQL = """
WITH settings AS (SELECT minimum_amount, promise_grace_days FROM receivables_collectionssettings ORDER BY id LIMIT 1),
ladder AS (
    SELECT l.level, l.days_overdue FROM receivables_dunninglevel l
    JOIN receivables_dunningprocedure p ON p.id = l.procedure_id WHERE p.segment = '' AND p.is_active
),
history AS (
    SELECT di.invoice_id, max(l.level) AS last_level
    FROM receivables_dunningitem di
    JOIN receivables_dunninglevel l ON l.id = di.level_id
    JOIN receivables_dunningletter dl ON dl.id = di.letter_id
    JOIN receivables_dunningrun r ON r.id = dl.run_id
    WHERE r.status <> 'discarded' AND dl.status <> 'cancelled'
    GROUP BY di.invoice_id
),
disputed AS (
    SELECT invoice_id, sum(amount) AS disputed FROM receivables_dispute WHERE status <> 'resolved' GROUP BY invoice_id
),
cash AS (
    SELECT customer_id, currency, sum(amount - amount_applied) AS cash FROM receivables_payment
    WHERE status IN ('unapplied', 'partially_applied') GROUP BY customer_id, currency
),
items AS (
    SELECT i.customer_id, i.currency, i.amount_open - coalesce(d.disputed, 0) AS amount,
           (%(on)s::date - i.due_date) AS days, coalesce(h.last_level, 0) AS last_level
    FROM invoicing_invoice i
    LEFT JOIN history h ON h.invoice_id = i.id
    LEFT JOIN disputed d ON d.invoice_id = i.id
    WHERE i.kind = 'invoice' AND i.status = 'issued' AND i.amount_open > 0
      AND i.due_date <= %(on)s::date - (SELECT min(days_overdue) FROM ladder)
      AND NOT EXISTS (SELECT 1 FROM receivables_dunningblock b
                      WHERE b.customer_id = i.customer_id AND (b.until IS NULL OR b.until >= %(on)s::date))
      AND NOT EXISTS (SELECT 1 FROM receivables_promisetopay_invoices pi
                      JOIN receivables_promisetopay p ON p.id = pi.promisetopay_id
                      WHERE pi.invoice_id = i.id AND p.status = 'open'
                        AND p.promised_date >= %(on)s::date - (SELECT promise_grace_days FROM settings))
),
leveled AS (
    SELECT it.customer_id, it.currency, it.amount, it.last_level,
           (SELECT max(level) FROM ladder WHERE ladder.days_overdue <= it.days) AS level
    FROM items it
    LEFT JOIN cash c ON c.customer_id = it.customer_id AND c.currency = it.currency
    WHERE it.amount >= (SELECT minimum_amount FROM settings) AND coalesce(c.cash, 0) < it.amount
)
SELECT customer_id, currency, max(level), count(*), sum(amount)
FROM leveled WHERE level > last_level
GROUP BY customer_id, currency
"""


def _floor() -> tuple[float, int]:
    """Milliseconds of the hand-written selection (median of 3) and the letters it finds."""
    samples, letters = [], 0
    for _ in range(3):
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(FLOOR_SQL, {"on": RUN_DATE})
            letters = len(cursor.fetchall())
            samples.append((time.perf_counter() - started) * 1000)
    return sorted(samples)[1], letters
