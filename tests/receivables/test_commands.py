"""import_open_items (go-live) and import_statement (the page's import, from a shell)."""

import csv
import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from invoicing.models import BankAccount, Invoice
from o2c.bench.cashapp import camt053_document
from orders.models import Customer
from receivables import selectors
from receivables.models import JournalEntry, PayerIdentity, StatementLine
from tests.orders.factories import CustomerFactory

pytestmark = pytest.mark.django_db
HEADER = "customer_account,customer_name,customer_tax_id,customer_iban,invoice_number,issue_date,due_date,currency,total,open_amount\n"
ROWS = (
    "C-100,Orion Foods NV,BE0123456749,BE71 0961 2345 6769,F-2019-0042,2026-09-01,2026-10-01,EUR,1210.00,1210.00\n"
    "C-100,Orion Foods NV,BE0123456749,,F-2019-0043,2026-09-15,2026-10-15,EUR,500.00,200.00\n"
    "C-200,Vega Metals BV,,,F-2019-0050,2026-10-01,2026-10-31,EUR,99.99,99.99\n"
)


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def open_items_file(tmp_path):
    path = tmp_path / "open_items.csv"
    path.write_text(HEADER + ROWS)
    return path


def test_import_open_items_creates_customers_invoices_and_ledger_once(open_items_file):
    CustomerFactory(account_number="C-200", name="Vega Metals BV")
    assert "3 open items read: 3 imported, 0 already there." in run("import_open_items", str(open_items_file))
    orion = Customer.objects.get(account_number="C-100")
    assert (orion.name, orion.tax_id) == ("Orion Foods NV", "BE0123456749")
    legacy = Invoice.objects.get(number="F-2019-0043")
    assert (legacy.status, legacy.total, legacy.amount_open) == ("issued", Decimal("500.00"), Decimal("200.00"))
    assert selectors.ledger_balance(orion) == Decimal("1410.00")
    assert PayerIdentity.objects.get(kind="iban", value="BE71096123456769").customer == orion
    assert selectors.ledger_integrity_problems() == []
    # idempotent
    assert "3 imported" not in run("import_open_items", str(open_items_file))
    assert Invoice.objects.count() == 3 and JournalEntry.objects.filter(kind="opening").count() == 3


def test_import_open_items_refuses_a_bad_file_and_imports_nothing(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + ROWS + "C-300,X,,XX00,F-1,2026-13-01,2026-10-01,EUR,10.00,12.00\n")
    with pytest.raises(CommandError) as error:
        run("import_open_items", str(path))
    message = str(error.value)
    assert "nothing imported" in message
    assert "line 5, issue_date: '2026-13-01' is not a date" in message
    assert "line 5, open_amount: must be above 0 and at most the total 10.00" in message
    assert "line 5, customer_iban:" in message
    assert not Invoice.objects.exists() and not Customer.objects.filter(account_number="C-100").exists()
    path.write_text("customer_account,invoice_number\nC-1,F-1\n")
    with pytest.raises(CommandError, match="missing column"):
        run("import_open_items", str(path))


def test_import_statement_counts_and_report(open_items_file, tmp_path):
    run("import_open_items", str(open_items_file))
    account = BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")
    on = datetime.date(2026, 11, 5)
    entries = [
        # matched: the legacy number in the text
        {"amount": Decimal("1210.00"), "reference": "B-1", "remittance": "Factuur F 2019 0042", "name": "ORION FOODS"},
        # matched: no reference, but the IBAN learned at go-live and the exact open amount
        {"amount": Decimal("200.00"), "reference": "B-2", "iban": "BE71096123456769", "remittance": "thanks"},
        # suggested: a stranger names an invoice but pays another amount
        {"amount": Decimal("50.00"), "reference": "B-3", "name": "Someone Else", "remittance": "F-2019-0050"},
        # unmatched
        {"amount": Decimal("75.00"), "reference": "B-4", "name": "Nobody Known", "remittance": "goods"},
        # ignored: money out
        {"amount": Decimal("-20.00"), "reference": "B-5", "name": "Supplier", "remittance": "rent"},
    ]
    path = tmp_path / "statement.xml"
    path.write_bytes(
        camt053_document(
            iban=account.iban, currency="EUR", statement_id="S-1", opening=Decimal("0"), on=on, entries=entries
        )
    )
    report = tmp_path / "report.csv"
    out = run("import_statement", str(path), "--bank-account", "BE68 5390 0754 7034", "--report", str(report))
    assert "lines 5, matched 2, suggested 1, unmatched 1, ignored 1" in out
    rows = list(csv.DictReader(report.open()))
    assert [row["bank_reference"] for row in rows] == ["B-1", "B-2", "B-3", "B-4", "B-5"]
    assert [row["status"] for row in rows] == ["matched", "matched", "suggested", "unmatched", "ignored"]
    assert rows[0]["invoice_numbers"] == "F-2019-0042" and rows[0]["applied_amounts"] == "1210.00"
    assert rows[1]["invoice_numbers"] == "F-2019-0043" and rows[1]["applied_amounts"] == "200.00"
    assert rows[3]["invoice_numbers"] == "" and rows[4]["amount"] == "-20.00"
    assert Invoice.objects.get(number="F-2019-0042").status == "paid"
    # the same file again: nothing new, the same report
    again = run("import_statement", str(path), "--bank-account", account.iban, "--report", str(report))
    assert "lines 0, matched 0" in again and "1 statement(s) imported before" in again
    assert len(list(csv.DictReader(report.open()))) == 5
    assert StatementLine.objects.count() == 5


def test_import_statement_refuses_unknown_account_and_bad_file(tmp_path):
    BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")
    path = tmp_path / "broken.xml"
    path.write_bytes(b"<Document><BkToCstmrStmt><Stmt><Id>1</Id>")
    with pytest.raises(CommandError, match="No bank account with IBAN NL00NOPE"):
        run("import_statement", str(path), "--bank-account", "NL00NOPE")
    with pytest.raises(CommandError, match=r"nothing imported. XML line 1, column \d+: not well-formed XML"):
        run("import_statement", str(path), "--bank-account", "BE68539007547034")
    assert not StatementLine.objects.exists()
