"""What the invoice PDF says, read back with pdftotext; and the branding an admin sets."""

import io
import subprocess
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from PIL import Image
from pypdf import PdfReader

from invoicing import documents
from invoicing.models import PaymentTermsInstalment
from invoicing.services import propose_credit_note
from o2c import flow
from tests.invoicing import factories as f

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


def squeeze(text: str) -> str:
    """One line, lower case: labels are printed in small capitals."""
    return " ".join(text.split()).lower()


def test_invoice_shows_everything_the_law_and_the_customer_ask_for():
    f.company()
    terms = f.terms(
        code="2-10", name="2% 10 days, 60 net", net_days=60, discount_percent=Decimal("2"), discount_days=10
    )
    PaymentTermsInstalment.objects.create(terms=terms, sequence=1, percent=Decimal("40"), days=30)
    PaymentTermsInstalment.objects.create(terms=terms, sequence=2, percent=Decimal("60"), days=60)
    customer = f.customer(payment_terms=terms)
    invoice = f.shipped_invoice(
        customer, [(f.product("19.99", name="Steel shelf"), 3), (f.product("4.35", "0.0600", name="Manual"), 7)]
    )
    text = squeeze(pdf_text(documents.invoice_pdf(invoice)))
    seller, buyer = invoice.seller, invoice.buyer
    for expected in [
        f"Invoice {invoice.number}",
        "Northwind Supplies NV",
        "VAT BE0403170701",
        "Registration 0403170701",
        customer.name,
        "VAT BE0477472701",
        f"Account {customer.account_number}",
        f"Invoice date {invoice.issue_date:%d %b %Y}",
        f"Supply date {invoice.supply_date:%d %b %Y}",
        f"Our order {invoice.order.number}",
        "Your PO PO-4711",
        f"Delivery {invoice.shipment.number}",
        "Steel shelf",
        "Manual",
        "59.97",
        "30.45",
        "Standard rate 59.97 21% 12.59",
        "Standard rate 30.45 6% 1.83",
        "Net total 90.42 EUR",
        "VAT total 14.42 EUR",
        "Total due 104.84 EUR",
        "41.94 EUR by",  # 40% instalment
        "62.90 EUR by",  # the rest
        f"IBAN {seller['iban']}",
        "BIC GKCCBEBB",
        "RF",
        "Early-payment discount: pay 102.74 EUR by",  # 104.84 - 2.10
        "(2% discount, 2.10 EUR off)",
        "NV, RPR Brussels",
    ]:
        assert expected.lower() in text, f"{expected!r} missing from the PDF"
    assert documents.einvoice.payment_terms_text(invoice) and buyer["vat_id"] == "BE0477472701"
    assert documents.format_rf(invoice.rf_reference).lower() in text


def test_exemption_reason_printed_for_reverse_charge():
    f.company()
    customer = f.customer(treatment="intra_eu", country="NL", tax_id="NL859048330B01")
    invoice = f.shipped_invoice(customer, [(f.product("95.00", goods=False, name="Installation"), 2)])
    text = squeeze(pdf_text(documents.invoice_pdf(invoice)))
    assert "vat ae: reverse charge: vat to be accounted for by the recipient" in text
    assert "(vatex-eu-ae)" in text and "vat nl859048330b01" in text


def test_credit_note_pdf_names_the_invoice_and_the_reason():
    f.company()
    invoice = f.shipped_invoice(f.customer(), [(f.product("19.99"), 3)])
    note = flow.issue_credit_note(
        note=propose_credit_note(invoice=invoice, lines=[(invoice.lines.get(), Decimal("1"))], reason="One damaged"),
        by=None,
    )
    text = squeeze(pdf_text(documents.invoice_pdf(note)))
    assert f"credit note {note.number}".lower() in text
    assert f"credits invoice {invoice.number}".lower() in text and "reason one damaged" in text
    assert "total credited 24.19 eur" in text and "nothing to pay" in text


def test_admin_branding_logo_colours_and_footer():
    company = f.company(primary_colour="#aa0033", accent_colour="#ffeecc", footer_text="Brandname footer line 42")
    image = io.BytesIO()
    Image.new("RGB", (120, 40), (170, 0, 51)).save(image, "PNG")
    company.logo.save("logo.png", ContentFile(image.getvalue()))
    invoice = f.shipped_invoice(f.customer(), [(f.product("10.00"), 1)])
    html = documents.invoice_html(invoice)
    assert "#aa0033" in html and "#ffeecc" in html and "data:image/png;base64," in html
    content = documents.invoice_pdf(invoice)
    assert "Brandname footer line 42" in pdf_text(content)
    images = [image for page in PdfReader(io.BytesIO(content)).pages for image in page.images]
    assert len(images) == 1 and images[0].image.size == (120, 40)


def test_rendering_an_unchanged_invoice_gives_the_same_text():
    f.company()
    invoice = f.shipped_invoice(f.customer(), [(f.product("10.00"), 1)])
    assert pdf_text(documents.invoice_pdf(invoice)) == pdf_text(documents.invoice_pdf(invoice))


def test_a_discounted_line_prints_its_list_price_and_discount():
    f.company()
    invoice = f.shipped_invoice(f.customer(), [(f.product("50.00", name="Desk lamp"), 2)])
    line = invoice.lines.get()
    order_line = line.order_line
    order_line.list_price, order_line.discount_percent = Decimal("62.50"), Decimal("20")
    order_line.save(update_fields=["list_price", "discount_percent"])  # as priced at submit: 62.50 less 20%
    text = squeeze(pdf_text(documents.invoice_pdf(invoice)))
    assert "desk lamp 2 pc 50.00" in text and "list price 62.50, discount 20%" in text
