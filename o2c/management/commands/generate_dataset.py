"""python manage.py generate_dataset --invoices N [--customers M] [--products P] [--seed S]

Builds a realistic, seeded dataset with COPY (see o2c/dataset.py), fills the report tables the
scheduled jobs keep (daily totals, order quality) as they would have by now, then runs the
integrity check on it (unless --no-check). Exits non-zero when the check finds a problem."""

import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from o2c import dataset, integrity
from reporting import services as reporting


class Command(BaseCommand):
    help = "Generate a realistic seeded dataset (PostgreSQL, bulk COPY) of N invoices."

    def add_arguments(self, parser):
        parser.add_argument("--invoices", type=int, required=True, help="Invoices to issue (e.g. 1000000).")
        parser.add_argument("--customers", type=int, help="Customers (default: invoices / 10, at least 20).")
        parser.add_argument("--products", type=int, help="Products (default: invoices / 200, 20 to 5,000).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed builds the same data.")
        parser.add_argument("--no-check", action="store_true", help="Skip the integrity check afterwards.")

    def handle(self, *args, invoices, customers, products, seed, no_check, **options):
        if invoices < 1:
            raise CommandError("--invoices must be at least 1.")
        self.stderr.write(f"Generating {invoices:,} invoices (seed {seed}) ...")
        result = dataset.generate(
            invoices=invoices, customers=customers, products=products, seed=seed, log=self.stderr.write
        )
        for line in dataset.summary_lines(result):
            self.stdout.write(line)
        self._report_tables()
        if no_check:
            return
        report = integrity.run_checks()
        for line in report.lines():
            self.stdout.write(line)
        if report.all_problems:
            raise CommandError(f"Integrity check found {len(report.all_problems)} problem(s).")

    def _report_tables(self):
        """What beat would have built by now: the closed days' totals and every order's quality checks."""
        started = time.perf_counter()
        reporting.refresh_daily_totals(through=timezone.localdate() - datetime.timedelta(days=1))
        refresh = reporting.refresh_order_quality(full=True)
        facts = reporting.refresh_cycle_facts(full=True)
        self.stdout.write(
            f"report tables (daily totals, {refresh.orders:,} orders' quality, {facts.documents:,} cycle-time facts) "
            f"{time.perf_counter() - started:.1f} s"
        )
