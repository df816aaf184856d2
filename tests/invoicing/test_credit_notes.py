"""Credit notes: full or partial, by line or by amount, through the ledger; never more than open."""

from decimal import Decimal

import pytest

from invoicing.models import Invoice
from invoicing.services import InvoicingError, propose_credit_note, propose_credit_note_for_amount
from o2c import flow
from receivables.models import JournalEntry, JournalLine
from tests.core.factories import user_in
from tests.invoicing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(db):
    f.company()
    # 3 x 19.99 = 59.97 + 12.59 VAT; 7 x 4.35 = 30.45 + 1.83 VAT; 104.84 in all
    return f.shipped_invoice(f.customer(), [(f.product("19.99"), 3), (f.product("4.35", "0.0600"), 7)])


def ledger_balance(customer, account="1200"):
    lines = JournalLine.objects.filter(customer=customer, account=account)
    return sum((x.debit - x.credit for x in lines), Decimal("0"))


def test_partial_credit_by_line_reduces_open_amount_through_the_ledger(invoice):
    line = invoice.lines.get(line_number=1)
    note = propose_credit_note(invoice=invoice, lines=[(line, Decimal("1"))], reason="One shelf damaged")
    assert (note.status, note.number, note.total) == (Invoice.Status.DRAFT, None, Decimal("24.19"))  # 19.99 + 4.20
    note = flow.issue_credit_note(note=note, by=user_in("Billing clerk"))
    invoice.refresh_from_db()
    assert note.number.startswith("CN-") and note.credited_invoice == invoice
    assert invoice.amount_open == Decimal("80.65")  # 104.84 - 24.19
    entry = JournalEntry.objects.get(invoice=note)
    assert entry.kind == "credit_note"
    assert {(x.account, x.debit, x.credit) for x in entry.lines.all()} == {
        ("4000", Decimal("19.99"), Decimal("0")),
        ("2400", Decimal("4.20"), Decimal("0")),
        ("1200", Decimal("0"), Decimal("24.19")),
    }
    assert ledger_balance(invoice.customer) == invoice.amount_open


def test_full_credit_closes_the_invoice(invoice):
    lines = [(line, line.quantity) for line in invoice.lines.all()]
    note = flow.issue_credit_note(note=propose_credit_note(invoice=invoice, lines=lines, reason="Cancelled"), by=None)
    invoice.refresh_from_db()
    assert note.total == invoice.total
    assert (invoice.status, invoice.amount_open) == (Invoice.Status.PAID, Decimal("0.00"))
    assert ledger_balance(invoice.customer) == 0


def test_credit_by_amount_spreads_over_the_rates(invoice):
    note = propose_credit_note_for_amount(invoice=invoice, amount=Decimal("50.00"), reason="Price agreed lower")
    rows = {row.rate: row for row in note.tax_lines.all()}
    assert set(rows) == {Decimal("0.2100"), Decimal("0.0600")}
    assert abs(note.total - Decimal("50.00")) <= Decimal("0.02")
    flow.issue_credit_note(note=note, by=None)
    invoice.refresh_from_db()
    assert invoice.amount_open == Decimal("104.84") - note.total


def test_credit_larger_than_what_is_open_is_refused_and_changes_nothing(invoice):
    flow.receive_payment(invoice=invoice, amount=Decimal("100.00"), value_date=invoice.issue_date, by=None)
    note = propose_credit_note(invoice=invoice, lines=[(invoice.lines.get(line_number=1), Decimal("1"))], reason="x")
    with pytest.raises(InvoicingError, match=r"Credit note of 24.19 EUR is more than the 4.84 EUR still open"):
        flow.issue_credit_note(note=note, by=None)
    note.refresh_from_db()
    invoice.refresh_from_db()
    assert (note.status, note.number, invoice.amount_open) == (Invoice.Status.DRAFT, None, Decimal("4.84"))
    assert not JournalEntry.objects.filter(invoice=note).exists()


@pytest.mark.parametrize(
    "quantity, message", [(Decimal("4"), "Line 1: credit between 0 and 3.000"), (Decimal("0"), "between 0 and")]
)
def test_bad_credit_quantities_are_refused(invoice, quantity, message):
    with pytest.raises(InvoicingError, match=message):
        propose_credit_note(invoice=invoice, lines=[(invoice.lines.get(line_number=1), quantity)], reason="x")
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_credit_note_needs_a_reason_and_an_amount(invoice):
    with pytest.raises(InvoicingError, match="Say why"):
        propose_credit_note_for_amount(invoice=invoice, amount=Decimal("5"), reason=" ")
    with pytest.raises(InvoicingError, match="more than the invoice total"):
        propose_credit_note_for_amount(invoice=invoice, amount=Decimal("500"), reason="x")


def test_order_completes_when_the_rest_is_paid_after_a_credit_note(invoice):
    from orders.models import SalesOrder

    note = propose_credit_note(invoice=invoice, lines=[(invoice.lines.get(line_number=1), Decimal("1"))], reason="x")
    flow.issue_credit_note(note=note, by=None)
    flow.receive_payment(invoice=invoice, amount=Decimal("80.65"), value_date=invoice.issue_date, by=None)
    invoice.order.refresh_from_db()
    assert invoice.order.status == SalesOrder.Status.COMPLETED
