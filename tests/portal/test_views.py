"""The customer portal: a customer sees and downloads only their own documents."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoicing import services as invoicing
from invoicing.models import InvoiceDocument
from o2c import flow
from o2c.core import roles
from orders.services import LineInput
from portal.models import PortalAccess
from tests.core.factories import AR, CLERK, WAREHOUSE, user_in
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

HOME = reverse("portal:home")
HTMX = {"HX-Request": "true"}
# session, user, the user's and its groups' permissions, the customer (PortalAccess), balance,
# one page of invoices, recent orders, next due invoices, recent deliveries, unread dispute messages
HOME_QUERIES = 11
PDF_BYTES = b"%PDF-1.7\n% not a real invoice\n"


@pytest.fixture
def people(staff):
    return {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE), "ar": staff(AR)}  # once: staff() re-hashes


@pytest.fixture
def widget():
    product = ProductFactory(sku="W-1", unit_price=Decimal("100.00"))  # 121.00 with tax
    stock(product, "10000")
    return product


def portal_user(customer, username: str):
    user = user_in(roles.CUSTOMER, username=username)
    PortalAccess.objects.create(user=user, customer=customer)
    return user


def order_for(people, customer, *, po=""):
    if not hasattr(customer, "credit_profile"):
        credit_limit(customer, "1000000.00")
    return flow.submit_order(
        by=people["clerk"], customer_account=customer.account_number, lines=[LineInput("W-1", "1")], customer_po=po
    )


def invoice_for(people, customer, *, with_pdf=True):
    invoice = flow.ship(order=order_for(people, customer), by=people["warehouse"])
    if with_pdf:  # what the worker's render_invoice_pdf stores, without running WeasyPrint
        invoicing.store_document(
            invoice_id=invoice.pk, kind=InvoiceDocument.Kind.PDF, content=PDF_BYTES, filename=f"{invoice.number}.pdf"
        )
    return invoice


@pytest.fixture
def acme():
    return CustomerFactory(name="Acme Tools NV")


@pytest.fixture
def bolt():
    return CustomerFactory(name="Bolt Supplies BV")


@pytest.fixture
def acme_user(client, acme):
    user = portal_user(acme, "acme")
    client.force_login(user)
    return user


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(HOME)
    assert response.status_code == 200
    return len(context)


# --- access ------------------------------------------------------------------------------------
def test_anonymous_is_sent_to_login(client):
    for url in (HOME, reverse("portal:invoice_pdf", args=[1])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_staff_without_portal_permission_is_refused(client, people):
    client.force_login(people["clerk"])
    assert client.get(HOME).status_code == 403
    assert client.get(reverse("portal:invoice_pdf", args=[1])).status_code == 403


def test_portal_user_without_a_customer_is_refused(client):
    client.force_login(user_in(roles.CUSTOMER, username="unlinked"))
    response = client.get(HOME)
    assert response.status_code == 403
    assert "not linked to a customer account" in response.content.decode()


# --- the account page ----------------------------------------------------------------------------
def test_balance_invoices_and_orders(client, acme_user, acme, people, widget):
    paid = invoice_for(people, acme)
    open_invoice = invoice_for(people, acme, with_pdf=False)
    flow.receive_payment(invoice=paid, amount=paid.total, value_date=paid.issue_date, by=people["ar"])
    waiting = order_for(people, acme, po="PO-ACME-9")

    response = client.get(HOME)

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["balance"] == {"open": Decimal("121.00"), "overdue": Decimal("0.00")}
    assert "Acme Tools NV" in html and "121.00 EUR" in html
    assert paid.number in html and open_invoice.number in html
    assert f'href="{reverse("portal:invoice_pdf", args=[paid.pk])}"' in html
    assert reverse("portal:invoice_pdf", args=[open_invoice.pk]) not in html
    assert "being prepared" in html
    assert 'class="badge badge-paid"' in html and 'class="badge badge-issued"' in html
    assert waiting.number in html and "PO-ACME-9" in html


def test_never_shows_another_customers_documents(client, acme_user, acme, bolt, people, widget):
    mine = invoice_for(people, acme)
    theirs = invoice_for(people, bolt)
    their_order = order_for(people, bolt, po="PO-BOLT")

    response = client.get(HOME)

    html = response.content.decode()
    assert [invoice.pk for invoice in response.context["page"].rows] == [mine.pk]
    assert theirs.number not in html and their_order.number not in html and "PO-BOLT" not in html
    assert "Bolt Supplies" not in html
    assert response.context["balance"]["open"] == Decimal("121.00")


def test_empty_state(client, acme_user):
    html = client.get(HOME).content.decode()
    assert "No invoices yet" in html and "No orders yet" in html
    assert "0.00 EUR" in html


def test_htmx_gets_only_the_invoices(client, acme_user, acme, people, widget):
    invoice = invoice_for(people, acme)
    html = client.get(HOME, headers=HTMX).content.decode()
    assert "<html" not in html and "Open balance" not in html and "Recent orders" not in html
    assert invoice.number in html and 'id="invoices"' in html


def test_query_count_does_not_grow_with_rows(client, acme_user, acme, people, widget):
    invoice_for(people, acme)
    one = count_queries(client)
    for n in range(29):
        invoice_for(people, acme, with_pdf=n % 2 == 0)
    thirty = count_queries(client)
    assert len(client.get(HOME).context["page"].rows) == 30
    assert one == thirty == HOME_QUERIES


def test_invoices_page_by_keyset(client, acme_user, acme, people, widget):
    invoices = [invoice_for(people, acme, with_pdf=False) for _ in range(52)]
    first = client.get(HOME).context["page"]
    assert len(first.rows) == 50 and first.has_next
    second = client.get(first.next_url, headers=HTMX)
    assert "<html" not in second.content.decode()
    shown = [i.pk for i in first.rows + second.context["page"].rows]
    assert shown == [i.pk for i in reversed(invoices)]


# --- PDF download ---------------------------------------------------------------------------------
def test_downloads_own_invoice_pdf(client, acme_user, acme, people, widget):
    invoice = invoice_for(people, acme)

    response = client.get(reverse("portal:invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_cannot_download_another_customers_pdf(client, acme_user, bolt, people, widget):
    theirs = invoice_for(people, bolt)
    assert client.get(reverse("portal:invoice_pdf", args=[theirs.pk])).status_code == 404


def test_pdf_not_rendered_yet_is_404(client, acme_user, acme, people, widget):
    invoice = invoice_for(people, acme, with_pdf=False)
    assert client.get(reverse("portal:invoice_pdf", args=[invoice.pk])).status_code == 404
    assert client.get(reverse("portal:invoice_pdf", args=[999999])).status_code == 404


def test_every_portal_url_as_another_customer_is_404(client, acme, bolt, people, widget):
    """ARCHITECTURE.md: walk each portal URL that names a document as another customer."""
    invoice = invoice_for(people, acme)
    owner_urls = [reverse("portal:invoice_pdf", args=[invoice.pk])]
    client.force_login(portal_user(acme, "acme"))
    assert all(client.get(url).status_code == 200 for url in owner_urls)
    client.force_login(portal_user(bolt, "bolt"))
    assert [client.get(url).status_code for url in owner_urls] == [404] * len(owner_urls)
