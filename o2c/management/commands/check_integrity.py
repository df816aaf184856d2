"""python manage.py check_integrity

The nightly integrity check (o2c/integrity.py): AR ledger equals open items, entries balance,
stock ledger equals balances, every issued document is posted, numbers are gapless per series
and year. Prints each check with its time; exits non-zero listing the problems."""

from django.core.management.base import BaseCommand, CommandError

from o2c import integrity


class Command(BaseCommand):
    help = "Check the ledgers and number series; exit non-zero with the problems listed."

    def handle(self, *args, **options):
        report = integrity.run_checks()
        for line in report.lines():
            self.stdout.write(line)
        if report.all_problems:
            raise CommandError(f"Integrity check found {len(report.all_problems)} problem(s).")
        self.stdout.write("No problems found.")
