"""Staff dispute pages: list (filters, empty states, constant queries), detail, opening from the
invoice page, replies, assignment, review, resolution through the flow, attachments."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing.models import Invoice
from o2c import flow
from receivables import disputes
from receivables.models import Dispute
from receivables.selectors import ledger_integrity_problems
from tests.core.factories import AR, user_in
from tests.portal.factories import PDF_BYTES, invoice_for

from .dispute_helpers import PDF, png_bytes, upload, world

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def w(staff, client):
    data = world(staff)
    client.force_login(data["ar"])
    return data


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_list_says_what_to_do_when_empty(client, w):
    html = client.get("/receivables/disputes/").content.decode()
    assert "No disputes" in html and "Dispute this invoice" in html
    html = client.get("/receivables/disputes/?status=resolved").content.decode()
    assert "No dispute matches these filters" in html


def test_the_list_filters_and_its_query_count_does_not_grow(client, w):
    carla = user_in(AR, username="carla")
    first = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["ar"], owner=carla)
    small = queries(client, "/receivables/disputes/")
    for _ in range(4):
        invoice = invoice_for(w["clerk"], w["warehouse"], w["customer"])
        flow.open_dispute(invoice=invoice, reason="damaged", by=w["ar"], uploads=[upload("a.pdf", PDF)])
    assert queries(client, "/receivables/disputes/") == small
    html = client.get("/receivables/disputes/?reason=price").content.decode()
    assert f'id="dispute-{first.pk}"' in html and html.count('<tr id="dispute-') == 1
    html = client.get(f"/receivables/disputes/?owner={carla.pk}").content.decode()
    assert html.count('<tr id="dispute-') == 1
    html = client.get("/receivables/disputes/?owner=none").content.decode()
    assert html.count('<tr id="dispute-') == 4
    Dispute.objects.filter(pk=first.pk).update(due_date="2020-01-01")
    html = client.get("/receivables/disputes/?overdue=1").content.decode()
    assert html.count('<tr id="dispute-') == 1 and "overdue" in html
    response = client.get("/receivables/disputes/?status=open", headers={"HX-Request": "true"})
    assert "<html" not in response.content.decode() and response.content.decode().count('<tr id="dispute-') == 5


def test_the_invoice_page_leads_to_the_open_form_which_opens_a_dispute(client, w):
    invoice = w["invoice"]
    assert "Dispute this invoice" in client.get(f"/desk/invoices/{invoice.pk}/").content.decode()
    page = client.get(f"/desk/invoices/{invoice.pk}/dispute/").content.decode()
    assert "Open dispute" in page and 'name="line-' in page
    line = invoice.lines.get()
    response = client.post(
        f"/desk/invoices/{invoice.pk}/dispute/",
        {
            "reason": "damaged",
            "description": "Crate 2 arrived crushed",
            f"line-{line.pk}": "1",
            f"amount-{line.pk}": "30.00",
            "attachment": upload("crate.png", png_bytes()),
        },
    )
    dispute = Dispute.objects.get()
    assert response.status_code == 302 and response.url == f"/receivables/disputes/{dispute.pk}/"
    assert dispute.amount == D("30.00") and dispute.attachments.filter(source="upload").count() == 1
    again = client.get(f"/desk/invoices/{invoice.pk}/dispute/").content.decode()
    assert f"#{dispute.pk}" in again and "still open" in again


def test_a_bad_opening_shows_the_reason_at_the_field(client, w):
    invoice = w["invoice"]
    response = client.post(
        f"/desk/invoices/{invoice.pk}/dispute/",
        {"reason": "price", "amount": "10.00", "attachment": upload("x.pdf", b"plain text")},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "only PDF, PNG or JPEG" in html
    response = client.post(f"/desk/invoices/{invoice.pk}/dispute/", {"reason": "price", "amount": "500.00"})
    assert response.status_code == 422 and "at most the 121.00 EUR still open" in response.content.decode()
    assert not Dispute.objects.exists()


def test_detail_thread_reply_assign_review(client, w):
    customer_user = user_in("Customer", username="lupulus")
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["ar"], description="Too dear")
    disputes.add_message(dispute=dispute, body="Please look", by=customer_user, from_customer=True)
    url = f"/receivables/disputes/{dispute.pk}/"
    small = queries(client, url)
    for n in range(3):
        disputes.add_message(dispute=dispute, body=f"Reminder {n}", by=customer_user, from_customer=True)
    assert queries(client, url) == small
    html = client.get(url).content.decode()
    assert w["invoice"].number in html and "Please look" in html and "Invoice " in html and "Bill of lading" in html
    assert not dispute.messages.filter(from_customer=True, read_at__isnull=True).exists()  # AR has read them
    response = client.post(f"{url}reply/", {"body": "We check the price list", "attachment": upload("p.pdf", PDF)})
    assert response.status_code == 302
    assert dispute.messages.filter(from_customer=False).last().body == "We check the price list"
    response = client.post(f"{url}reply/", {"body": "", "attachment": upload("x.png", b"nope")})
    assert response.status_code == 422 and "only PDF, PNG or JPEG" in response.content.decode()
    assert client.post(f"{url}assign/", {"owner": w["ar"].pk, "due_date": "2031-02-01"}).status_code == 302
    assert client.post(f"{url}review/").status_code == 302
    dispute.refresh_from_db()
    assert (dispute.owner, str(dispute.due_date), dispute.status) == (w["ar"], "2031-02-01", "under_review")


def test_resolving_from_the_page_issues_the_credit_note(client, w):
    invoice = w["invoice"]
    dispute = flow.open_dispute(invoice=invoice, reason="price", amount=D("50.00"), by=w["ar"])
    response = client.post(f"/desk/disputes/{dispute.pk}/resolve/", {"outcome": "partial", "accepted_amount": "80"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "below the disputed 50.00 EUR" in html and "say why" in html
    response = client.post(
        f"/desk/disputes/{dispute.pk}/resolve/", {"outcome": "partial", "accepted_amount": "20", "note": "Half"}
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.amount_open == D("101.00")
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert note.total == D("20.00") and note.status == Invoice.Status.ISSUED
    html = client.get(f"/receivables/disputes/{dispute.pk}/").content.decode()
    assert note.number in html and "Resolve dispute" not in html
    assert ledger_integrity_problems() == []


def test_attachments_download_or_lead_to_their_document(client, w):
    invoice = w["invoice"]
    dispute = flow.open_dispute(invoice=invoice, reason="price", by=w["ar"], uploads=[upload("scan.pdf", PDF)])
    by_source = {a.source: a for a in dispute.attachments.all()}
    base = f"/receivables/disputes/{dispute.pk}/attachments/"
    response = client.get(f"{base}{by_source['upload'].pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    response = client.get(f"{base}{by_source['invoice'].pk}/")  # the stored invoice PDF
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF_BYTES
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    response = client.get(f"{base}{by_source['order'].pk}/")
    assert response.status_code == 302 and response.url == f"/desk/orders/{invoice.order_id}/"
    assert client.get(f"{base}{by_source['bol'].pk}/").status_code == 404  # the worker has not rendered it here
    other = flow.open_dispute(
        invoice=invoice_for(w["clerk"], w["warehouse"], w["customer"]), reason="price", by=w["ar"]
    )
    assert client.get(f"/receivables/disputes/{other.pk}/attachments/{by_source['upload'].pk}/").status_code == 404
