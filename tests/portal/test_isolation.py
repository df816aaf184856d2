"""ARCHITECTURE.md "Security boundaries", proved by walking the URL patterns themselves:

- every pattern of portal.urls, filled with the ids of one customer's documents, answers a
  user of another customer with 403 or 404 (GET and POST), and its list pages show nothing of
  the first customer; a pay link with a tampered or expired token is refused the same way;
- every URL outside the portal (staff pages, admin, desk) refuses a portal user.

The patterns are read from the URL configuration, so a new URL is covered the day it is added:
a pattern with an argument name this test does not know fails until it is taught here.
"""

import re

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from invoicing.models import Invoice
from o2c import flow
from portal import links, services, urls
from portal.models import ChangeRequest, PaymentIntent
from receivables.models import Payment
from tests.core.factories import CLERK, WAREHOUSE
from tests.orders.factories import CustomerFactory

from .factories import invoice_for, portal_user, widget

pytestmark = pytest.mark.django_db
REFUSED = {403, 404}
# Pages every signed-in user shares (sign-in, password, two-factor); "/" sends a portal user to the portal.
SHARED_PAGES = {
    "home",
    "login",
    "logout",
    "otp_verify",
    "otp_setup",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def walk(patterns, prefix="", namespace=""):
    """(full route, name, pattern) of every URL under `patterns`, through includes."""
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if entry.namespace and namespace else entry.namespace or namespace
            yield from walk(entry.url_patterns, prefix + route, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield prefix + route, name, entry


REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
ROUTE_ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")


def argument_names(route: str) -> list[str]:
    return REGEX_GROUP.findall(route) + ROUTE_ARGUMENT.findall(REGEX_GROUP.sub("", route))


def fill(route: str, values: dict) -> str:
    """A route ("invoices/<int:invoice_id>/") or regex ("^(?P<id>.+)/$") with its arguments
    filled from `values` (an unknown one with 1)."""
    path = REGEX_GROUP.sub(lambda m: str(values.get(m.group(1), "1")), route)
    path = ROUTE_ARGUMENT.sub(lambda m: str(values.get(m.group(1), "1")), path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "").lstrip("/")


@pytest.fixture
def world(staff):
    clerk, warehouse = staff(CLERK), staff(WAREHOUSE)
    widget()
    acme = CustomerFactory(name="Acme Tools NV")
    bolt = CustomerFactory(name="Bolt Supplies BV")
    owner = portal_user(acme, "acme-owner")
    colleague = portal_user(acme, "acme-colleague")
    intruder = portal_user(bolt, "bolt-owner")
    invoice = invoice_for(clerk, warehouse, acme, po="PO-ACME-SECRET")
    theirs_open = invoice_for(clerk, warehouse, acme)
    intent = services.start_payment(customer=acme, invoices=[theirs_open], provider="test_card", by=owner)
    link_intent = services.start_payment(customer=acme, invoices=[theirs_open], provider="test_card", via_pay_link=True)
    ChangeRequest.objects.create(customer=acme, kind="address", details="Move to Acme Street 1", requested_by=owner)
    dispute = flow.open_dispute(
        invoice=invoice,
        reason="damaged",
        description="Acme pallet crushed",
        by=owner,
        in_portal=True,
        uploads=[SimpleUploadedFile("acme-photo.pdf", b"%PDF-1.4 Acme evidence")],
    )
    return {
        "owner": owner,
        "intruder": intruder,
        "values": {
            "invoice_id": invoice.pk,
            "kind": "pdf",
            "order_id": invoice.order_id,
            "reference": intent.reference,
            "member_id": colleague.portal_access.pk,
            "token": links.pay_token(theirs_open),
            "dispute_id": dispute.pk,
            "attachment_id": dispute.attachments.get(source="upload").pk,
        },
        "link_reference": link_intent.reference,
        # text that must never reach another customer's page
        "secrets": [
            "Acme Tools",
            invoice.number,
            theirs_open.number,
            invoice.order.number,
            "PO-ACME-SECRET",
            intent.reference,
            link_intent.reference,
            "acme-colleague",
            "Acme Street",
            "Acme pallet crushed",
            "acme-photo.pdf",
        ],
        "open_invoice": theirs_open,
    }


def tampered(token: str) -> str:
    value, _, signature = token.rpartition(":")
    return f"{value}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def expired(invoice, settings) -> str:
    token = links.pay_token(invoice)
    settings.O2C_PAY_LINK_MAX_AGE_DAYS = 0  # any age is too old
    return token


def portal_patterns():
    return list(walk(urls.urlpatterns, "portal/", "portal"))


def test_the_walk_sees_every_portal_pattern():
    names = {name for _, name, _ in portal_patterns()}
    assert {"portal:home", "portal:invoice_detail", "portal:pay_link", "portal:user_update"} <= names
    assert len(names) == len(urls.urlpatterns)


def test_every_portal_url_refuses_another_customer(client, world, settings):
    values = world["values"]
    checked = 0
    for route, name, _ in portal_patterns():
        arguments = argument_names(route)
        unknown = set(arguments) - set(values)
        assert not unknown, f"{name}: teach this test the URL argument(s) {unknown}"
        if not arguments or "token" in arguments:
            continue  # lists: next test; pay links: refused by their token, not by the user
        url = fill(route, values)
        client.force_login(world["owner"])
        assert client.get(url).status_code in {200, 405}, f"{name}: the owner must reach {url}"
        client.force_login(world["intruder"])  # who has every right on their own account
        for method in (client.get, client.post):
            status = method(url).status_code  # 404, not 403: another customer's rows are simply not there
            assert status == 404, f"{name}: {method.__name__.upper()} {url} as another customer gave {status}"
        checked += 1
    assert checked >= 6


def test_portal_lists_show_nothing_of_another_customer(client, world):
    client.force_login(world["intruder"])
    for route, name, _ in portal_patterns():
        if argument_names(route):
            continue
        response = client.get(fill(route, {}))
        assert response.status_code == 200, name
        html = response.content.decode()
        leaked = [secret for secret in world["secrets"] if secret in html]
        assert leaked == [], f"{name} shows another customer's {leaked}"


def test_pay_links_with_a_bad_token_are_refused(client, world, settings):
    invoice = world["open_invoice"]
    good = world["values"]["token"]
    reference = world["link_reference"]
    bad_tokens = {
        "tampered": tampered(good),
        "garbage": "not-a-token",
        "other invoice": signing.TimestampSigner(salt="another.purpose").sign(str(invoice.pk)),
    }
    for route, name, _ in portal_patterns():
        if "token" not in argument_names(route):
            continue
        assert client.get(fill(route, {"token": good, "reference": reference})).status_code == 200, name
        for why, token in bad_tokens.items():
            url = fill(route, {"token": token, "reference": reference})
            for method in (client.get, client.post):
                response = method(url, {"provider": "test_card", "card_number": "4242424242424242"})
                assert response.status_code in REFUSED, f"{name} with a {why} token: {response.status_code}"
    # and with an expired one, which also refuses to pay
    old = expired(invoice, settings)
    for route, name, _ in portal_patterns():
        if "token" in argument_names(route):
            url = fill(route, {"token": old, "reference": reference})
            response = client.post(url, {"provider": "test_card", "card_number": "4242424242424242"})
            assert response.status_code == 403, name
            assert "expired" in response.content.decode()
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert PaymentIntent.objects.get(reference=reference).status == PaymentIntent.Status.STARTED


def test_no_staff_or_admin_url_answers_a_portal_user(client, world):
    client.force_login(world["owner"])
    answered = []
    walked = 0
    for route, name, _ in walk(get_resolver().url_patterns):
        if name.startswith("portal:") or name in SHARED_PAGES or route.startswith("static"):
            continue
        url = fill(route, {})
        for method in (client.get, client.post):
            response = method(url)
            login_redirect = response.status_code == 302 and response.url.startswith("/login/")
            if response.status_code not in REFUSED and not login_redirect:
                answered.append((method.__name__, url, response.status_code))
        walked += 1
    assert answered == []
    assert walked > 50  # the staff pages and the admin's


def test_home_sends_a_portal_user_to_the_portal(client, world):
    client.force_login(world["owner"])
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/portal/"


def test_route_pattern_filling():
    assert fill(str(RoutePattern("invoices/<int:invoice_id>/")), {"invoice_id": 7}) == "/invoices/7/"
    assert fill("^orders/(?P<object_id>.+)/change/$", {}) == "/orders/1/change/"


def test_posted_fields_cannot_reach_another_account(client, world):
    """BOPLA: a portal form takes only its own fields; the customer comes from the login."""
    from orders.models import SalesOrder
    from portal.models import InvoiceDeliveryPreference, PaymentIntent

    intruder = world["intruder"]
    bolt = intruder.portal_access.customer
    acme = world["owner"].portal_access.customer
    client.force_login(intruder)
    client.post(
        "/portal/orders/new/",
        {"qty-W-1": "1", "customer_account": acme.account_number, "customer": acme.pk, "status": "approved"},
    )
    assert SalesOrder.objects.get(created_by=intruder).customer == bolt
    client.post(
        "/portal/account/",
        {"form": "delivery", "delivery-channel": "email", "delivery-email": "x@bolt.example", "customer": acme.pk},
    )
    assert InvoiceDeliveryPreference.objects.get().customer == bolt
    before = PaymentIntent.objects.count()
    response = client.post(
        "/portal/pay/", {"invoice": [world["values"]["invoice_id"]], "provider": "test_card", "amount": "1"}
    )
    assert response.status_code == 404 and PaymentIntent.objects.count() == before


def test_every_portal_form_needs_the_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world["owner"])
    for url in ("/portal/pay/", "/portal/orders/new/", "/portal/account/", "/portal/users/"):
        assert client.post(url, {"provider": "test_card"}).status_code == 403, url
        page = client.get(url).content.decode()
        assert 'name="csrfmiddlewaretoken"' in page, url
    # htmx requests carry it in a header set on <body>
    assert '"X-CSRFToken"' in client.get("/portal/").content.decode()
