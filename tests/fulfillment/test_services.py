"""Fulfilment services and the flow around them: ledger, reservations and backorders,
available-to-promise, pick/pack/ship, services, proof of delivery, returns, carriers."""

import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from fulfillment import carriers, selectors
from fulfillment import services as fulfillment
from fulfillment.models import (
    Backorder,
    Carrier,
    ProofOfDelivery,
    Reservation,
    ReturnLine,
    Shipment,
    StockItem,
    StockMovement,
)
from fulfillment.services import FulfillmentError, LineDelivery
from invoicing.models import Invoice
from o2c import flow
from orders.models import SalesOrder
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import expected, stock, warehouse
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 23)


@pytest.fixture
def people(staff):
    return {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE)}


@pytest.fixture
def widget():
    return ProductFactory(sku="W-1", name="Steel widget", unit_price=Decimal("12.50"))


def order_for(people, lines, *, customer=None, **fields) -> SalesOrder:
    customer = customer or CustomerFactory()
    if not hasattr(customer, "credit_profile"):
        credit_limit(customer)
    order = flow.submit_order(
        by=people["clerk"],
        customer_account=customer.account_number,
        lines=[LineInput(sku, quantity) for sku, quantity in lines],
        **fields,
    )
    assert order.status == SalesOrder.Status.APPROVED
    return order


def ship_planned(shipment, people, **ship):
    fulfillment.pick_all(shipment=shipment, by=people["warehouse"])
    fulfillment.pack(shipment=shipment, packages=[(Decimal("4.5"), "Carton")], by=people["warehouse"])
    return flow.ship_shipment(shipment=shipment, by=people["warehouse"], **ship)


# --- the ledger ---------------------------------------------------------------------------------
def test_every_balance_change_is_a_movement_and_sums_to_the_balances(people, widget):
    item = stock(widget, "10")
    fulfillment.adjust_stock(
        warehouse=item.warehouse, product=widget, change=Decimal("-2"), reason="Cycle count", by=people["warehouse"]
    )
    order_for(people, [("W-1", "3")])
    item.refresh_from_db()
    assert (item.on_hand, item.reserved, item.available) == (Decimal("8"), Decimal("3"), Decimal("5"))
    kinds = list(item.movements.values_list("kind", "on_hand_change", "reserved_change"))
    assert kinds == [
        ("receipt", Decimal("10"), Decimal("0")),
        ("adjustment", Decimal("-2"), Decimal("0")),
        ("reservation", Decimal("0"), Decimal("3")),
    ]
    assert selectors.stock_balances_match_ledger() == []


def test_an_adjustment_needs_a_reason_and_cannot_take_stock_below_zero(people, widget):
    item = stock(widget, "2")
    with pytest.raises(FulfillmentError, match="Say why"):
        fulfillment.adjust_stock(warehouse=item.warehouse, product=widget, change=Decimal("-1"), reason=" ")
    with pytest.raises(FulfillmentError, match="only 2 on hand"):
        fulfillment.adjust_stock(warehouse=item.warehouse, product=widget, change=Decimal("-3"), reason="Broken")
    item.refresh_from_db()
    assert item.on_hand == Decimal("2") and item.movements.count() == 1


def test_reserved_stock_cannot_be_scrapped_away(people, widget):
    item = stock(widget, "5")
    order_for(people, [("W-1", "4")])
    with pytest.raises(FulfillmentError, match="1 available"):
        fulfillment.adjust_stock(
            warehouse=item.warehouse, product=widget, change=Decimal("-2"), reason="Water damage", scrap=True
        )


def test_the_database_refuses_to_change_or_delete_a_movement(widget):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    movement = stock(widget, "5").movements.get()
    for statement in (
        lambda: StockMovement.objects.filter(pk=movement.pk).update(on_hand_change=Decimal("50")),
        lambda: StockMovement.objects.filter(pk=movement.pk).delete(),
    ):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            statement()
    movement.refresh_from_db()
    assert movement.on_hand_change == Decimal("5")


# --- reservation, backorders, the one email -------------------------------------------------------
def test_a_short_order_is_flagged_on_the_order_and_in_the_worklist(people, widget):
    item = stock(widget, "2")
    expected(widget, "10", TODAY + datetime.timedelta(days=9), reference="PO-778")

    order = order_for(people, [("W-1", "5")])

    backorder = Backorder.objects.get(order_line__order=order)
    assert (backorder.quantity, backorder.status) == (Decimal("3"), "open")
    assert backorder.expected_date == TODAY + datetime.timedelta(days=9)
    assert list(selectors.backorders_for(order)) == [backorder]
    assert [b.pk for b in selectors.backorder_worklist()] == [backorder.pk]
    item.refresh_from_db()
    assert (item.on_hand, item.reserved) == (Decimal("2"), Decimal("2"))


def test_the_customer_gets_exactly_one_email_even_after_retries(
    people, widget, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    stock(widget, "2")
    expected(widget, "10", TODAY + datetime.timedelta(days=9))
    with django_capture_on_commit_callbacks(execute=True):
        order = order_for(people, [("W-1", "5")], customer=CustomerFactory(email="buyer@lupulus.example"))
    with django_capture_on_commit_callbacks(execute=True):
        fulfillment.reserve_order(order=order)  # a retry: still short
        fulfillment.fill_backorders(product_ids=[widget.pk])  # nothing new arrived
        flow.receive_stock(warehouse=warehouse(), product=widget, quantity=Decimal("1"), by=people["warehouse"])

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["buyer@lupulus.example"]
    assert order.number in message.subject
    assert "3 pc to follow, expected by 02 December 2026" in message.body
    assert Backorder.objects.get(order_line__order=order, status="open").quantity == Decimal("2")

    with django_capture_on_commit_callbacks(execute=True):
        flow.receive_stock(warehouse=warehouse(), product=widget, quantity=Decimal("2"), by=people["warehouse"])
    assert len(mail.outbox) == 1
    assert not Backorder.objects.filter(order_line__order=order, status="open").exists()
    reserved = sum(r.quantity for r in Reservation.objects.filter(order_line__order=order, status="active"))
    assert reserved == Decimal("5")
    queue = selectors.pick_queue(warehouse=warehouse())
    assert [o.pk for o in queue] == [order.pk] and queue[0].units_ready == Decimal("5")


def test_receipts_serve_backorders_by_requested_date_then_order_date(people, widget):
    warehouse()
    later = order_for(people, [("W-1", "3")], requested_date=TODAY + datetime.timedelta(days=20))
    sooner = order_for(people, [("W-1", "3")], requested_date=TODAY + datetime.timedelta(days=5))
    undated = order_for(people, [("W-1", "3")])

    flow.receive_stock(warehouse=warehouse(), product=widget, quantity=Decimal("4"), by=people["warehouse"])

    def reserved(order):
        return sum(r.quantity for r in Reservation.objects.filter(order_line__order=order, status="active"))

    assert (reserved(sooner), reserved(later), reserved(undated)) == (Decimal("3"), Decimal("1"), Decimal("0"))
    assert Backorder.objects.get(order_line__order=later, status="open").quantity == Decimal("2")


def test_reserving_an_order_takes_a_constant_number_of_queries(people):
    products = [ProductFactory(sku=f"Q-{n}") for n in range(12)]
    for product in products:
        stock(product, "50")
    small = order_for(people, [("Q-0", "1")])
    big = order_for(people, [(f"Q-{n}", "1") for n in range(12)])
    Reservation.objects.filter(order_line__order__in=[small, big]).update(status="released")
    with CaptureQueriesContext(connection) as one_line:
        fulfillment.reserve_order(order=small)
    with CaptureQueriesContext(connection) as twelve_lines:
        fulfillment.reserve_order(order=big)
    assert len(one_line) == len(twelve_lines)


# --- available to promise -------------------------------------------------------------------------
def test_available_to_promise_counts_expected_receipts_due_by_the_date(people, widget):
    gadget = ProductFactory(sku="G-1")
    stock(widget, "10")
    order_for(people, [("W-1", "4")])
    expected(widget, "5", TODAY + datetime.timedelta(days=3))
    expected(widget, "7", TODAY + datetime.timedelta(days=30))
    assert selectors.available_to_promise([widget.pk, gadget.pk], TODAY) == {widget.pk: Decimal("6"), gadget.pk: 0}
    assert selectors.available_to_promise([widget.pk], TODAY + datetime.timedelta(days=3)) == {widget.pk: Decimal("11")}
    assert selectors.available_to_promise([widget.pk], TODAY + datetime.timedelta(days=31)) == {
        widget.pk: Decimal("18")
    }


# --- shipments ------------------------------------------------------------------------------------
def test_partial_shipment_keeps_the_rest_reserved_and_open(people, widget):
    stock(widget, "10")
    order = order_for(people, [("W-1", "6")])
    line = order.lines.get()
    shipment = fulfillment.plan_shipment(
        orders=[order], warehouse=warehouse(), quantities={line.pk: Decimal("4")}, by=people["warehouse"]
    )
    invoice = ship_planned(shipment, people, carrier=fulfillment.carrier_named("DHL"), tracking_number="JD1")

    assert invoice.lines.get().quantity == Decimal("4")
    item = StockItem.objects.get(product=widget)
    assert (item.on_hand, item.reserved) == (Decimal("6"), Decimal("2"))
    assert selectors.shipped_quantities(order) == {line.pk: Decimal("4")}
    assert [o.pk for o in selectors.pick_queue(warehouse=warehouse())] == [order.pk]
    second = fulfillment.plan_shipment(orders=[order], warehouse=warehouse(), by=people["warehouse"])
    assert second.lines.get().quantity == Decimal("2")
    assert selectors.stock_balances_match_ledger() == []


def test_one_shipment_carries_several_orders_of_one_customer(people, widget):
    ProductFactory(sku="G-1", unit_price=Decimal("5.00"))
    stock(widget, "10")
    stock(ProductFactory._meta.model.objects.get(sku="G-1"), "10")
    customer = CustomerFactory()
    first = order_for(people, [("W-1", "2")], customer=customer)
    second = order_for(people, [("G-1", "3")], customer=customer)

    shipment = fulfillment.plan_shipment(orders=[first, second], warehouse=warehouse(), by=people["warehouse"])
    invoice = ship_planned(shipment, people)

    assert shipment.lines.count() == 2
    assert invoice.order is None and invoice.shipment_id == shipment.pk  # one invoice for both orders
    assert invoice.net_amount == Decimal("40.00")  # 2 x 12.50 + 3 x 5.00
    other = order_for(people, [("W-1", "1")])
    with pytest.raises(FulfillmentError, match="one customer"):
        fulfillment.plan_shipment(orders=[first, other], warehouse=warehouse())


def test_shipping_more_than_is_reserved_is_refused_with_the_line_named(people, widget):
    stock(widget, "3")
    order = order_for(people, [("W-1", "5")])  # 3 reserved, 2 backordered
    line = order.lines.get()
    with pytest.raises(FulfillmentError) as refused:
        fulfillment.plan_shipment(orders=[order], warehouse=warehouse(), quantities={line.pk: Decimal("5")})
    assert "5 pc asked, only 3 reserved in MAIN" in str(refused.value)
    assert not Shipment.objects.exists()

    shipment = fulfillment.plan_shipment(orders=[order], warehouse=warehouse())
    fulfillment.pick_all(shipment=shipment)
    fulfillment.pack(shipment=shipment, packages=[(Decimal("2"), "Carton")])
    fulfillment.release_order(order=order, reason="Customer changed the order")  # reservation gone meanwhile
    with pytest.raises(FulfillmentError) as refused:
        flow.ship_shipment(shipment=shipment, by=people["warehouse"])
    assert "3 pc to ship, only 0 reserved" in str(refused.value)
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED and not Invoice.objects.exists()


def test_scanning_picks_by_sku_or_bin_barcode_and_refuses_what_is_not_asked(people, widget):
    item = stock(widget, "10")
    bin_ = item.warehouse.locations.create(code="A-01-02", barcode="LOC0102")
    StockItem.objects.filter(pk=item.pk).update(location=bin_)
    order = order_for(people, [("W-1", "5")])
    shipment = fulfillment.plan_shipment(orders=[order], warehouse=warehouse())

    fulfillment.record_pick(shipment=shipment, code="w-1", quantity=Decimal("2"))
    fulfillment.record_pick(shipment=shipment, code="LOC0102", quantity=Decimal("1"))
    with pytest.raises(FulfillmentError, match="2 left to pick, not 3"):
        fulfillment.record_pick(shipment=shipment, code="W-1", quantity=Decimal("3"))
    with pytest.raises(FulfillmentError, match="'X-9' is not on shipment"):
        fulfillment.record_pick(shipment=shipment, code="X-9", quantity=Decimal("1"))

    fulfillment.finish_picking(shipment=shipment)  # picked 3 of 5: the line shrinks, 2 stay open
    assert shipment.lines.get().quantity == Decimal("3")
    assert fulfillment.plannable_quantities(order_lines=order.lines.all(), warehouse=warehouse()) == {
        order.lines.get().pk: Decimal("2")
    }


def test_packing_needs_a_weight_per_package(people, widget):
    stock(widget, "10")
    shipment = fulfillment.plan_shipment(orders=[order_for(people, [("W-1", "1")])], warehouse=warehouse())
    fulfillment.pick_all(shipment=shipment)
    with pytest.raises(FulfillmentError) as refused:
        fulfillment.pack(shipment=shipment, packages=[(Decimal("0"), "Carton"), ("heavy", "Pallet")])
    assert [p[0] for p in refused.value.problems] == ["package 1", "package 2"]
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PICKED


def test_services_are_delivered_by_a_confirmation_and_invoiced(people):
    ProductFactory(sku="SVC-1", unit_price=Decimal("80.00"), is_stock_tracked=False)
    order = order_for(people, [("SVC-1", "2")])
    invoice = flow.ship(order=order, by=people["warehouse"])
    shipment = invoice.shipment
    assert (shipment.kind, shipment.status) == (Shipment.Kind.SERVICE, Shipment.Status.DELIVERED)
    assert invoice.net_amount == Decimal("160.00")
    with pytest.raises(FulfillmentError, match="Nothing is reserved"):
        flow.ship(order=order, by=people["warehouse"])


def test_the_one_go_path_ships_from_two_warehouses_as_one(people, widget):
    stock(widget, "3")
    stock(widget, "4", warehouse_code="GNT")
    order = order_for(people, [("W-1", "5")])  # 3 from MAIN, 2 from GNT
    invoice = flow.ship(order=order, by=people["warehouse"], carrier="DHL")
    assert invoice.lines.get().quantity == Decimal("5")
    main, gnt = StockItem.objects.get(warehouse__code="MAIN"), StockItem.objects.get(warehouse__code="GNT")
    assert (main.on_hand, main.reserved, gnt.on_hand, gnt.reserved) == (0, 0, 2, 0)
    assert StockMovement.objects.filter(kind="transfer").count() == 2
    assert selectors.stock_balances_match_ledger() == []


# --- proof of delivery ----------------------------------------------------------------------------
def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 12), "white").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def shipped(people, widget):
    gadget = ProductFactory(sku="G-1", name="Gadget", unit_price=Decimal("5.00"))
    stock(widget, "20")
    stock(gadget, "20")
    order = order_for(people, [("W-1", "10"), ("G-1", "4")])
    invoice = flow.ship(order=order, by=people["warehouse"], carrier="DHL", tracking_number="JD1")
    return invoice.shipment, invoice


def test_a_short_delivered_line_proposes_a_credit_note_for_exactly_the_shortage(people, shipped):
    shipment, invoice = shipped
    widget_line = shipment.lines.get(order_line__product__sku="W-1")
    signed = timezone.now()
    upload = SimpleUploadedFile("signature.png", png_bytes(), content_type="image/png")

    proof, notes = flow.record_delivery(
        shipment=shipment,
        signer_name="J. Peeters",
        signed_at=signed,
        lines=[LineDelivery(widget_line.pk, Decimal("7"), "short", "3 missing from carton 1")],
        upload=upload,
        by=people["warehouse"],
    )

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.EXCEPTION
    assert proof.content_type == "image/png" and len(proof.sha256) == 64 and Path(proof.file.path).exists()
    assert [(d.kind, d.quantity) for d in proof.discrepancies.all()] == [("short", Decimal("3"))]
    (note,) = notes
    assert (note.kind, note.status, note.credited_invoice_id) == ("credit_note", "draft", invoice.pk)
    assert [(line.quantity, line.unit_price) for line in note.lines.all()] == [(Decimal("3"), Decimal("12.50"))]
    assert note.net_amount == Decimal("37.50") and note.total == Decimal("45.38")  # 37.50 + 21% 7.875 -> 7.88
    assert "J. Peeters" in note.reason and "short 3" in note.reason
    assert [d.pk for d in selectors.delivery_exceptions()] == [d.pk for d in proof.discrepancies.all()]


def test_a_clean_delivery_proposes_nothing(people, shipped):
    shipment, _ = shipped
    proof, notes = flow.record_delivery(shipment=shipment, signer_name="A. Janssens", signed_at=timezone.now(), by=None)
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED and notes == []
    assert all(line.delivered_quantity == line.quantity for line in shipment.lines.all())


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("pod.png", b"#!/bin/sh\necho not an image\n", "not a PNG or JPEG image or a PDF"),
        ("pod.pdf", b"PK\x03\x04zip pretending to be a pdf", "not a PNG or JPEG image or a PDF"),
        ("pod.png", b"\x89PNG\r\n\x1a\n" + b"garbage", "damaged or not really an image"),
        ("pod.pdf", b"%PDF-1.4\n" + b"0" * 2048, "limit is 1,024 bytes"),
    ],
)
def test_a_bad_pod_upload_is_refused_and_nothing_is_stored(people, shipped, settings, name, content, message):
    settings.O2C_POD_MAX_BYTES = 1024
    shipment, _ = shipped
    with pytest.raises(FulfillmentError) as refused:
        flow.record_delivery(
            shipment=shipment,
            signer_name="J. Peeters",
            signed_at=timezone.now(),
            upload=SimpleUploadedFile(name, content),
            by=people["warehouse"],
        )
    assert message in str(refused.value)
    assert refused.value.problems[0][:2] == ("proof of delivery", "file")
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.SHIPPED
    assert not ProofOfDelivery.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file() and "pod" in p.parts]
    assert not Invoice.objects.filter(kind="credit_note").exists()


# --- returns --------------------------------------------------------------------------------------
def test_a_return_goes_back_into_stock_or_scrap_and_proposes_a_credit_note(people, shipped, widget):
    shipment, invoice = shipped
    widget_line = shipment.lines.get(order_line__product__sku="W-1")
    gadget_line = shipment.lines.get(order_line__product__sku="G-1")
    with pytest.raises(FulfillmentError, match="Between 0 and 10"):
        fulfillment.authorise_return(
            customer=shipment.customer, lines=[(widget_line, Decimal("11"))], reason="Wrong size"
        )
    rma = fulfillment.authorise_return(
        customer=shipment.customer,
        lines=[(widget_line, Decimal("2")), (gadget_line, Decimal("1"))],
        reason="Wrong size ordered",
        by=people["clerk"],
    )
    lines = {line.shipment_line_id: line for line in rma.lines.all()}

    notes = flow.receive_return(
        rma=rma,
        received={
            lines[widget_line.pk].pk: (Decimal("2"), ReturnLine.Disposition.RESTOCK),
            lines[gadget_line.pk].pk: (Decimal("1"), ReturnLine.Disposition.SCRAP),
        },
        by=people["warehouse"],
    )

    widget_stock = StockItem.objects.get(product__sku="W-1")
    gadget_stock = StockItem.objects.get(product__sku="G-1")
    assert widget_stock.on_hand == Decimal("12")  # 20 - 10 shipped + 2 back
    assert gadget_stock.on_hand == Decimal("16")  # 20 - 4 shipped; the returned one scrapped
    assert list(gadget_stock.movements.filter(kind__in=["return", "scrap"]).values_list("kind", "on_hand_change")) == [
        ("return", Decimal("1")),
        ("scrap", Decimal("-1")),
    ]
    (note,) = notes
    assert note.credited_invoice_id == invoice.pk
    assert sorted((line.quantity, line.unit_price) for line in note.lines.all()) == [
        (Decimal("1"), Decimal("5.00")),
        (Decimal("2"), Decimal("12.50")),
    ]
    rma.refresh_from_db()
    assert rma.status == "received"
    assert selectors.stock_balances_match_ledger() == []


# --- carriers -------------------------------------------------------------------------------------
def test_the_manual_adapter_takes_the_typed_number_and_builds_the_tracking_link(people, widget):
    carrier = Carrier.objects.create(code="DHL", name="DHL Express", tracking_url="https://track.example/?n={tracking}")
    stock(widget, "5")
    order = order_for(people, [("W-1", "1")])
    shipment = fulfillment.plan_shipment(orders=[order], warehouse=warehouse())
    ship_planned(shipment, people, carrier=carrier, service="Express 12:00", tracking_number=" JD 0146 ")
    shipment.refresh_from_db()
    assert (shipment.carrier, shipment.service, shipment.tracking_number) == (carrier, "Express 12:00", "JD 0146")
    assert carriers.tracking_link(shipment) == "https://track.example/?n=JD%200146"
    assert fulfillment.carrier_named("dhl express") == carrier
    Carrier.objects.filter(pk=carrier.pk).update(adapter="acme-api")
    shipment.refresh_from_db()
    assert carriers.tracking_link(shipment) == ""
    with pytest.raises(carriers.CarrierError, match="not installed"):
        carriers.adapter_for(shipment.carrier)


def test_the_nightly_check_finds_a_balance_written_behind_the_ledger(widget):
    from fulfillment.tasks import check_stock_ledger

    item = stock(widget, "5")
    assert check_stock_ledger() == 0
    StockItem.objects.filter(pk=item.pk).update(on_hand=Decimal("7"))  # a write that bypassed the services
    assert selectors.stock_balances_match_ledger() == ["W-1 at MAIN: balances 7.000/0.000, ledger 5.000/0.000"]
    assert check_stock_ledger() == 1
