"""The AR clerk's open items page: aging figures and chart, then the open invoices."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from o2c import flow
from orders.services import LineInput
from tests.core.factories import AR, CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

OPEN_ITEMS = reverse("receivables:open_items")
HTMX = {"HX-Request": "true"}
# session, user, the user's and its groups' permissions, the roles in the top bar, aging (one aggregate), one page
OPEN_ITEMS_QUERIES = 8  # + the latest nightly reconciliation


@pytest.fixture
def ar_clerk(staff, client):
    user = staff(AR)
    client.force_login(user)
    return user


@pytest.fixture
def widget():
    product = ProductFactory(sku="W-1", unit_price=Decimal("100.00"))  # 1 piece = 121.00 with tax
    stock(product, "10000")
    return product


@pytest.fixture
def people(staff):
    """The users the flow needs, made once: each staff() call re-hashes a password (slow)."""
    return {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE)}


def invoiced(people, *, customer=None, quantity="1", issued_on: datetime.date | None = None):
    """An order taken, approved and shipped; its invoice issued on `issued_on` (default today).
    flow.ship(on=) dates the shipment and the invoice."""
    customer = customer or CustomerFactory()
    if not hasattr(customer, "credit_profile"):
        credit_limit(customer, "1000000.00")
    order = flow.submit_order(
        by=people["clerk"], customer_account=customer.account_number, lines=[LineInput("W-1", quantity)]
    )
    return flow.ship(order=order, by=people["warehouse"], on=issued_on)


def count_queries(client, url=OPEN_ITEMS) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context)


def test_anonymous_is_sent_to_login(client):
    response = client.get(OPEN_ITEMS)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_without_permission_is_refused(client, staff):
    client.force_login(staff(WAREHOUSE))
    assert client.get(OPEN_ITEMS).status_code == 403


def test_aging_figures_chart_and_open_items(client, ar_clerk, people, widget):
    today = timezone.localdate()
    acme = CustomerFactory(name="Acme Tools NV")
    current = invoiced(people, customer=acme)  # due in 30 days
    late = invoiced(people, customer=acme, quantity="2", issued_on=today - datetime.timedelta(days=45))  # 15 days late
    paid = invoiced(people)
    flow.receive_payment(invoice=paid, amount=paid.total, value_date=today, by=ar_clerk)

    response = client.get(OPEN_ITEMS)

    html = response.content.decode()
    assert response.status_code == 200
    assert [bucket["amount"] for bucket in response.context["aging"]] == [
        Decimal("121.00"),
        Decimal("242.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    assert "363.00 EUR" in html  # open, total
    assert "<svg" in html and 'aria-label="Open receivables by days past due"' in html
    assert 'width="360"' in html and 'width="180"' in html  # 242 is the longest bar, 121 half of it
    rows = response.context["page"].rows
    assert [invoice.pk for invoice in rows] == [late.pk, current.pk]  # oldest due first
    assert [invoice.days_overdue for invoice in rows] == [15, 0]
    assert f'href="{reverse("desk:invoice_detail", args=[late.pk])}"' in html
    assert late.number in html and "Acme Tools NV" in html
    assert paid.number not in html


def test_filters_by_customer_and_overdue(client, ar_clerk, people, widget):
    today = timezone.localdate()
    acme, bolt = CustomerFactory(name="Acme Tools NV"), CustomerFactory(name="Bolt Supplies BV")
    acme_current = invoiced(people, customer=acme)
    acme_late = invoiced(people, customer=acme, issued_on=today - datetime.timedelta(days=40))
    bolt_late = invoiced(people, customer=bolt, issued_on=today - datetime.timedelta(days=100))

    def shown(**params):
        return [invoice.pk for invoice in client.get(OPEN_ITEMS, params).context["page"].rows]

    assert shown(customer="acme") == [acme_late.pk, acme_current.pk]
    assert shown(customer=bolt.account_number) == [bolt_late.pk]
    assert shown(overdue="1") == [bolt_late.pk, acme_late.pk]
    assert shown(customer="acme", overdue="1") == [acme_late.pk]


def test_htmx_gets_only_the_results(client, ar_clerk, people, widget):
    invoice = invoiced(people)
    html = client.get(OPEN_ITEMS, {"overdue": "1"}, headers=HTMX).content.decode()
    assert "<html" not in html and "<svg" not in html
    assert "No open items match these filters" in html
    html = client.get(OPEN_ITEMS, headers=HTMX).content.decode()
    assert invoice.number in html and 'id="open-items"' in html and "<html" not in html


def test_empty_state(client, ar_clerk):
    html = client.get(OPEN_ITEMS).content.decode()
    assert "Nothing is open" in html
    assert "0.00 EUR" in html  # the aging still shows, at zero


def test_query_count_does_not_grow_with_rows(client, ar_clerk, people, widget):
    invoiced(people)
    one_row = count_queries(client)
    for _ in range(29):
        invoiced(people)
    thirty_rows = count_queries(client)
    assert len(client.get(OPEN_ITEMS).context["page"].rows) == 30
    assert one_row == thirty_rows == OPEN_ITEMS_QUERIES


def test_keyset_pagination(client, ar_clerk, people, widget):
    today = timezone.localdate()
    customer = CustomerFactory()
    # 55 invoices on 5 issue dates: due dates tie, the id breaks the tie.
    invoices = [
        invoiced(people, customer=customer, issued_on=today - datetime.timedelta(days=n % 5)) for n in range(55)
    ]

    first = client.get(OPEN_ITEMS, {"customer": customer.account_number}).context["page"]
    assert len(first.rows) == 50 and first.has_next
    assert f"customer={customer.account_number}" in first.next_url
    second = client.get(first.next_url).context["page"]
    assert len(second.rows) == 5 and not second.has_next and second.has_previous

    shown = [invoice.pk for invoice in first.rows + second.rows]
    assert shown == [i.pk for i in sorted(invoices, key=lambda i: (i.due_date, i.pk))]
