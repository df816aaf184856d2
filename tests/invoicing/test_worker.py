"""A real Celery worker on Redis renders the invoice PDF that flow.ship queued on commit."""

import subprocess
import time
from decimal import Decimal

import pytest

from invoicing.models import InvoiceDocument
from o2c import flow
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.worker import celery_worker_process  # noqa: F401 - the fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for_pdf(invoice, seconds: float = 45) -> InvoiceDocument:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        document = InvoiceDocument.objects.filter(invoice=invoice).first()
        if document:
            return document
        time.sleep(0.25)
    raise AssertionError(f"No PDF for {invoice} after {seconds} s")


def test_worker_renders_the_pdf_queued_by_shipping(celery_worker_process, staff):  # noqa: F811
    customer = CustomerFactory()
    credit_limit(customer)
    stock(ProductFactory(sku="PDF-1", name="Steel shelf", unit_price=Decimal("149.00")), "2")
    order = flow.submit_order(
        by=staff(CLERK), customer_account=customer.account_number, lines=[LineInput("PDF-1", "2")]
    )

    invoice = flow.ship(order=order, by=staff(WAREHOUSE))  # commits; the task is published on commit

    document = wait_for_pdf(invoice)
    text = subprocess.run(["pdftotext", document.file.path, "-"], capture_output=True, check=True).stdout.decode()
    assert invoice.number in text
    assert "360.58 EUR" in text  # 2 x 149.00 = 298.00 + 21% 62.58
    deadline = time.monotonic() + 45  # the PDF is stored first; the e-invoices follow in the same task
    while "succeeded" not in celery_worker_process.read_text() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert "render_invoice_pdf" in celery_worker_process.read_text()
    assert "succeeded" in celery_worker_process.read_text()
