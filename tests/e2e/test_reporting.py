"""The finance manager in a real browser: the dashboard draws its charts, the 61-90 days bucket
drills down to its invoices, and those export to an XLSX that reads back with the same rows."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from o2c.core import roles
from tests.e2e.test_order_to_cash import login
from tests.orders.factories import CustomerFactory
from tests.reporting.factories import make_invoice, pay

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def books(staff):
    staff(roles.FINANCE_MANAGER, "finance")
    today = timezone.localdate()
    days = datetime.timedelta
    alpha = CustomerFactory(name="Alpha Brewing BV")
    beta = CustomerFactory(name="Beta Foods NV")
    rows = [
        ("E-1", alpha, 5, "100.00"),  # not yet due
        ("E-2", beta, -20, "200.00"),  # 20 days past due
        ("E-3", alpha, -65, "300.00"),  # 61-90
        ("E-4", beta, -80, "400.00"),  # 61-90
        ("E-5", beta, -100, "500.00"),  # 91-120
    ]
    for number, customer, due_in, total in rows:
        due = today + days(due_in)
        make_invoice(number, customer, issued=due - days(30), due=due, total=total)
    paid = make_invoice("E-6", alpha, issued=today - days(40), due=today - days(10), total="50.00")
    pay(paid, "50.00", today - days(3))
    return {"61-90": ["E-4", "E-3"]}  # oldest due first


def test_dashboard_charts_drill_down_and_xlsx_export(page: Page, books, tmp_path):
    login(page, "finance")
    page.goto("/reports/")
    expect(page.get_by_role("heading", name="Finance overview")).to_be_visible()

    # the charts are drawn: server-side SVG with one bar per bucket that holds money
    chart = page.locator("#aging-heading").locator("xpath=ancestor::section").locator("svg")
    expect(chart).to_be_visible()
    widths = chart.locator("rect").evaluate_all("rects => rects.map(r => r.getBBox().width)")
    assert len(widths) == 6 and sum(1 for w in widths if w > 0) == 4  # current, 1-30, 61-90, 91-120
    expect(page.locator("#dso .value")).to_contain_text("days")
    expect(page.locator("#cei .hint")).to_contain_text("CEI = (receivables at start")

    # drill from the 61-90 bucket to its invoices
    page.locator(".aging-table a[data-bucket='61-90']").click()
    expect(page.get_by_role("heading", name="61-90 (days past the due date)")).to_be_visible()
    cells = page.locator("#drill-invoices tbody tr td:first-child")
    expect(cells).to_have_count(2)
    shown = cells.all_inner_texts()
    assert shown == books["61-90"]

    # export them and read the workbook back
    with page.expect_download() as download_info:
        page.locator("a[data-export='xlsx']").first.click()
    path = tmp_path / "aging.xlsx"
    download_info.value.save_as(path)
    rows = list(load_workbook(io.BytesIO(path.read_bytes())).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("Invoice", "Customer")
    assert [row[0] for row in rows[1:]] == shown
    assert [Decimal(str(row[7])) for row in rows[1:]] == [Decimal("400"), Decimal("300")]
