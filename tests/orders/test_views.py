"""The order list and the order page's two typeahead endpoints."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from o2c import flow
from o2c.core import roles
from orders.models import SalesOrder
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

LIST = reverse("orders:list")
HTMX = {"HX-Request": "true"}
# session, user, the user's and its groups' permissions, the roles shown in the top bar, the page's one query
LIST_QUERIES = 6


@pytest.fixture
def clerk(staff, client):
    user = staff(CLERK)
    client.force_login(user)
    return user


@pytest.fixture
def widget():
    product = ProductFactory(sku="W-1", name="Blue widget", unit_price=Decimal("12.50"))
    stock(product, "1000")
    return product


def submit(customer, by, *, quantity="1", po=""):
    return flow.submit_order(
        by=by, customer_account=customer.account_number, lines=[LineInput("W-1", quantity)], customer_po=po
    )


def bare_orders(customer, count: int, *, start=datetime.date(2026, 1, 1)):
    """`count` submitted orders straight into the table (no flow): two a day, so dates tie."""
    return SalesOrder.objects.bulk_create(
        SalesOrder(
            customer=customer,
            number=f"SO-T-{customer.pk}-{n:04d}",
            status=SalesOrder.Status.SUBMITTED,
            currency="EUR",
            order_date=start + datetime.timedelta(days=n // 2),
        )
        for n in range(count)
    )


def count_queries(client, url, **kwargs) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return len(context)


# --- access ------------------------------------------------------------------------------------
def test_anonymous_is_sent_to_login(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_without_permission_is_refused(client, staff):
    client.force_login(staff(roles.CUSTOMER))
    assert client.get(LIST).status_code == 403


# --- the list ------------------------------------------------------------------------------------
def test_lists_orders_with_link_status_and_total(client, clerk, widget):
    customer = CustomerFactory(name="Acme Tools NV")
    credit_limit(customer)
    order = submit(customer, clerk, quantity="4", po="PO-778")

    response = client.get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert f'href="{reverse("desk:order_detail", args=[order.pk])}"' in html
    assert order.number in html and "Acme Tools NV" in html and "PO-778" in html
    assert 'class="badge badge-approved"' in html
    assert "60.50 EUR" in html  # 4 x 12.50 = 50.00 + 21% tax 10.50


def test_empty_state_links_to_order_entry(client, clerk):
    html = client.get(LIST).content.decode()
    assert "No orders yet" in html
    assert reverse("desk:order_new") in html


def test_filters_narrow_the_list(client, clerk, widget):
    acme, bolt = CustomerFactory(name="Acme Tools NV"), CustomerFactory(name="Bolt Supplies BV")
    credit_limit(acme)
    approved = submit(acme, clerk, po="PO-1")
    held = submit(bolt, clerk, po="PO-2")  # no credit profile: held
    assert held.status == SalesOrder.Status.CREDIT_HOLD

    def shown(**params):
        return [order.pk for order in client.get(LIST, params).context["page"].rows]

    assert shown(status="credit_hold") == [held.pk]
    assert shown(customer="acme") == [approved.pk]
    assert shown(customer=bolt.account_number) == [held.pk]
    assert shown(q="PO-2") == [held.pk]
    assert shown(q=approved.number) == [approved.pk]
    assert shown(channel="portal") == []
    today = approved.order_date
    assert set(shown(date_from=today.isoformat(), date_to=today.isoformat())) == {approved.pk, held.pk}
    assert shown(date_to=(today - datetime.timedelta(days=1)).isoformat()) == []
    # A wrong value is dropped, not an error page.
    assert set(shown(status="nonsense", date_from="31-31-2026")) == {approved.pk, held.pk}


def test_no_match_says_so(client, clerk, widget):
    customer = CustomerFactory()
    credit_limit(customer)
    submit(customer, clerk)
    html = client.get(LIST, {"q": "nothing-like-this"}).content.decode()
    assert "No orders match these filters" in html


def test_htmx_gets_only_the_results(client, clerk, widget):
    customer = CustomerFactory()
    credit_limit(customer)
    order = submit(customer, clerk)

    html = client.get(LIST, {"status": "approved"}, headers=HTMX).content.decode()

    assert "<html" not in html and "<form" not in html
    assert order.number in html and 'id="orders"' in html


def test_filter_form_works_with_and_without_javascript(client, clerk):
    html = client.get(LIST).content.decode()
    assert 'method="get"' in html and f'action="{LIST}"' in html  # without JS: a plain GET
    assert f'hx-get="{LIST}"' in html and 'hx-target="#order-results"' in html and 'hx-push-url="true"' in html


def test_query_count_does_not_grow_with_rows(client, clerk, widget):
    customer = CustomerFactory()
    credit_limit(customer)
    submit(customer, clerk)
    one_row = count_queries(client, LIST)
    for _ in range(29):
        submit(CustomerFactory(), clerk)  # different customers: a lazy customer lookup would show
    thirty_rows = count_queries(client, LIST)
    assert len(client.get(LIST).context["page"].rows) == 30
    assert one_row == thirty_rows == LIST_QUERIES


def test_keyset_pagination_60_orders(client, clerk):
    orders = bare_orders(CustomerFactory(), 60)

    first = client.get(LIST).context["page"]
    assert len(first.rows) == 50 and first.has_next and not first.has_previous
    second_response = client.get(first.next_url)
    second = second_response.context["page"]
    assert len(second.rows) == 10 and not second.has_next and second.has_previous

    shown = [order.pk for order in first.rows] + [order.pk for order in second.rows]
    assert len(set(shown)) == 60
    expected = [o.pk for o in sorted(orders, key=lambda o: (o.order_date, o.pk), reverse=True)]
    assert shown == expected
    assert second.first_url == LIST
    assert 'rel="next"' not in second_response.content.decode()


def test_pagination_keeps_the_filters(client, clerk):
    bare_orders(CustomerFactory(name="Acme Tools NV"), 55)
    bare_orders(CustomerFactory(name="Bolt Supplies BV"), 5)
    first = client.get(LIST, {"customer": "acme", "status": "submitted"}).context["page"]
    assert "customer=acme" in first.next_url and "status=submitted" in first.next_url
    second = client.get(first.next_url).context["page"]
    assert len(second.rows) == 5
    assert {order.customer.name for order in second.rows} == {"Acme Tools NV"}
    assert "customer=acme" in second.first_url and "after" not in second.first_url


def test_a_bad_cursor_shows_the_first_page(client, clerk):
    bare_orders(CustomerFactory(), 3)
    page = client.get(LIST, {"after": "not-a-cursor"}).context["page"]
    assert len(page.rows) == 3 and not page.has_previous


# --- typeahead for the order page -----------------------------------------------------------
def test_customer_search_gives_datalist_options(client, clerk):
    CustomerFactory(account_number="C-ACME", name="Acme Tools NV", city="Gent")
    CustomerFactory(account_number="C-ACM2", name="Acme Closed BV", is_active=False)
    for n in range(12):
        CustomerFactory(name=f"Acme West {n:02d}")  # sorts after "Acme Tools"

    html = client.get(reverse("orders:customer_search"), {"q": "acme"}).content.decode()

    assert "<html" not in html
    assert '<option value="C-ACME">Acme Tools NV, Gent</option>' in html
    assert "C-ACM2" not in html  # inactive customers cannot order
    assert html.count("<option") == 10


def test_customer_search_reads_the_order_form_field(client, clerk):
    # htmx sends the typing input's own value under its name: customer_account.
    CustomerFactory(account_number="C-ACME", name="Acme Tools NV")
    html = client.get(reverse("orders:customer_search"), {"customer_account": "c-acm"}).content.decode()
    assert 'value="C-ACME"' in html
    assert "<option" not in client.get(reverse("orders:customer_search")).content.decode()


def test_product_search_shows_price_and_available(client, clerk, widget):
    customer = CustomerFactory()
    credit_limit(customer)
    submit(customer, clerk, quantity="30")  # reserves 30 of 1000
    ProductFactory(sku="W-OLD", name="Old widget", is_active=False)
    ProductFactory(sku="SVC-W", name="Widget fitting", unit_price=Decimal("80.00"), is_stock_tracked=False)

    html = client.get(reverse("orders:product_search"), {"sku": "widget"}).content.decode()

    assert '<option value="W-1">Blue widget — 12.50 EUR, 970 available</option>' in html
    assert '<option value="SVC-W">Widget fitting — 80.00 EUR, service</option>' in html
    assert "W-OLD" not in html


def test_product_search_limits_to_15_in_constant_queries(client, clerk):
    for n in range(20):
        stock(ProductFactory(name=f"Gadget {n}"), "5")
    url = reverse("orders:product_search")
    with CaptureQueriesContext(connection) as context:
        html = client.get(url, {"q": "gadget"}).content.decode()
    assert html.count("<option") == 15
    assert len(context) <= LIST_QUERIES - 1  # no top bar: session, user, two permission reads, one search


@pytest.mark.parametrize("name", ["orders:customer_search", "orders:product_search"])
def test_typeahead_needs_order_entry_permission(client, staff, name):
    assert client.get(reverse(name), {"q": "a"}).status_code == 302
    client.force_login(staff(WAREHOUSE))  # may see orders, may not enter them
    assert client.get(reverse(name), {"q": "a"}).status_code == 403
