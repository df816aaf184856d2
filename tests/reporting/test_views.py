"""The finance dashboard: every figure a database aggregate, in a constant number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from o2c import flow
from o2c.core import roles
from orders.services import LineInput
from reporting import selectors
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("reporting:dashboard")
# session, user, the user's and its groups' permissions, the roles in the top bar,
# then invoices, orders by status, cash, aging: one aggregate each
DASHBOARD_QUERIES = 9


@pytest.fixture
def finance(staff, client):
    user = staff(roles.FINANCE_MANAGER)
    client.force_login(user)
    return user


@pytest.fixture
def people(staff):
    return {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE)}  # once: staff() re-hashes a password


@pytest.fixture
def widget():
    product = ProductFactory(sku="W-1", unit_price=Decimal("100.00"))  # 121.00 with tax
    stock(product, "10000")
    return product


def order(people, *, within_credit=True):
    customer = CustomerFactory()
    if within_credit:
        credit_limit(customer, "1000000.00")
    return flow.submit_order(
        by=people["clerk"], customer_account=customer.account_number, lines=[LineInput("W-1", "1")]
    )


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(DASHBOARD)
    assert response.status_code == 200
    return len(context)


def test_anonymous_is_sent_to_login(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_without_permission_is_refused(client, staff):
    client.force_login(staff(roles.AR_CLERK))
    assert client.get(DASHBOARD).status_code == 403


def test_figures(client, finance, people, widget):
    today = timezone.localdate()
    shipped = [flow.ship(order=order(people), by=people["warehouse"]) for _ in range(3)]  # 3 x 121.00 invoiced
    flow.receive_payment(invoice=shipped[0], amount=Decimal("121.00"), value_date=today, by=finance)
    flow.receive_payment(invoice=shipped[1], amount=Decimal("21.00"), value_date=today, by=finance)
    order(people, within_credit=False)  # held
    order(people)  # approved, not shipped

    response = client.get(DASHBOARD)

    d = response.context["figures"]
    assert d.open_total == Decimal("221.00")  # 363.00 invoiced - 142.00 paid
    assert d.overdue_total == Decimal("0.00")
    assert d.revenue_window == Decimal("363.00")
    assert d.dso == Decimal("54.8")  # 221 / 363 x 90 = 54.79
    assert (d.invoices_this_month, d.invoiced_this_month) == (3, Decimal("363.00"))
    assert d.cash_this_month == Decimal("142.00")
    assert d.credit_holds == 1
    counts = {row["status"]: row["count"] for row in d.orders_by_status}
    assert counts == {
        "draft": 0,
        "submitted": 0,
        "credit_hold": 1,
        "approved": 3,
        "completed": 1,
        "rejected": 0,
        "cancelled": 0,
    }
    html = response.content.decode()
    assert "54.8 days" in html
    assert "= open receivables ÷ invoiced in the last 90 days × 90" in html
    assert "221.00 EUR ÷ 363.00 EUR × 90" in html
    assert "<svg" in html and "Not yet due" in html
    assert "No figures yet" not in html


def test_dso_needs_revenue():
    assert selectors.days_sales_outstanding(Decimal("500"), Decimal("0")) is None
    assert selectors.days_sales_outstanding(Decimal("500"), Decimal("1000")) == Decimal("45.0")
    assert selectors.days_sales_outstanding(Decimal("1"), Decimal("3")) == Decimal("30.0")


def test_empty_state(client, finance):
    html = client.get(DASHBOARD).content.decode()
    assert "No figures yet" in html
    assert "<svg" not in html


def test_query_count_does_not_grow_with_rows(client, finance, people, widget):
    flow.ship(order=order(people), by=people["warehouse"])
    one = count_queries(client)
    for _ in range(29):
        flow.ship(order=order(people), by=people["warehouse"])
    thirty = count_queries(client)
    assert client.get(DASHBOARD).context["figures"].invoices_this_month == 30
    assert one == thirty == DASHBOARD_QUERIES


def test_figures_for_another_day(people, widget):
    invoice = flow.ship(order=order(people), by=people["warehouse"])
    later = invoice.due_date + datetime.timedelta(days=1)
    d = selectors.dashboard(on=later)
    assert d.overdue_total == Decimal("121.00")
    assert d.aging[1]["amount"] == Decimal("121.00")  # 1-30 days
    assert d.revenue_window == Decimal("121.00")  # issued 31 days before: inside 90
