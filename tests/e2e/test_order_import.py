"""The CSV import in a real browser: upload, read the preview's problems, choose the good
orders only, watch the progress bar while a real Celery worker imports, read the report."""

import pytest
from playwright.sync_api import Page, expect

from orders.models import SalesOrder
from tests.core.factories import CLERK
from tests.credit.factories import credit_limit
from tests.e2e.test_order_to_cash import login
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_import_a_file_with_a_bad_row_in_the_browser(page: Page, staff, celery_worker_process, tmp_path):
    credit_limit(CustomerFactory(account_number="SHOP-1"), "1000000")
    stock(ProductFactory(sku="W-1"), "10000")
    staff(CLERK, "clerk")
    rows = ["order_key,customer_account,sku,quantity,customer_po"]
    rows += [f"K{n},SHOP-1,{'W-1' if n != 4 else 'W-404'},1,PO-{n}" for n in range(40)]
    path = tmp_path / "webshop.csv"
    path.write_text("\n".join(rows) + "\n")

    login(page, "clerk")
    page.goto("/orders/")
    page.get_by_role("link", name="Import CSV").click()
    expect(page.locator("#import-columns")).to_contain_text("order_key")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Check the file").click()

    problems = page.locator("#import-problems")
    expect(problems).to_contain_text("unknown product 'W-404'")
    expect(problems.locator("tbody tr")).to_have_count(1)
    expect(problems.locator("tbody td").first).to_have_text("6")  # header + K0..K3 + K4 on line 6
    assert SalesOrder.objects.count() == 0

    page.get_by_label("Import the 39 good orders only").check()
    page.get_by_role("button", name="Import 39 orders").click()
    expect(page.get_by_role("progressbar", name="Import progress")).to_be_visible()
    expect(page.locator("#import-report")).to_contain_text("39 orders imported", timeout=60_000)
    expect(page.locator("#import-orders tbody tr")).to_have_count(39)
    assert SalesOrder.objects.filter(channel="csv").count() == 39
