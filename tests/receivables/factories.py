import datetime
from decimal import Decimal

from invoicing import services as invoicing
from receivables import cashapp

_numbers = iter(range(1, 10**7))


def open_invoice(customer, total, *, open_amount=None, number=None, issue_date=None, due_days=30):
    """An issued, open invoice posted to the AR ledger (as the go-live import makes them)."""
    issue_date = issue_date or datetime.date(2026, 11, 1)
    invoice, _ = invoicing.import_open_invoice(
        customer=customer,
        number=number or f"INV-2026-{next(_numbers):06d}",
        issue_date=issue_date,
        due_date=issue_date + datetime.timedelta(days=due_days),
        currency=customer.currency,
        total=Decimal(total),
        open_amount=Decimal(open_amount if open_amount is not None else total),
    )
    cashapp.post_opening_item(invoice=invoice)
    return invoice
