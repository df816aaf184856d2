"""Billing clerk pages: permissions, fragments, bulk actions and constant query counts."""

import io
import zipfile
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoicing import services
from invoicing.models import DocumentBundle, Invoice, SendLog
from o2c.core import roles
from tests.core.factories import user_in
from tests.invoicing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing(client):
    client.force_login(user_in(roles.BILLING_CLERK))
    return client


def make_invoices(n, customer=None):
    customer = customer or f.customer()
    return [f.shipped_invoice(customer, [(f.product("10.00"), 1), (f.product("5.00", "0.0600"), 2)]) for _ in range(n)]


def queries(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(captured)


def test_list_filters_and_constant_queries(billing):
    f.company()
    make_invoices(2)
    small = queries(billing, reverse("invoicing:list"))
    make_invoices(6, f.customer())
    assert queries(billing, reverse("invoicing:list")) == small
    page = billing.get(reverse("invoicing:list"), {"status": "issued", "customer": "nobody"})
    assert b"No invoice matches these filters" in page.content
    fragment = billing.get(reverse("invoicing:list"), {"kind": "invoice"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content and fragment.content.count(b'name="ids"') == 8


def test_ready_to_bill_lists_drafts_and_unbilled_shipments_with_constant_queries(billing):
    f.company()
    invoice = make_invoices(1)[0]
    services.propose_credit_note(invoice=invoice, lines=[(invoice.lines.first(), Decimal("1"))], reason="Short")
    weekly = f.customer(rule="weekly")
    assert f.shipped_invoice(weekly, [(f.product("3.00"), 1)]) is None
    small = queries(billing, reverse("invoicing:ready"))
    for _ in range(3):
        services.propose_credit_note(invoice=invoice, lines=[(invoice.lines.first(), Decimal("1"))], reason="Short")
        f.shipped_invoice(weekly, [(f.product("3.00"), 1)])
    assert queries(billing, reverse("invoicing:ready")) == small
    page = billing.get(reverse("invoicing:ready")).content.decode()
    assert page.count("credits " + invoice.number) == 4 and "Consolidated weekly" in page


def test_invoice_page_shows_documents_send_log_and_credit_notes_with_constant_queries(billing):
    f.company()
    invoice = make_invoices(1)[0]
    services.render_documents(invoice_id=invoice.pk)
    url = reverse("desk:invoice_detail", args=[invoice.pk])
    small = queries(billing, url)
    for amount in ("1.00", "2.00", "3.00"):
        response = billing.post(
            reverse("desk:credit_note_new", args=[invoice.pk]), {"amount": amount, "reason": f"Goodwill {amount}"}
        )
        assert response.status_code == 302
    services.queue_sending(invoice=invoice)
    assert queries(billing, url) == small
    page = billing.get(url).content.decode()
    assert reverse("invoicing:document", args=[invoice.pk, "ubl"]) in page
    assert reverse("invoicing:document", args=[invoice.pk, "facturx"]) in page
    assert page.count("CN-") >= 3 and "Goodwill 3.00" in page and 'id="send-log"' in page
    ubl = billing.get(reverse("invoicing:document", args=[invoice.pk, "ubl"]))
    assert ubl["Content-Type"] == "application/xml" and invoice.number.encode() in b"".join(ubl.streaming_content)


def test_credit_note_form_says_what_is_wrong_and_saves_nothing(billing):
    f.company()
    invoice = make_invoices(1)[0]
    url = reverse("desk:credit_note_new", args=[invoice.pk])
    response = billing.post(url, {"reason": "No amount"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Give an amount" in response.content and b"<html" not in response.content
    too_much = billing.post(url, {"amount": "999.00", "reason": "Too much"})
    assert too_much.status_code == 422 and b"more than the invoice total" in too_much.content
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()
    full = billing.post(url, {"full": "on", "reason": "Order cancelled"})
    assert full.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.credit_notes.get().total == invoice.total


def test_only_billing_clerks_issue_credit_and_send(client):
    f.company()
    invoice = make_invoices(1)[0]
    client.force_login(user_in(roles.AR_CLERK))
    assert (
        client.post(reverse("desk:credit_note_new", args=[invoice.pk]), {"full": "on", "reason": "x"}).status_code
        == 403
    )
    assert client.post(reverse("desk:resend_invoice", args=[invoice.pk])).status_code == 403
    response = client.post(reverse("desk:invoice_bulk"), {"ids": [invoice.pk], "action": "send"})
    assert response.status_code == 302 and not SendLog.objects.filter(requested_by__username="ar_clerk").exists()


def test_bulk_issue_send_and_zip_with_progress(billing):
    f.company()
    invoices = make_invoices(2)
    note = services.propose_credit_note(
        invoice=invoices[0], lines=[(invoices[0].lines.first(), Decimal("1"))], reason="x"
    )
    response = billing.post(
        reverse("desk:invoice_bulk"), {"ids": [note.pk], "action": "issue", "next": "/invoices/ready/"}
    )
    assert response.status_code == 302 and response["Location"] == "/invoices/ready/"
    note.refresh_from_db()
    assert note.number.startswith("CN-")
    billing.post(reverse("desk:invoice_bulk"), {"ids": [i.pk for i in invoices], "action": "send"})
    assert SendLog.objects.filter(requested_by__username="billing_clerk", invoice__in=invoices).count() == 2

    response = billing.post(reverse("desk:invoice_bulk"), {"ids": [i.pk for i in invoices], "action": "zip"})
    bundle = DocumentBundle.objects.get()
    assert response["Location"] == reverse("invoicing:bundle", args=[bundle.pk])
    progress = billing.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in progress and "0 of 2" in progress
    services.build_bundle(bundle_id=bundle.pk)  # what the worker runs
    done = billing.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "2 of 2" in done and "every 1s" not in done and 'id="bundle-link"' in done
    download = billing.get(reverse("invoicing:bundle_download", args=[bundle.pk]))
    names = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()
    assert sorted(names) == sorted(f"{i.number}.pdf" for i in invoices)
    assert billing.post(reverse("desk:invoice_bulk"), {"action": "zip"}).status_code == 302  # nothing ticked
