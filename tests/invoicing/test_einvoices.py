"""Every UBL and Factur-X document the suite produces passes the official validators
(tests/standards/validate_einvoice.py: UBL 2.1 XSD, CEN EN 16931 and Peppol BIS 3.0 schematron;
Factur-X container, EN 16931 profile XSD and schematron) with no fatal assertion."""

import importlib.util
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from lxml import etree

from invoicing import documents, einvoice
from invoicing.models import PaymentTermsInstalment
from invoicing.services import propose_credit_note, propose_credit_note_for_amount
from o2c import flow
from tests.core.factories import user_in
from tests.invoicing import factories as f

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
STANDARDS = ROOT / "tests" / "standards"
_spec = importlib.util.spec_from_file_location("validate_einvoice", STANDARDS / "validate_einvoice.py")
validator = importlib.util.module_from_spec(_spec)
sys.modules["validate_einvoice"] = validator
_spec.loader.exec_module(validator)
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


@pytest.fixture(scope="module")
def engine():
    return validator.Engine(STANDARDS / "validators")


def assert_valid(engine, path: Path):
    report = validator.validate(engine, path)
    fatal = [f"{x.rule}: {x.message} @ {x.location}" for x in report.findings if x.severity == "fatal"]
    expected = {"Peppol BIS 3.0 schematron"} if path.suffix == ".xml" else {"EN16931 CII schematron"}
    assert expected <= set(report.checks), f"{path}: only {report.checks} ran"
    assert fatal == [], "\n".join(fatal)
    return report


def check_both(engine, tmp_path, invoice):
    """UBL and Factur-X of one document: valid, and the UBL reproducible byte for byte."""
    ubl = einvoice.ubl(invoice)
    assert einvoice.ubl(invoice) == ubl  # no timestamps, no random ids
    assert einvoice.cii(invoice) == einvoice.cii(invoice)
    ubl_path = tmp_path / f"{invoice.number}.xml"
    ubl_path.write_bytes(ubl)
    assert_valid(engine, ubl_path)
    pdf_path = tmp_path / f"{invoice.number}-facturx.pdf"
    pdf_path.write_bytes(documents.invoice_facturx(invoice))
    report = assert_valid(engine, pdf_path)
    assert report.level == "en16931"
    return etree.fromstring(ubl)


@pytest.fixture
def seller(db):
    return f.company()


def test_domestic_invoice_with_two_tax_rates(engine, tmp_path, seller):
    customer = f.customer()
    invoice = f.shipped_invoice(
        customer,
        [(f.product("19.99", "0.2100", name="Steel shelf"), 3), (f.product("4.35", "0.0600", name="Manual"), 7)],
    )
    # 3 x 19.99 = 59.97 (VAT 21% 12.59); 7 x 4.35 = 30.45 (VAT 6% 1.83); total 104.84
    assert (invoice.net_amount, invoice.tax_amount, invoice.total) == (
        Decimal("90.42"),
        Decimal("14.42"),
        Decimal("104.84"),
    )
    xml = check_both(engine, tmp_path, invoice)
    assert [e.text for e in xml.iter(f"{CBC}Percent")][:2] == ["21.00", "6.00"]
    assert xml.findtext(f"{CBC}BuyerReference") == "PO-4711"


def test_intra_eu_reverse_charge_and_intra_community_supply(engine, tmp_path, seller):
    customer = f.customer(
        treatment="intra_eu", country="NL", tax_id="NL859048330B01", einvoice_scheme="0060", einvoice_id="123456789"
    )
    invoice = f.shipped_invoice(
        customer, [(f.product("95.00", goods=False, name="Installation"), 2), (f.product("10.00", name="Bolt"), 5)]
    )
    categories = {row.category: row for row in invoice.tax_lines.all()}
    assert set(categories) == {"AE", "K"} and invoice.tax_amount == 0 and invoice.total == Decimal("240.00")
    assert categories["AE"].exemption_code == "VATEX-EU-AE"
    xml = check_both(engine, tmp_path, invoice)
    assert "VATEX-EU-AE" in [e.text for e in xml.iter(f"{CBC}TaxExemptionReasonCode")]


def test_export_outside_the_eu(engine, tmp_path, seller):
    customer = f.customer(treatment="export", country="US", tax_id="", einvoice_scheme="0060", einvoice_id="987654321")
    invoice = f.shipped_invoice(customer, [(f.product("250.00", name="Pallet rack"), 2)])
    assert [(r.category, r.exemption_code) for r in invoice.tax_lines.all()] == [("G", "VATEX-EU-G")]
    assert invoice.total == Decimal("500.00")
    check_both(engine, tmp_path, invoice)


def test_early_payment_discount_and_instalments(engine, tmp_path, seller):
    terms = f.terms(
        code="2-10-N60", name="2% 10 days, 60 days net", net_days=60, discount_percent=Decimal("2"), discount_days=10
    )
    PaymentTermsInstalment.objects.create(terms=terms, sequence=1, percent=Decimal("50"), days=30)
    PaymentTermsInstalment.objects.create(terms=terms, sequence=2, percent=Decimal("50"), days=60)
    customer = f.customer(payment_terms=terms)
    invoice = f.shipped_invoice(customer, [(f.product("33.33"), 3)])
    # 99.99 net + 21.00 VAT = 120.99; 2% = 2.42 off -> 118.57 by issue + 10 days
    assert invoice.total == Decimal("120.99") and invoice.discount_amount == Decimal("2.42")
    assert [i.amount for i in invoice.instalments.all()] == [Decimal("60.50"), Decimal("60.49")]
    xml = check_both(engine, tmp_path, invoice)
    note = xml.find(".//{*}PaymentTerms/{*}Note").text
    assert "2% early-payment discount" in note and "118.57" in note and "60.50" in note


def test_credit_notes_by_line_and_by_amount(engine, tmp_path, seller):
    customer = f.customer()
    invoice = f.shipped_invoice(customer, [(f.product("19.99"), 3), (f.product("4.35", "0.0600"), 7)])
    by = user_in("Billing clerk")
    note = propose_credit_note(
        invoice=invoice, lines=[(invoice.lines.get(line_number=1), Decimal("1"))], reason="Damaged"
    )
    note = flow.issue_credit_note(note=note, by=by)
    assert note.number.startswith("CN-")
    xml = check_both(engine, tmp_path, note)
    assert etree.QName(xml).localname == "CreditNote"
    assert xml.find(".//{*}BillingReference/{*}InvoiceDocumentReference/{*}ID").text == invoice.number
    by_amount = flow.issue_credit_note(
        note=propose_credit_note_for_amount(invoice=invoice, amount=Decimal("10.00"), reason="Goodwill"), by=by
    )
    check_both(engine, tmp_path, by_amount)


def test_export_command_writes_ubl_and_facturx(tmp_path, seller):
    invoice = f.shipped_invoice(f.customer(), [(f.product("12.00"), 2)])
    call_command("export_einvoice", invoice.number, "--format", "ubl", "-o", str(tmp_path / "a.xml"))
    assert etree.parse(str(tmp_path / "a.xml")).getroot().findtext(f"{CBC}ID") == invoice.number
    call_command("export_einvoice", invoice.number, "--format", "facturx", "-o", str(tmp_path / "a.pdf"))
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(CommandError, match="No issued invoice or credit note numbered 'INV-1999-000001'"):
        call_command("export_einvoice", "INV-1999-000001", "--format", "ubl", "-o", str(tmp_path / "b.xml"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_einvoice", invoice.number, "--format", "ubl", "-o", str(tmp_path / "no" / "c.xml"))
    assert not (tmp_path / "b.xml").exists()


def test_export_command_exits_non_zero_with_a_clear_message(tmp_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}",
    }
    if connection.vendor != "postgresql":
        pytest.skip("the subprocess needs the shared PostgreSQL test database")
    result = subprocess.run(
        [sys.executable, "manage.py", "export_einvoice", "NOPE-1", "--format", "ubl", "-o", str(tmp_path / "x.xml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "No issued invoice or credit note numbered 'NOPE-1'" in result.stderr
    bad_format = subprocess.run(
        [sys.executable, "manage.py", "export_einvoice", "X", "--format", "pdf", "-o", "x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad_format.returncode == 2 and "invalid choice: 'pdf'" in bad_format.stderr


def test_exempt_and_zero_rated_lines_with_per_document_rounding(engine, tmp_path):
    f.company(rounding_rule="per_document")
    invoice = f.shipped_invoice(
        f.customer(),
        [
            (f.product("0.15", name="Washer"), 3),  # 0.45 at 21%: per line 0.0945 -> 0.09
            (f.product("0.15", name="Nut"), 3),  # with the line above: 0.90 x 21% = 0.189 -> 0.19
            (f.product("40.00", "0", goods=False, category="E", name="Training"), 1),
            (f.product("12.00", "0", category="Z", name="Book"), 1),
        ],
    )
    rows = {(row.category, row.rate): row.tax_amount for row in invoice.tax_lines.all()}
    assert rows[("S", Decimal("0.2100"))] == Decimal("0.19")  # per line it would be 0.09 + 0.09 = 0.18
    assert invoice.rounding_rule == "per_document" and invoice.tax_amount == Decimal("0.19")
    assert {category for category, _ in rows} == {"S", "E", "Z"}
    xml = check_both(engine, tmp_path, invoice)
    assert "VATEX-EU-132" in [e.text for e in xml.iter(f"{CBC}TaxExemptionReasonCode")]


def test_out_of_scope_invoice_carries_no_vat_ids_and_may_not_mix(engine, tmp_path, seller):
    customer = f.customer()
    deposit = f.shipped_invoice(customer, [(f.product("5.00", "0", goods=False, category="O", name="Deposit"), 2)])
    xml = check_both(engine, tmp_path, deposit)  # BR-O-02: no VAT identifiers at all
    assert not list(xml.iter("{*}PartyTaxScheme"))
    mixed = f.shipped_invoice(
        customer, [(f.product("5.00", "0", goods=False, category="O"), 1), (f.product("10.00"), 1)]
    )
    with pytest.raises(einvoice.EInvoiceError, match=r"mixes 'not subject to VAT' \(O\) lines"):
        einvoice.ubl(mixed)
