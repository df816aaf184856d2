"""Credit in the browser: a credit manager releases a held order from the queue and the
warehouse sees it to ship; a payment an AR clerk records that brings the customer back within
policy releases its held order without anyone clicking it."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from o2c import flow
from orders.models import SalesOrder
from orders.services import LineInput
from tests.core.factories import AR, CLERK, CREDIT, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.e2e.test_order_to_cash import login, logout
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(staff):
    users = {
        username: staff(role, username)
        for role, username in [(CLERK, "clerk"), (CREDIT, "credit"), (WAREHOUSE, "warehouse"), (AR, "ar")]
    }
    stock(ProductFactory(sku="CRATE", name="Oak crate", unit_price=Decimal("100.00"), tax_rate=Decimal("0")), "50")
    return users


def submit(people, customer, quantity: str) -> SalesOrder:
    return flow.submit_order(
        by=people["clerk"], customer_account=customer.account_number, lines=[LineInput("CRATE", quantity)]
    )


def test_credit_manager_releases_a_held_order_and_it_goes_to_the_warehouse(page: Page, people):
    customer = CustomerFactory(name="Atelier Verhoeven BV")
    credit_limit(customer, "150.00")
    order = submit(people, customer, "2")  # 200 > 150
    assert order.status == SalesOrder.Status.CREDIT_HOLD

    login(page, "credit")
    page.goto("/credit/holds/")
    row = page.locator(f"#hold-{order.pk}")
    expect(row).to_contain_text("Credit limit exceeded")
    expect(row).to_contain_text("150.00 EUR")  # the limit, beside the exposure
    row.get_by_label("Reason").fill("Director approved; deposit received")
    row.get_by_role("button", name="Release").click()
    expect(row).to_contain_text("Approved")
    expect(page.locator("#messages")).to_contain_text(f"Order {order.number} released")
    page.goto(f"/desk/orders/{order.pk}/")
    expect(page.locator("#credit-decision-record")).to_contain_text("Released by credit manager")
    logout(page)

    login(page, "warehouse")
    page.goto("/shipping/")
    expect(page.locator("body")).to_contain_text(order.number)
    page.goto(f"/desk/orders/{order.pk}/")
    expect(page.locator("#order-status")).to_have_text("Approved")
    expect(page.get_by_role("button", name="Ship what is reserved")).to_be_visible()


def test_a_payment_back_within_policy_releases_the_held_order_by_itself(page: Page, people):
    customer = CustomerFactory(name="Fietsen Janssens NV")
    credit_limit(customer, "250.00")
    first = submit(people, customer, "2")  # 200: approved
    invoice = flow.ship(order=first, by=people["warehouse"])  # 200 open
    held = submit(people, customer, "1")  # 200 + 100 > 250
    assert held.status == SalesOrder.Status.CREDIT_HOLD

    login(page, "ar")
    page.goto(f"/desk/invoices/{invoice.pk}/")
    page.fill("#id_amount", "200.00")
    page.fill("#id_value_date", timezone.localdate().isoformat())
    page.get_by_role("button", name="Record and apply payment").click()
    expect(page.locator("#messages")).to_contain_text("Payment of 200.00 EUR recorded and applied")
    page.goto(f"/desk/orders/{held.pk}/")
    expect(page.locator("#order-status")).to_have_text("Approved")  # nobody clicked Release
    expect(page.locator("body")).to_contain_text(re.compile("Within credit again after a payment"))
    logout(page)

    login(page, "credit")
    page.goto("/credit/holds/")
    expect(page.locator(f"#hold-{held.pk}")).to_have_count(0)
    held.refresh_from_db()
    assert held.status == SalesOrder.Status.APPROVED
    assert held.credit_decisions.first().reasons == "Within credit again after a payment."
