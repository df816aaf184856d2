"""The acceptance walk: one order from the clerk's desk to cash applied, in a real browser,
against the live server and a real Celery worker that renders the invoice PDF."""

import re
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orders.models import SalesOrder
from tests.core.factories import AR, CLERK, CREDIT, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),  # live_server and the worker see only committed rows
]

ORDER_NEW = "/desk/orders/new/"


# --- helpers -------------------------------------------------------------------------------------
def login(page: Page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def logout(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def type_and_recalc(page: Page, selector: str, value: str) -> None:
    """Type into an order-entry field and leave it, as a clerk does; wait for htmx to re-render
    the lines (prices, stock, totals) before typing on, so no keystroke lands in a replaced row."""
    if page.input_value(selector) == value:
        return  # unchanged: the browser fires no change event, so nothing is recalculated
    with page.expect_response(lambda r: r.url.endswith(ORDER_NEW) and r.request.method == "POST"):
        page.fill(selector, value)
        page.press(selector, "Tab")


def fill_line(page: Page, row: int, sku: str, quantity: str) -> None:
    type_and_recalc(page, f"#line-{row}-sku", sku)
    type_and_recalc(page, f"#line-{row}-quantity", quantity)


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


# --- the walk ------------------------------------------------------------------------------------
@pytest.fixture
def world(staff):
    customer = CustomerFactory(name="Brasserie Lupulus BV")
    credit_limit(customer, "100.00")  # below the order total: the order waits for a credit manager
    widget = ProductFactory(sku="W-1", name="Steel widget", unit_price=Decimal("12.50"))
    cable = ProductFactory(sku="CAB-1", name="Power cable", unit_price=Decimal("4.00"))
    box = ProductFactory(sku="BOX-1", name="Storage box", unit_price=Decimal("2.50"))
    ProductFactory(sku="SVC-1", name="Installation", unit_price=Decimal("80.00"), is_stock_tracked=False)
    for product in (widget, cable, box):
        stock(product, "10")
    for role, username in [(CLERK, "clerk"), (CREDIT, "credit"), (WAREHOUSE, "warehouse"), (AR, "ar")]:
        staff(role, username)
    return {"customer": customer}


def test_order_to_cash_in_the_browser(page: Page, world, celery_worker_process, tmp_path):
    customer = world["customer"]

    # 1. The clerk enters the order; prices and totals follow each line as it is typed.
    login(page, "clerk")
    page.goto(ORDER_NEW)
    type_and_recalc(page, "#id_customer_account", customer.account_number)
    expect(page.locator("#order-lines")).to_contain_text("Ordering for Brasserie Lupulus BV")
    fill_line(page, 0, "W-1", "4")  # 4 x 12.50 = 50.00 + 21% tax 10.50
    expect(page.locator("#order-total")).to_have_text("60.50 EUR")
    fill_line(page, 1, "SVC-1", "1")  # 80.00 + 16.80 (a service: no stock)
    expect(page.locator("#order-total")).to_have_text("157.30 EUR")
    fill_line(page, 2, "CAB-1", "2")  # 2 x 4.00 = 8.00 + 1.68
    expect(page.locator("#order-total")).to_have_text("166.98 EUR")
    page.get_by_role("button", name="+ Add line").click()
    expect(page.locator("#order-lines tbody tr")).to_have_count(4)  # the three blank rows + one
    fill_line(page, 3, "BOX-1", "2")  # 2 x 2.50 = 5.00 + 1.05
    expect(page.locator("#order-net")).to_have_text("143.00 EUR")
    expect(page.locator("#order-total")).to_have_text("173.03 EUR")
    page.get_by_role("button", name="Submit order").click()

    expect(page.locator("#order-status")).to_have_text("Credit hold")
    expect(page.locator("#messages")).to_contain_text("put on credit hold")
    order = SalesOrder.objects.get(customer=customer)
    assert order.total == Decimal("173.03") and order.lines.count() == 4
    order_url = f"/desk/orders/{order.pk}/"
    logout(page)

    # 2. The credit manager releases it from the queue, with a reason.
    login(page, "credit")
    page.goto("/credit/holds/")
    held = page.locator(f"#hold-{order.pk}")
    expect(held).to_contain_text("Credit limit exceeded")
    held.get_by_label("Reason").fill("Known customer, PO confirmed by phone")
    held.get_by_role("button", name="Release").click()
    expect(held).to_contain_text("Approved")
    expect(page.locator("#messages")).to_contain_text(f"Order {order.number} released")
    logout(page)

    # 3. The warehouse ships it; shipping issues the invoice and queues its PDF.
    login(page, "warehouse")
    page.goto(order_url)
    expect(page.locator("#order-status")).to_have_text("Approved")
    page.fill("#carrier", "DHL")
    page.fill("#tracking_number", "JD014600006281")
    page.get_by_role("button", name="Ship what is reserved").click()
    expect(page.locator("#messages")).to_contain_text("shipped and invoice INV-")
    invoice = order.invoices.get()
    logout(page)

    # 4. AR opens the invoice from the order page, downloads the PDF the worker rendered,
    #    and records the payment of the full amount.
    login(page, "ar")
    page.goto(order_url)
    page.get_by_role("link", name=invoice.number).click()
    expect(page.locator("#invoice-total")).to_have_text("173.03 EUR")
    pdf_link = page.locator("#pdf-link")
    expect(pdf_link).to_be_visible()  # polled by htmx every second until the worker has stored it
    with page.expect_download() as download_info:
        pdf_link.click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    pdf_path = tmp_path / download.suggested_filename
    download.save_as(pdf_path)
    text = pdf_text(pdf_path)
    assert invoice.number in text
    assert "173.03" in text

    expect(page.locator("#id_amount")).to_have_value("173.03")
    expect(page.locator("#id_value_date")).to_have_value(timezone.localdate().isoformat())  # ISO for type=date
    page.get_by_role("button", name="Record and apply payment").click()
    expect(page.locator("#invoice-status")).to_have_text("Paid")
    expect(page.locator("#messages")).to_contain_text(f"Order {order.number} is completed.")

    # 5. The order page tells the end of the story.
    page.get_by_role("link", name=f"Order {order.number}").click()
    expect(page.locator("#order-status")).to_have_text("Completed")
    expect(page.locator("#timeline")).to_contain_text(f"Order {order.number} completed: shipped, invoiced and paid")
    page.screenshot(path="/tmp/e2e-order.png", full_page=True)
