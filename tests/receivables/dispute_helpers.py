"""Dispute test data: invoices made through the real flow (order -> ship -> invoice), files."""

import io

from PIL import Image

from o2c import flow
from orders.services import LineInput
from receivables.models import Collector, CollectorAssignment
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.portal.factories import invoice_for, widget

PDF = b"%PDF-1.4\n% a customer's photo of a damaged pallet, as a PDF\n%%EOF\n"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def two_line_invoice(clerk, warehouse, customer):
    """An invoice of 2 x W-1 (242.00 gross) and 1 x G-1 (60.50 gross): 302.50 in all."""
    if not hasattr(customer, "credit_profile"):
        credit_limit(customer, "1000000.00")
    gadget = ProductFactory(sku="G-1", name="Gadget", unit_price="50.00")
    stock(gadget, "1000")
    order = flow.submit_order(
        by=clerk, customer_account=customer.account_number, lines=[LineInput("W-1", "2"), LineInput("G-1", "1")]
    )
    return flow.ship(order=order, by=warehouse, carrier="DHL", tracking_number="JD1")


def world(staff, *, collector_user=None):
    from tests.core.factories import AR, CLERK, WAREHOUSE

    clerk, warehouse, ar = staff(CLERK), staff(WAREHOUSE), staff(AR)
    widget()
    customer = CustomerFactory(name="Brasserie Lupulus BV")
    if collector_user is not None:
        CollectorAssignment.objects.create(customer=customer, collector=Collector.objects.create(user=collector_user))
    invoice = invoice_for(clerk, warehouse, customer)  # 121.00, one line
    return {"clerk": clerk, "warehouse": warehouse, "ar": ar, "customer": customer, "invoice": invoice}
