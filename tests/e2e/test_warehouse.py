"""The warehouse at the shelf, in a real browser: keyboard only. The scan field has the focus,
Enter picks, the focus comes back for the next scan; then pack, ship and sign for it."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from fulfillment.models import Carrier, Shipment
from o2c import flow
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_pick_pack_ship_and_deliver_with_the_keyboard(page: Page, staff):
    customer = CustomerFactory(name="Brasserie Lupulus BV")
    credit_limit(customer)
    stock(ProductFactory(sku="SHELF-1", name="Steel shelf", unit_price=Decimal("149.00")), "10")
    stock(ProductFactory(sku="BOLT-9", name="Anchor bolts", unit_price=Decimal("0.40")), "500")
    clerk = staff(CLERK)
    staff(WAREHOUSE, "warehouse")
    first = flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("SHELF-1", "2")])
    second = flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("BOLT-9", "40")])
    Carrier.objects.create(code="DHL", name="DHL", tracking_url="https://track.example/?n={tracking}")

    page.goto("/login/")
    page.fill("#id_username", "warehouse")
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # Both orders of the customer go in one shipment.
    page.goto("/shipping/pick/")
    page.get_by_label(f"Ship {first.number}").check()
    page.get_by_label(f"Ship {second.number}").check()
    page.get_by_role("button", name="Plan a shipment of the ticked orders").click()
    expect(page.locator("#shipment-status")).to_have_text("Planned")
    shipment = Shipment.objects.get()

    # Scanning: the code field has the focus; type, Tab, quantity, Enter.
    code = page.locator("#id_code")
    expect(code).to_be_focused()
    page.keyboard.type("shelf-1")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+a")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text("SHELF-1: 2 of 2 picked.")
    expect(page.locator("#id_code")).to_be_focused()  # ready for the next scan
    page.keyboard.type("NOT-HERE")
    page.keyboard.press("Enter")
    expect(page.locator("#picking")).to_contain_text("Scan or type a SKU of this shipment.")
    page.fill("#id_code", "BOLT-9")
    page.fill("#id_quantity", "40")
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text("BOLT-9: 40 of 40 picked.")
    page.get_by_role("button", name="Picking done").click()

    expect(page.locator("#id_weight_1")).to_be_focused()
    page.keyboard.type("23.5")
    page.keyboard.press("Enter")
    expect(page.locator("#shipment-status")).to_have_text("Packed")

    page.select_option("#id_carrier", label="DHL")
    page.fill("#id_tracking_number", "JD014600006281")
    page.get_by_role("button", name="Ship and invoice").click()
    expect(page.locator("#messages")).to_contain_text(re.compile(r"shipped and invoice INV-\d{4}-\d{6} issued"))
    expect(page.locator("#tracking-link")).to_have_attribute("href", "https://track.example/?n=JD014600006281")

    page.fill("#id_signer_name", "J. Peeters")
    page.fill(f"#delivered-{shipment.lines.get(order_line__product__sku='BOLT-9').pk}", "36")
    page.get_by_role("button", name="Record delivery").click()
    expect(page.locator("#shipment-status")).to_have_text("Exception")
    expect(page.locator("#messages")).to_contain_text(
        "Credit note proposed for the shortfall: 1.94 EUR"
    )  # 4 x 0.40 + 21%
