"""The invoice PDF, opened and read back; and nothing in it can reach the network or disk."""

import http.server
import subprocess
import threading
from decimal import Decimal

import pytest

from invoicing import documents, tasks
from invoicing.models import InvoiceDocument
from o2c import flow
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def shipped_invoice(staff, *, customer_name="Acme NV", description="Blue widget"):
    customer = CustomerFactory(name=customer_name)
    credit_limit(customer)
    product = ProductFactory(sku="W-9", name=description, unit_price=Decimal("19.99"))
    stock(product, "5")
    order = flow.submit_order(by=staff(CLERK), customer_account=customer.account_number, lines=[LineInput("W-9", "3")])
    return flow.ship(order=order, by=staff(WAREHOUSE))


def pdf_text(content: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


def test_pdf_reads_back_number_lines_and_total(staff):
    invoice = shipped_invoice(staff)
    text = pdf_text(documents.invoice_pdf(invoice))
    # 3 x 19.99 = 59.97 net, 21% = 12.5937 -> 12.59 tax, 72.56 total
    assert invoice.number in text
    assert "Blue widget" in text
    assert "59.97" in text and "12.59" in text and "72.56 EUR" in text
    assert invoice.due_date.strftime("%d %b %Y") in text


def test_render_task_stores_the_pdf_once_with_its_hash(staff):
    invoice = shipped_invoice(staff)
    tasks.render_invoice_pdf.run(invoice.pk)
    tasks.render_invoice_pdf.run(invoice.pk)  # a redelivered task finds the work done
    document = InvoiceDocument.objects.get(invoice=invoice, kind="pdf")
    # PDF and Factur-X, once each; no UBL: this buyer has no VAT id or e-invoice endpoint (see its timeline)
    assert sorted(InvoiceDocument.objects.filter(invoice=invoice).values_list("kind", flat=True)) == ["facturx", "pdf"]
    content = document.file.read()
    assert content.startswith(b"%PDF-")
    assert len(content) == document.size
    import hashlib

    assert hashlib.sha256(content).hexdigest() == document.sha256


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the stdlib's name
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_html_in_invoice_data_never_reaches_network_or_files(staff):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    in_name = f'<img src="http://127.0.0.1:{port}/img"><link rel=stylesheet href="http://127.0.0.1:{port}/css">'
    in_line = f'<link rel=stylesheet href="file:///etc/passwd"><p style="background:url(http://127.0.0.1:{port}/bg)">'
    invoice = shipped_invoice(staff, customer_name=in_name, description=in_line)
    try:
        text = pdf_text(documents.invoice_pdf(invoice))
    finally:
        server.shutdown()
    assert _Recorder.hits == []
    assert "<img src=" in text  # escaped by the template: shown as text, not fetched
    assert "root:x:0:0" not in text


def test_fetcher_refuses_everything_but_data_urls():
    with pytest.raises(Exception):  # noqa: B017 - WeasyPrint's own error type varies by protocol
        documents.DATA_ONLY_FETCHER.fetch("file:///etc/passwd")
    with pytest.raises(Exception):  # noqa: B017
        documents.DATA_ONLY_FETCHER.fetch("http://127.0.0.1:9/x")
