"""Pay links: a signed, expiring URL that opens one invoice's pay page without signing in."""

import pytest
from django.urls import reverse

from invoicing.models import Invoice
from portal import links
from portal.models import PaymentIntent
from receivables.models import Payment
from tests.core.factories import CLERK, WAREHOUSE
from tests.orders.factories import CustomerFactory

from .factories import invoice_for, widget

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoices(staff):
    widget()
    acme = CustomerFactory(name="Acme Tools NV")
    clerk, warehouse = staff(CLERK), staff(WAREHOUSE)
    return [invoice_for(clerk, warehouse, acme) for _ in range(2)]


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_pay_link_is_absolute_and_opens_only_that_invoice(client, invoices, settings):
    settings.O2C_PUBLIC_URL = "https://portal.northwind.example"
    this, other = invoices
    url = links.pay_link(this)
    assert url.startswith("https://portal.northwind.example/portal/pay-link/")

    html = client.get(url.removeprefix(settings.O2C_PUBLIC_URL)).content.decode()

    assert this.number in html and "121.00 EUR" in html
    assert other.number not in html
    assert "Log out" not in html  # nobody is signed in


def test_pay_link_pays_that_invoice_by_card_without_signing_in(client, invoices, settings):
    settings.O2C_PUBLIC_URL = ""
    this, other = invoices
    response = client.post(links.pay_link(this), {"provider": "test_card"})
    assert response.status_code == 302
    intent = PaymentIntent.objects.get()
    assert intent.via_pay_link and intent.started_by is None
    assert [item.invoice_id for item in intent.items.all()] == [this.pk]

    response = client.post(response.url, {"card_number": "4242424242424242"}, follow=True)

    assert response.status_code == 200 and "paid" in response.content.decode()
    this.refresh_from_db()
    other.refresh_from_db()
    assert this.status == Invoice.Status.PAID and other.status == Invoice.Status.ISSUED
    assert Payment.objects.get().received_by is None
    # the link of a paid invoice says so, and offers nothing to pay
    assert "Nothing left to pay" in client.get(links.pay_link(this)).content.decode()


def test_an_expired_pay_link_refuses_to_show_and_to_pay(client, invoices, settings):
    settings.O2C_PUBLIC_URL = ""
    this = invoices[0]
    url = links.pay_link(this)
    started = client.post(url, {"provider": "test_card"}).url  # started while the link was fresh
    settings.O2C_PAY_LINK_MAX_AGE_DAYS = 0

    for response in (
        client.get(url),
        client.post(url, {"provider": "test_card"}),
        client.post(started, {"card_number": "4242424242424242"}),
    ):
        assert response.status_code == 403
        assert "This pay link has expired" in response.content.decode()
    assert not Payment.objects.exists()
    this.refresh_from_db()
    assert this.status == Invoice.Status.ISSUED


def test_a_tampered_pay_link_is_refused(client, invoices, settings):
    settings.O2C_PUBLIC_URL = ""
    this, other = invoices
    token = links.pay_token(this)
    forged = token.replace(f"{this.pk}.", f"{other.pk}.", 1)  # another invoice, same signature
    response = client.get(reverse("portal:pay_link", args=[forged]))
    assert response.status_code == 403 and "not valid" in response.content.decode()


def test_a_pay_link_cannot_reach_another_invoices_payment(client, invoices, settings):
    settings.O2C_PUBLIC_URL = ""
    this, other = invoices
    started = client.post(links.pay_link(other), {"provider": "test_card"}).url
    reference = started.rstrip("/").rsplit("/", 1)[-1]
    url = reverse("portal:pay_link_payment", args=[links.pay_token(this), reference])
    assert client.get(url).status_code == 404
    assert client.post(url, {"card_number": "4242424242424242"}).status_code == 404
    assert not Payment.objects.exists()
