"""A real Celery worker renders the shipment documents that the stages queue on commit."""

import subprocess
import time
from decimal import Decimal

import pytest

from fulfillment import services as fulfillment
from fulfillment.models import Carrier, ShipmentDocument
from o2c import flow
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock, warehouse
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.worker import celery_worker_process  # noqa: F401 - the fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(shipment, kinds, seconds: float = 60) -> dict[str, ShipmentDocument]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        documents = {d.kind: d for d in ShipmentDocument.objects.filter(shipment=shipment)}
        if set(kinds) <= set(documents):
            return documents
        time.sleep(0.25)
    raise AssertionError(f"Documents {kinds} of {shipment} not rendered after {seconds} s")


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def test_worker_renders_pick_list_packing_slip_and_bill_of_lading(celery_worker_process, staff):  # noqa: F811
    customer = CustomerFactory(name="Brasserie Lupulus BV")
    credit_limit(customer)
    stock(ProductFactory(sku="SHELF-1", name="Steel shelf"), "10")
    stock(ProductFactory(sku="BOLT-9", name="Anchor bolts"), "100")
    clerk, keeper = staff(CLERK), staff(WAREHOUSE)
    first = flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("SHELF-1", "2")])
    second = flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("BOLT-9", "40")])
    carrier = Carrier.objects.create(code="DSV", name="DSV Road")

    shipment = fulfillment.plan_shipment(orders=[first, second], warehouse=warehouse(), by=keeper)
    fulfillment.pick_all(shipment=shipment, by=keeper)
    fulfillment.pack(shipment=shipment, packages=[(Decimal("18.5"), "Pallet"), (Decimal("2.25"), "Carton")], by=keeper)
    flow.ship_shipment(
        shipment=shipment, by=keeper, carrier=carrier, tracking_number="DSV123456", freight_terms="collect"
    )

    documents = wait_for(shipment, ["pick_list", "packing_slip", "bill_of_lading"])
    for document in documents.values():
        assert len(document.sha256) == 64 and document.size == document.file.size
    slip = pdf_text(documents["packing_slip"].file.path)
    bol = pdf_text(documents["bill_of_lading"].file.path)
    for text in (slip, bol):
        assert shipment.number in text
        assert "SHELF-1" in text and "BOLT-9" in text
        assert first.number in text and second.number in text
        assert "Brasserie Lupulus BV" in text
        assert "18.500 kg" in text and "2.250 kg" in text
    assert "Package 1 of 2" in slip and "20.750 kg" in slip
    assert "DSV Road" in bol and "DSV123456" in bol and "Collect" in bol
    assert "Shipper" in bol and "Consignee" in bol and "Carrier signature" in bol
    assert "SHELF-1" in pdf_text(documents["pick_list"].file.path)
    assert "succeeded" in celery_worker_process.read_text()
