"""python manage.py import_statement FILE --bank-account IBAN [--report OUT.csv]

The same import and matching as the statement upload page: prints the counts of lines,
matched, suggested and unmatched; the report has one row per statement entry.
"""

import csv

from django.core.management.base import BaseCommand, CommandError

from invoicing.models import BankAccount
from o2c import flow
from o2c.core.errors import DomainError
from receivables.models import StatementLine

REPORT_COLUMNS = ["bank_reference", "amount", "status", "invoice_numbers", "applied_amounts"]


class Command(BaseCommand):
    help = "Import a bank statement (camt.053, MT940, BAI2, CSV), match and apply it."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--bank-account", required=True, help="IBAN of our account the statement is for.")
        parser.add_argument("--report", help="Write one CSV row per statement entry to this file.")

    def handle(self, *args, file, bank_account, report, **options):
        iban = bank_account.replace(" ", "").upper()
        account = BankAccount.objects.filter(iban=iban).first()
        if account is None:
            known = ", ".join(BankAccount.objects.values_list("iban", flat=True)) or "none yet"
            raise CommandError(f"No bank account with IBAN {iban} (known: {known}).")
        try:
            with open(file, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise CommandError(f"{file}: cannot be read ({error})") from None
        try:
            result, summary = flow.import_statement(bank_account=account, data=data, file_name=file)
        except DomainError as error:
            raise CommandError(f"{file}: nothing imported. {error.message}") from None
        self.stdout.write(
            f"lines {summary.lines}, matched {summary.matched}, suggested {summary.suggested}, "
            f"unmatched {summary.unmatched}, ignored {summary.ignored}"
            + (f" ({result.already_imported} statement(s) imported before)" if result.already_imported else "")
        )
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if report:
            self._report(report, result.existing_statements + result.statements)

    def _report(self, path: str, statements) -> None:
        lines = (
            StatementLine.objects.filter(statement__in=statements)
            .select_related("payment")
            .prefetch_related("payment__allocations__invoice")
            .order_by("statement_id", "position")
        )
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(REPORT_COLUMNS)
            for line in lines:
                allocations = (
                    [a for a in line.payment.allocations.all() if a.reversed_at is None or line.amount < 0]
                    if line.payment_id
                    else []
                )
                writer.writerow(
                    [
                        line.bank_reference,
                        line.amount,
                        line.status,
                        ";".join(a.invoice.number for a in allocations),
                        ";".join(str(a.amount) for a in allocations),
                    ]
                )
        self.stdout.write(f"report: {path}")
