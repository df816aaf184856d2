"""Aging: the report's aging selector against the hand-written SQL floor (PERFORMANCE.md:
28.6 ms over 1,000,000 invoices), today and 90 days back (the ledger reversal).

    python manage.py bench aging [--scale 1]

On a database that already holds a generated dataset (manage.py generate_dataset, 10,000
issued invoices or more) it measures that data as it is; otherwise it loads the reporting
benchmark's data (1,000,000 invoices at --scale 1) with COPY and rolls it back afterwards."""

import datetime

from django.utils import timezone

from invoicing.models import Invoice
from o2c.bench import reporting
from o2c.bench.common import Figure, measured_then_rolled_back, require_postgresql, timed
from reporting import kpis

RUNS = 5


def run(*, scale: float) -> list[Figure]:
    require_postgresql()
    if Invoice.objects.exclude(status="draft").count() >= 10_000:
        return _measure({"data": "the database's own (generated) dataset"})
    return measured_then_rolled_back(lambda: reporting._load(scale), _measure)


def _measure(sizes: dict) -> list[Figure]:
    today = timezone.localdate()
    past = today - datetime.timedelta(days=90)
    open_items = Invoice.objects.filter(kind="invoice", status="issued", amount_open__gt=0).count()
    agree_today = [b["amount"] for b in kpis.aging(on=today)] == [v or 0 for v in reporting._hand_aging_today(today)]
    return [
        Figure(
            "aging.today",
            "ms",
            timed(lambda: kpis.aging(on=today), runs=RUNS),
            floor=min(timed(lambda: reporting._hand_aging_today(today), runs=RUNS)),
            target="within 2x the hand-written SQL",
            extra={**sizes, "open_items": open_items, "same_figures_as_floor": agree_today},
        ),
        Figure(
            "aging.90_days_ago",
            "ms",
            timed(lambda: kpis.aging(on=past), runs=RUNS),
            floor=min(timed(lambda: reporting._hand_aging_on(past), runs=RUNS)),
            target="within 2x the hand-written SQL",
        ),
    ]
