"""Disputes in the portal: raising one (whole or lines, with a checked file), the right it
needs, the thread in both directions, unread messages on home, and constant query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from o2c import flow
from o2c.core.models import TimelineEvent
from receivables import disputes
from receivables.models import Dispute
from tests.core.factories import AR, CLERK, WAREHOUSE
from tests.orders.factories import CustomerFactory
from tests.receivables.dispute_helpers import PDF, png_bytes, upload

from .factories import invoice_for, portal_user, widget

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def w(staff, client):
    clerk, warehouse, ar = staff(CLERK), staff(WAREHOUSE), staff(AR)
    widget()
    customer = CustomerFactory(name="Brasserie Lupulus BV")
    user = portal_user(customer, "lupulus")
    client.force_login(user)
    invoice = invoice_for(clerk, warehouse, customer, quantity="2")  # 242.00
    return {"clerk": clerk, "warehouse": warehouse, "ar": ar, "customer": customer, "user": user, "invoice": invoice}


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_raising_a_dispute_on_a_line_with_a_photo(client, w, mailoutbox, django_capture_on_commit_callbacks):
    invoice = w["invoice"]
    page = client.get(f"/portal/invoices/{invoice.pk}/").content.decode()
    assert "Raise a dispute" in page
    line = invoice.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/portal/invoices/{invoice.pk}/dispute/",
            {
                "reason": "damaged",
                "description": "One crate broken",
                f"line-{line.pk}": "1",
                f"quantity-{line.pk}": "1",
                "attachment": upload("crate.png", png_bytes()),
                "customer": 999,  # ignored: the customer comes from the login
            },
        )
    dispute = Dispute.objects.get()
    assert response.status_code == 302 and response.url == f"/portal/disputes/{dispute.pk}/"
    assert (dispute.amount, dispute.opened_in_portal, dispute.opened_by, dispute.customer) == (
        D("121.00"),
        True,
        w["user"],
        w["customer"],
    )
    assert dispute.attachments.filter(source="upload", uploaded_by=w["user"]).count() == 1
    event = TimelineEvent.objects.get(verb="dispute_opened")
    assert event.actor == w["user"] and "in the customer portal" in event.summary  # the audit trail
    assert mailoutbox and "One crate broken" in mailoutbox[-1].body  # AR is told
    html = client.get(f"/portal/disputes/{dispute.pk}/").content.decode()
    assert "One crate broken" in html and "crate.png" in html and "Bill of lading" in html
    assert f"#{dispute.pk}" in client.get("/portal/disputes/").content.decode()


def test_a_bad_file_or_amount_is_refused_with_the_reason(client, w):
    invoice = w["invoice"]
    url = f"/portal/invoices/{invoice.pk}/dispute/"
    response = client.post(url, {"reason": "price", "attachment": upload("invoice.pdf", b"MZ\x90\x00 not a pdf")})
    assert response.status_code == 422 and "only PDF, PNG or JPEG" in response.content.decode()
    response = client.post(url, {"reason": "price", "amount": "300"})
    assert response.status_code == 422 and "at most the 242.00 EUR still open" in response.content.decode()
    assert not Dispute.objects.exists()


def test_without_the_dispute_right_one_can_read_but_not_raise_or_write(client, w):
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["ar"])
    reader = portal_user(w["customer"], "reader", can_manage_users=False)
    reader.portal_access.can_dispute = False
    reader.portal_access.save()
    client.force_login(reader)
    assert "Raise a dispute" not in client.get(f"/portal/invoices/{w['invoice'].pk}/").content.decode()
    assert client.get(f"/portal/invoices/{w['invoice'].pk}/dispute/").status_code == 403
    page = client.get(f"/portal/disputes/{dispute.pk}/")
    assert page.status_code == 200 and "Send message" not in page.content.decode()
    assert client.post(f"/portal/disputes/{dispute.pk}/", {"body": "hello"}).status_code == 403
    assert dispute.messages.count() == 0


def test_the_thread_both_ways_and_unread_messages_on_home(client, w):
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["user"], in_portal=True)
    assert "No unread messages" in client.get("/portal/").content.decode()
    disputes.add_message(dispute=dispute, body="Which price did you expect?", by=w["ar"])
    disputes.add_message(dispute=dispute, body="Please send the quote.", by=w["ar"])
    home = client.get("/portal/").content.decode()
    assert "2 unread messages" in home
    assert "2 new" in client.get("/portal/disputes/").content.decode()
    html = client.get(f"/portal/disputes/{dispute.pk}/").content.decode()
    assert "Which price did you expect?" in html and "Our accounts team" in html
    assert "No unread messages" in client.get("/portal/").content.decode()
    response = client.post(
        f"/portal/disputes/{dispute.pk}/", {"body": "Quote attached", "attachment": upload("q.pdf", PDF)}
    )
    assert response.status_code == 302
    reply = dispute.messages.get(from_customer=True)
    assert reply.author == w["user"] and reply.body == "Quote attached"
    assert dispute.attachments.get(message=reply).name == "q.pdf"
    attachment = dispute.attachments.get(message=reply)
    response = client.get(f"/portal/disputes/{dispute.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    order_link = dispute.attachments.get(source="order")
    response = client.get(f"/portal/disputes/{dispute.pk}/attachments/{order_link.pk}/")
    assert response.url == f"/portal/orders/{w['invoice'].order_id}/"


def test_a_resolved_dispute_shows_its_credit_note_and_takes_no_more_messages(client, w):
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", amount=D("42.00"), by=w["user"], in_portal=True)
    flow.resolve_dispute(dispute=dispute, outcome="credit_note", by=w["ar"])
    dispute.refresh_from_db()
    html = client.get(f"/portal/disputes/{dispute.pk}/").content.decode()
    assert dispute.credit_note.number in html and "Send message" not in html and "is resolved" in html
    response = client.post(f"/portal/disputes/{dispute.pk}/", {"body": "thanks"})
    assert response.status_code == 422 and "raise a new one" in response.content.decode()


def test_dispute_pages_keep_their_query_count(client, w):
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["user"], in_portal=True)
    disputes.add_message(dispute=dispute, body="A", by=w["ar"])
    list_small, detail_small = count_queries(client, "/portal/disputes/"), None
    detail_small = count_queries(client, f"/portal/disputes/{dispute.pk}/")
    for _ in range(3):
        other = invoice_for(w["clerk"], w["warehouse"], w["customer"])
        flow.open_dispute(invoice=other, reason="damaged", by=w["user"], in_portal=True, uploads=[upload("a.pdf", PDF)])
        disputes.add_message(dispute=dispute, body="more", by=w["ar"])
    assert count_queries(client, "/portal/disputes/") == list_small
    assert count_queries(client, f"/portal/disputes/{dispute.pk}/") == detail_small
