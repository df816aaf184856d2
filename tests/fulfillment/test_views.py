"""The warehouse's shipping queue."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment.models import Shipment
from o2c import flow
from orders.models import SalesOrder
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

TO_SHIP = reverse("fulfillment:to_ship")
# session, user, the user's and its groups' permissions, the roles in the top bar, the queue (its ids in
# queue order, then those orders with their line counts)
TO_SHIP_QUERIES = 7


@pytest.fixture
def warehouse(staff, client):
    user = staff(WAREHOUSE)
    client.force_login(user)
    return user


@pytest.fixture
def products():
    widget = ProductFactory(sku="W-1", name="Blue widget", unit_price=Decimal("12.50"))
    gadget = ProductFactory(sku="G-1", name="Gadget", unit_price=Decimal("5.00"))
    stock(widget, "1000")
    stock(gadget, "1000")
    return widget, gadget


@pytest.fixture
def clerk(staff):
    return staff(CLERK)  # made once: each staff() call re-hashes a password (slow)


def approved_order(clerk, *, lines=(("W-1", "2"),), customer=None):
    customer = customer or CustomerFactory()
    if not hasattr(customer, "credit_profile"):
        credit_limit(customer)
    order = flow.submit_order(
        by=clerk, customer_account=customer.account_number, lines=[LineInput(sku, quantity) for sku, quantity in lines]
    )
    assert order.status == SalesOrder.Status.APPROVED
    return order


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(TO_SHIP)
    assert response.status_code == 200
    return len(context)


def test_anonymous_is_sent_to_login(client):
    response = client.get(TO_SHIP)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_without_permission_is_refused(client, staff):
    client.force_login(staff(CLERK))  # sees orders, does not ship them
    assert client.get(TO_SHIP).status_code == 403


def test_lists_ready_orders_with_a_ship_form(client, warehouse, clerk, products):
    order = approved_order(clerk, lines=(("W-1", "2"), ("G-1", "1")))
    held = flow.submit_order(by=clerk, customer_account=CustomerFactory().account_number, lines=[LineInput("W-1", "1")])
    assert held.status == SalesOrder.Status.CREDIT_HOLD

    response = client.get(TO_SHIP)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("desk:order_detail", args=[order.pk])}"' in html
    assert order.customer.name in html
    assert held.number not in html
    assert "2 of 2" in html  # lines reserved
    assert f'action="{reverse("desk:ship_order", args=[order.pk])}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="carrier"' in html and 'name="tracking_number"' in html
    assert f'name="next" value="{TO_SHIP}"' in html


def test_the_ship_form_ships_and_comes_back(client, warehouse, clerk, products):
    order = approved_order(clerk)

    response = client.post(
        reverse("desk:ship_order", args=[order.pk]), {"carrier": "DHL", "tracking_number": "JD0001", "next": TO_SHIP}
    )

    assert response.status_code == 302 and response.url == TO_SHIP
    shipment = Shipment.objects.get(customer=order.customer)
    assert (shipment.carrier.name, shipment.tracking_number) == ("DHL", "JD0001")
    back = client.get(TO_SHIP)
    assert back.context["orders"] == []  # gone from the queue
    html = back.content.decode()
    assert f"Order {order.number} shipped" in html  # the desk's message, shown here
    assert "Nothing to ship" in html


def test_empty_state(client, warehouse):
    html = client.get(TO_SHIP).content.decode()
    assert "Nothing to ship" in html
    assert 'id="to-ship"' not in html


def test_query_count_does_not_grow_with_rows(client, warehouse, clerk, products):
    approved_order(clerk)
    one_row = count_queries(client)
    for _ in range(29):
        approved_order(clerk, lines=(("W-1", "1"), ("G-1", "1")))
    thirty_rows = count_queries(client)
    assert len(client.get(TO_SHIP).context["orders"]) == 30
    assert one_row == thirty_rows == TO_SHIP_QUERIES
