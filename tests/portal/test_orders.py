"""Orders in the portal: list, detail with timeline and tracking, ordering and reordering from
the customer's catalogue through the same flow as a clerk (credit check included)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import SalesOrder
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.orders.factories import CustomerFactory, ProductFactory

from .factories import invoice_for, order_for, portal_user, widget

pytestmark = pytest.mark.django_db
NEW = reverse("portal:order_new")


@pytest.fixture
def acme():
    widget()
    ProductFactory(sku="USD-1", currency="USD", unit_price=Decimal("5.00"))  # not in an EUR customer's catalogue
    customer = CustomerFactory(name="Acme Tools NV")
    credit_limit(customer, "1000.00")
    return customer


@pytest.fixture
def user(client, acme):
    user = portal_user(acme, "acme")
    client.force_login(user)
    return user


def test_catalogue_shows_the_customers_products_and_prices(client, user):
    html = client.get(NEW).content.decode()
    assert "W-1" in html and "100.00 EUR" in html
    assert "USD-1" not in html


def test_order_goes_through_the_flow_with_channel_portal(client, user, acme):
    response = client.post(NEW, {"qty-W-1": "2", "customer_po": "PO-77"})
    order = SalesOrder.objects.get()
    assert response.url == reverse("portal:order_detail", args=[order.pk])
    assert (order.channel, order.status, order.customer, order.created_by) == ("portal", "approved", acme, user)
    assert order.total == Decimal("242.00") and order.customer_po == "PO-77"
    html = client.get(response.url).content.decode()
    assert "is confirmed" in html and "Order entered (Portal)" in html


def test_an_order_over_the_credit_limit_waits_for_credit(client, user):
    client.post(NEW, {"qty-W-1": "10"})  # 1210.00 > 1000.00
    order = SalesOrder.objects.get()
    assert order.status == SalesOrder.Status.CREDIT_HOLD
    html = client.get(reverse("portal:order_detail", args=[order.pk])).content.decode()
    assert "we review it before shipping" in html
    assert "Credit limit" not in html  # the credit reasons stay with our staff


def test_a_bad_quantity_is_named_and_nothing_saved(client, user):
    response = client.post(NEW, {"qty-W-1": "two"})
    assert response.status_code == 200 and "&#x27;two&#x27; is not a number" in response.content.decode()
    response = client.post(NEW, {})
    assert "add at least one line" in response.content.decode()
    assert not SalesOrder.objects.exists()


def test_reorder_starts_from_an_earlier_order(client, user, acme, staff):
    earlier = order_for(staff(CLERK), acme, quantity="3")
    html = client.get(NEW, {"reorder": earlier.pk}).content.decode()
    assert 'name="qty-W-1" value="3"' in html
    other = order_for(staff(CLERK), CustomerFactory(), quantity="4")
    assert client.get(NEW, {"reorder": other.pk}).status_code == 404


def test_a_user_without_the_order_right(client, acme):
    client.force_login(portal_user(acme, "viewer", can_order=False))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"qty-W-1": "1"}).status_code == 403
    assert not SalesOrder.objects.exists()


def test_order_detail_shows_shipments_with_tracking_links(client, user, acme, staff):
    invoice = invoice_for(staff(CLERK), staff(WAREHOUSE), acme)
    html = client.get(reverse("portal:order_detail", args=[invoice.order_id])).content.decode()
    assert "https://www.dhl.com/global-en/home/tracking.html?tracking-id=JD0146" in html
    assert invoice.number in html and "Order entered" in html
    home = client.get(reverse("portal:home")).content.decode()  # recent deliveries link to tracking too
    assert 'href="https://www.dhl.com/global-en/home/tracking.html?tracking-id=JD0146"' in home


def test_order_list_query_count_is_constant(client, user, acme, staff):
    clerk = staff(CLERK)
    order_for(clerk, acme)

    def count():
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("portal:orders")).status_code == 200
        return len(context)

    one = count()
    for _ in range(5):
        order_for(clerk, acme)
    assert count() == one
