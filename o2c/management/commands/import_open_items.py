"""python manage.py import_open_items FILE.csv

Go-live: take over the old system's open items. Columns: customer_account, customer_name,
customer_tax_id, customer_iban, invoice_number, issue_date, due_date (YYYY-MM-DD), currency,
total, open_amount (tax id and IBAN may be empty). Every row is checked first; one bad row and
nothing is imported. Running the same file again changes nothing.
"""

import csv
import datetime
import io
import re
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from o2c import flow
from o2c.core.errors import DomainError

COLUMNS = [
    "customer_account",
    "customer_name",
    "customer_tax_id",
    "customer_iban",
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "total",
    "open_amount",
]
REQUIRED = {
    "customer_account",
    "customer_name",
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "total",
    "open_amount",
}


def read_rows(text: str) -> tuple[list[dict], list[str]]:
    """The rows as typed values, and every problem as "line N, column: reason"."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        return [], [f"line 1 (header): missing column(s) {', '.join(missing)}"]
    rows, problems, seen = [], [], {}
    for number, raw in enumerate(reader, start=2):
        row, where = {}, f"line {number}"
        for column in COLUMNS:
            value = (raw.get(column) or "").strip()
            if column in REQUIRED and not value:
                problems.append(f"{where}, {column}: is empty")
            row[column] = value
        for column in ("issue_date", "due_date"):
            if row[column]:
                try:
                    row[column] = datetime.date.fromisoformat(row[column])
                except ValueError:
                    problems.append(f"{where}, {column}: {row[column]!r} is not a date (YYYY-MM-DD)")
        for column in ("total", "open_amount"):
            if row[column]:
                try:
                    row[column] = Decimal(row[column])
                    if not row[column].is_finite() or row[column] != row[column].quantize(Decimal("0.01")):
                        raise InvalidOperation
                except InvalidOperation:
                    problems.append(f"{where}, {column}: {raw[column]!r} is not an amount with at most 2 decimals")
        amounts = (row["total"], row["open_amount"])
        if all(isinstance(value, Decimal) for value in amounts) and not (0 < amounts[1] <= amounts[0]):
            problems.append(f"{where}, open_amount: must be above 0 and at most the total {row['total']}")
        if row["currency"] and not re.fullmatch(r"[A-Z]{3}", row["currency"]):
            problems.append(f"{where}, currency: {row['currency']!r} is not an ISO 4217 code")
        if row["customer_iban"]:
            try:
                row["customer_iban"] = IBAN(row["customer_iban"]).compact
            except SchwiftyException as error:
                problems.append(f"{where}, customer_iban: {error}")
        if row["invoice_number"] in seen:
            problems.append(
                f"{where}, invoice_number: {row['invoice_number']} is also on line {seen[row['invoice_number']]}"
            )
        seen[row["invoice_number"]] = number
        rows.append(row)
    if not rows and not problems:
        problems.append("line 2: the file has a header but no open items")
    return rows, problems


class Command(BaseCommand):
    help = "Take over open items (customers, invoices with their legacy numbers) at go-live."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with the columns " + ", ".join(COLUMNS))

    def handle(self, *args, file, **options):
        try:
            with open(file, encoding="utf-8-sig") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{file}: cannot be read ({error})") from None
        rows, problems = read_rows(text)
        if problems:
            shown = "\n  ".join(problems[:25])
            more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
            raise CommandError(f"{file}: nothing imported, {len(problems)} problem(s):\n  {shown}{more}")
        created = 0
        try:
            with transaction.atomic():
                for row in rows:
                    _, is_new = flow.take_over_open_item(**row)
                    created += is_new
        except DomainError as error:
            raise CommandError(f"{file}: nothing imported: {error}") from None
        self.stdout.write(f"{len(rows)} open items read: {created} imported, {len(rows) - created} already there.")
