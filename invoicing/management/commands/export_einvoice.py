"""Write an issued invoice's or credit note's e-invoice to a file, for upload to a Peppol
access point by hand: `python manage.py export_einvoice INV-2026-000123 --format ubl -o inv.xml`."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from invoicing import documents
from invoicing.einvoice import EInvoiceError
from invoicing.models import Invoice, InvoiceDocument


class Command(BaseCommand):
    help = "Write the UBL (Peppol BIS 3.0) or Factur-X PDF of an issued invoice or credit note to a file."

    def add_arguments(self, parser):
        parser.add_argument("number", help="Invoice or credit note number, e.g. INV-2026-000123")
        parser.add_argument("--format", choices=["ubl", "facturx"], default="ubl", dest="format")
        parser.add_argument("-o", "--output", required=True, help="File to write ('-' for standard output)")

    def handle(self, *args, number: str, format: str, output: str, **options):
        invoice = Invoice.objects.filter(number=number.strip()).first()
        if invoice is None:
            drafts = " Drafts have no number yet: issue it first." if number.strip().isdigit() else ""
            raise CommandError(f"No issued invoice or credit note numbered {number!r}.{drafts}")
        stored = InvoiceDocument.objects.filter(invoice=invoice, kind=format).first()
        try:
            if stored:
                with stored.file.open("rb") as handle:
                    content = handle.read()
            else:
                content, _ = documents.render(invoice, format)
        except EInvoiceError as error:
            raise CommandError(f"{number}: {error}") from error
        if output == "-":
            sys.stdout.buffer.write(content)
            return
        path = Path(output)
        if not path.parent.exists():
            raise CommandError(f"The folder {path.parent} does not exist.")
        path.write_bytes(content)
        self.stdout.write(f"Wrote {format} of {number} to {path} ({len(content)} bytes).")
