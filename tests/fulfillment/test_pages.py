"""Warehouse pages: permissions, the walk pick -> pack -> ship -> POD through forms, refused
input named on the page, and constant query counts as data grows."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from fulfillment import services as fulfillment
from fulfillment.models import Carrier, ProofOfDelivery, Shipment
from invoicing.models import Invoice
from o2c import flow
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import expected, stock, warehouse
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

PICK_QUEUE = reverse("fulfillment:pick_queue")
EXCEPTIONS = reverse("fulfillment:exceptions")
BACKORDERS = reverse("fulfillment:backorders")


@pytest.fixture
def clerk(staff):
    return staff(CLERK)


@pytest.fixture
def keeper(staff, client):
    user = staff(WAREHOUSE)
    client.force_login(user)
    return user


@pytest.fixture
def products():
    widget = ProductFactory(sku="W-1", name="Steel widget", unit_price=Decimal("12.50"))
    gadget = ProductFactory(sku="G-1", name="Gadget", unit_price=Decimal("5.00"))
    stock(widget, "1000")
    stock(gadget, "1000")
    return widget, gadget


def approved(clerk, lines=(("W-1", "2"),), customer=None):
    customer = customer or CustomerFactory()
    if not hasattr(customer, "credit_profile"):
        credit_limit(customer)
    return flow.submit_order(
        by=clerk, customer_account=customer.account_number, lines=[LineInput(s, q) for s, q in lines]
    )


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (30, 10), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def test_pages_need_login_and_the_warehouse_permission(client, clerk):
    assert client.get(PICK_QUEUE).status_code == 302
    client.force_login(clerk)
    assert client.get(PICK_QUEUE).status_code == 403
    assert client.get(EXCEPTIONS).status_code == 403
    assert client.get(BACKORDERS).status_code == 200  # the clerk's worklist


def test_the_whole_walk_through_the_pages(client, keeper, clerk, products):
    customer = CustomerFactory(name="Brasserie Lupulus BV")
    first = approved(clerk, (("W-1", "10"),), customer)
    second = approved(clerk, (("G-1", "4"),), customer)
    Carrier.objects.create(code="DHL", name="DHL", tracking_url="https://track.example/{tracking}")

    html = client.get(PICK_QUEUE).content.decode()
    assert first.number in html and second.number in html and "Nothing to pick" not in html

    response = client.post(reverse("fulfillment:plan"), {"warehouse": "MAIN", "order": [first.pk, second.pk]})
    shipment = Shipment.objects.get()
    assert response.status_code == 302 and response.url == reverse("fulfillment:shipment", args=[shipment.pk])
    page = client.get(response.url).content.decode()
    assert 'id="scan-form"' in page and "autofocus" in page

    scan = reverse("fulfillment:scan", args=[shipment.pk])
    wrong = client.post(scan, {"code": "NOPE", "quantity": "1"}, headers={"HX-Request": "true"})
    assert wrong.status_code == 422 and "Scan or type a SKU of this shipment." in wrong.content.decode()
    too_many = client.post(scan, {"code": "W-1", "quantity": "11"}, headers={"HX-Request": "true"})
    assert too_many.status_code == 422 and "At most 10." in too_many.content.decode()
    ok = client.post(scan, {"code": "w-1", "quantity": "8"}, headers={"HX-Request": "true"})
    fragment = ok.content.decode()
    assert ok.status_code == 200 and 'id="picking"' in fragment and "<html" not in fragment
    assert "W-1: 8 of 10 picked." in fragment and "autofocus" in fragment
    client.post(scan, {"code": "G-1", "quantity": "4"})
    client.post(reverse("fulfillment:finish_picking", args=[shipment.pk]), {"action": "done"})
    shipment.refresh_from_db()
    assert shipment.status == "picked" and shipment.lines.get(order_line__product__sku="W-1").quantity == 8

    bad = client.post(reverse("fulfillment:pack", args=[shipment.pk]), {"weight_1": "", "description_1": "Carton"})
    assert bad.status_code == 422 and "This field is required." in bad.content.decode()
    client.post(reverse("fulfillment:pack", args=[shipment.pk]), {"weight_1": "12.5", "description_1": "Carton"})

    no_carrier = client.post(reverse("desk:ship_shipment", args=[shipment.pk]), {"ship_date": "2026-11-23"})
    assert no_carrier.status_code == 422 and "Choose the carrier" in no_carrier.content.decode()
    shipped = client.post(
        reverse("desk:ship_shipment", args=[shipment.pk]),
        {
            "carrier": Carrier.objects.get().pk,
            "tracking_number": "JD0001",
            "ship_date": "2026-11-23",
            "freight_terms": "prepaid",
        },
    )
    assert shipped.status_code == 302
    invoice = Invoice.objects.get(shipment=shipment)
    assert invoice.net_amount == Decimal("120.00")  # 8 x 12.50 + 4 x 5.00
    page = client.get(reverse("fulfillment:shipment", args=[shipment.pk])).content.decode()
    assert 'href="https://track.example/JD0001"' in page and f"invoice {invoice.number} issued" in page
    assert 'id="pod-form"' in page

    widget_line = shipment.lines.get(order_line__product__sku="W-1")
    refused = client.post(
        reverse("desk:record_delivery", args=[shipment.pk]),
        {
            "signer_name": "J. Peeters",
            "signed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "file": SimpleUploadedFile("pod.png", b"MZ\x90\x00 an executable"),
        },
    )
    assert refused.status_code == 422
    assert "not a PNG or JPEG image or a PDF" in refused.content.decode()
    assert not ProofOfDelivery.objects.exists()

    recorded = client.post(
        reverse("desk:record_delivery", args=[shipment.pk]),
        {
            "signer_name": "J. Peeters",
            "signed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "file": SimpleUploadedFile("signature.png", png()),
            f"delivered_{widget_line.pk}": "6",
            f"kind_{widget_line.pk}": "damaged",
        },
    )
    assert recorded.status_code == 302
    note = Invoice.objects.get(kind="credit_note")
    assert note.lines.get().quantity == Decimal("2") and note.net_amount == Decimal("25.00")
    html = client.get(EXCEPTIONS).content.decode()
    assert shipment.number in html and "Damaged" in html

    # the rest of the first order stays in the pick queue
    assert first.number in client.get(PICK_QUEUE).content.decode()


def test_a_return_is_authorised_and_received_through_the_pages(client, keeper, clerk, products):
    invoice = flow.ship(order=approved(clerk, (("W-1", "5"),)), by=keeper)
    shipment = invoice.shipment
    flow.record_delivery(shipment=shipment, signer_name="A", signed_at=timezone.now(), by=keeper)
    line = shipment.lines.get()
    response = client.post(
        reverse("fulfillment:authorise_return", args=[shipment.pk]), {f"return_{line.pk}": "2", "reason": "Too many"}
    )
    rma = shipment.lines.get().return_lines.get().rma
    assert response.url == reverse("fulfillment:return", args=[rma.pk])
    return_line = rma.lines.get()
    client.post(
        reverse("desk:receive_return", args=[rma.pk]),
        {f"received_{return_line.pk}": "2", f"disposition_{return_line.pk}": "restock"},
    )
    html = client.get(reverse("fulfillment:return", args=[rma.pk])).content.decode()
    assert "Received" in html and "credit note proposed: 30.25 EUR" in html  # 2 x 12.50 + 21%


def test_pick_queue_query_count_is_constant(client, keeper, clerk, products):
    approved(clerk)
    one = queries(client, PICK_QUEUE)
    for _ in range(15):
        approved(clerk, (("W-1", "1"), ("G-1", "1")))
    fulfillment.plan_shipment(orders=[approved(clerk)], warehouse=warehouse())
    assert queries(client, PICK_QUEUE) == one


def test_shipment_page_query_count_is_constant(client, keeper, clerk):
    small = ProductFactory(sku="S-0")
    stock(small, "10")
    shipment_one = fulfillment.plan_shipment(orders=[approved(clerk, (("S-0", "1"),))], warehouse=warehouse())
    skus = [ProductFactory(sku=f"S-{n}").sku for n in range(1, 16)]
    for sku in skus:
        stock(ProductFactory._meta.model.objects.get(sku=sku), "10")
    shipment_many = fulfillment.plan_shipment(
        orders=[approved(clerk, [(sku, "1") for sku in skus])], warehouse=warehouse()
    )
    url = "fulfillment:shipment"
    assert queries(client, reverse(url, args=[shipment_one.pk])) == queries(
        client, reverse(url, args=[shipment_many.pk])
    )


def test_exception_and_backorder_lists_keep_their_query_count(client, keeper, clerk, products):
    ProductFactory(sku="SC-1")
    warehouse()
    approved(clerk, (("SC-1", "2"),))
    invoice = flow.ship(order=approved(clerk, (("W-1", "3"),)), by=keeper)
    line = invoice.shipment.lines.get()
    flow.record_delivery(
        shipment=invoice.shipment,
        signer_name="B",
        signed_at=timezone.now(),
        lines=[fulfillment.LineDelivery(line.pk, Decimal("1"), "refused")],
        by=keeper,
    )
    counts = (queries(client, EXCEPTIONS), queries(client, BACKORDERS))
    for _ in range(10):
        approved(clerk, (("SC-1", "1"),))
        invoice = flow.ship(order=approved(clerk, (("W-1", "3"),)), by=keeper)
        line = invoice.shipment.lines.get()
        flow.record_delivery(
            shipment=invoice.shipment,
            signer_name="B",
            signed_at=timezone.now(),
            lines=[fulfillment.LineDelivery(line.pk, Decimal("2"), "short")],
            by=keeper,
        )
    assert (queries(client, EXCEPTIONS), queries(client, BACKORDERS)) == counts
    assert "SC-1" in client.get(BACKORDERS).content.decode()


def test_available_to_promise_partial_for_order_entry(client, clerk, products):
    client.force_login(clerk)
    widget, _ = products
    expected(widget, "50", datetime.date(2026, 12, 20))
    approved(clerk, (("W-1", "30"),))
    html = client.get(reverse("fulfillment:atp"), {"sku": ["W-1", "UNKNOWN"], "on": "2026-12-31"}).content.decode()
    assert 'id="atp-W-1"' in html
    assert '<td class="num">970</td>' in html and '<td class="num">1020</td>' in html
    assert "2026-12-20" in html and "UNKNOWN" not in html


def test_documents_download_only_when_stored(client, keeper, clerk, products):
    shipment = fulfillment.plan_shipment(orders=[approved(clerk)], warehouse=warehouse())
    url = reverse("fulfillment:document", args=[shipment.pk, "pick_list"])
    assert client.get(url).status_code == 404
    fulfillment.store_document(shipment_id=shipment.pk, kind="pick_list", content=b"%PDF-1.4 x", filename="x.pdf")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{shipment.number}-pick-list.pdf"'


def test_receiving_goods_reserves_the_backorders_and_says_so(client, keeper, clerk):
    scarce = ProductFactory(sku="SC-9")
    expected(scarce, "10", datetime.date(2026, 12, 1), reference="PO-42")
    warehouse()
    order = approved(clerk, (("SC-9", "3"),))
    page = client.get(reverse("desk:receive_stock")).content.decode()
    assert "PO-42" in page and "autofocus" in page

    unknown = client.post(reverse("desk:receive_stock"), {"warehouse": "MAIN", "sku": "NOPE", "quantity": "1"})
    assert unknown.status_code == 422 and "No stock-tracked product has this SKU." in unknown.content.decode()

    response = client.post(
        reverse("desk:receive_stock"), {"warehouse": "MAIN", "sku": "sc-9", "quantity": "10", "reference": "DN 7781"}
    )
    assert response.status_code == 302
    html = client.get(response.url).content.decode()
    assert "Received 10 SC-9 in MAIN; 3 reserved for backorders; 7 available." in html
    assert "Nothing expected" in html  # the expected receipt is received
    assert order.number in client.get(PICK_QUEUE).content.decode()
