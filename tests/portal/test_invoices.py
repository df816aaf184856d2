"""Invoices and credit notes in the portal: filters, detail with payments applied, every stored
document kind, payment history; query counts that do not grow with rows."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invoicing import services as invoicing
from invoicing.models import Invoice
from invoicing.references import format_rf, rf_reference
from o2c import flow
from tests.core.factories import AR, CLERK, WAREHOUSE
from tests.orders.factories import CustomerFactory

from .factories import PDF_BYTES, invoice_for, order_for, portal_user, widget

pytestmark = pytest.mark.django_db
LIST = reverse("portal:invoices")


@pytest.fixture
def people(staff):
    return {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE), "ar": staff(AR)}


@pytest.fixture
def acme():
    widget()
    return CustomerFactory(name="Acme Tools NV")


@pytest.fixture
def user(client, acme):
    user = portal_user(acme, "acme")
    client.force_login(user)
    return user


def make(people, customer, **kwargs):
    return invoice_for(people["clerk"], people["warehouse"], customer, **kwargs)


def numbers(response) -> list[str]:
    return [invoice.number for invoice in response.context["page"].rows]


def test_filters(client, user, acme, people):
    paid, open_one = make(people, acme, po="PO-PAID"), make(people, acme)
    long_ago = timezone.localdate() - datetime.timedelta(days=90)  # due 60 days ago
    overdue = flow.ship(order=order_for(people["clerk"], acme), by=people["warehouse"], on=long_ago)
    flow.receive_payment(invoice=paid, amount=paid.total, value_date=paid.issue_date, by=people["ar"])

    assert set(numbers(client.get(LIST))) == {paid.number, open_one.number, overdue.number}
    assert set(numbers(client.get(LIST, {"status": "open"}))) == {open_one.number, overdue.number}
    assert numbers(client.get(LIST, {"status": "overdue"})) == [overdue.number]
    assert numbers(client.get(LIST, {"status": "paid"})) == [paid.number]
    assert numbers(client.get(LIST, {"number": "PO-PAID"})) == [paid.number]
    assert numbers(client.get(LIST, {"kind": "credit_note"})) == []
    html = client.get(LIST, {"status": "paid"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and paid.number in html


def test_detail_shows_lines_payments_applied_and_rf(client, user, acme, people):
    invoice = make(people, acme)
    flow.receive_payment(
        invoice=invoice, amount=Decimal("21.00"), value_date=invoice.issue_date, by=people["ar"], reference="BANK-1"
    )
    html = client.get(reverse("portal:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Steel widget" in html and "100.00 EUR" in html and "21.00 EUR" in html and "BANK-1" in html
    assert format_rf(rf_reference(invoice.number)) in html
    assert "Pay 100.00 EUR" in html


def test_every_stored_document_kind_downloads(client, user, acme, people):
    invoice = make(people, acme)  # its PDF is stored
    html = client.get(reverse("portal:invoice_detail", args=[invoice.pk])).content.decode()
    assert reverse("portal:invoice_document", args=[invoice.pk, "ubl"]) not in html
    assert client.get(reverse("portal:invoice_document", args=[invoice.pk, "ubl"])).status_code == 404  # not yet
    for kind, _ in invoice.documents.model.Kind.choices:
        if kind != "pdf":
            invoicing.store_document(invoice_id=invoice.pk, kind=kind, content=kind.encode(), filename=f"x.{kind}")
    html = client.get(reverse("portal:invoice_detail", args=[invoice.pk])).content.decode()
    for kind, _ in invoice.documents.model.Kind.choices:
        url = reverse("portal:invoice_document", args=[invoice.pk, kind])
        assert url in html
        assert client.get(url).status_code == 200
    response = client.get(reverse("portal:invoice_document", args=[invoice.pk, "pdf"]))
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert client.get(reverse("portal:invoice_document", args=[invoice.pk, "exe"])).status_code == 404


def test_credit_notes_are_listed_once_issued(client, user, acme, people):
    invoice = make(people, acme)
    note = invoicing.propose_credit_note(
        invoice=invoice, lines=[(invoice.lines.get(), Decimal("1"))], reason="Damaged", by=people["clerk"]
    )
    assert note.status == Invoice.Status.DRAFT
    assert numbers(client.get(LIST, {"kind": "credit_note"})) == []  # a draft is ours, not the customer's


def test_payment_history(client, user, acme, people):
    invoice = make(people, acme)
    flow.receive_payment(invoice=invoice, amount=invoice.total, value_date=invoice.issue_date, by=people["ar"])
    html = client.get(reverse("portal:payments")).content.decode()
    assert invoice.number in html and "121.00 EUR" in html


def test_list_query_count_does_not_grow(client, user, acme, people):
    first = make(people, acme)
    flow.receive_payment(invoice=first, amount=Decimal("1.00"), value_date=first.issue_date, by=people["ar"])

    def count(url):
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context)

    before = {url: count(url) for url in (LIST, reverse("portal:payments"), reverse("portal:pay"))}
    for _ in range(6):
        invoice = make(people, acme)
        flow.receive_payment(invoice=invoice, amount=Decimal("1.00"), value_date=invoice.issue_date, by=people["ar"])
    assert {url: count(url) for url in before} == before
