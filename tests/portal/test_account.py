"""Account page: details shown, change requests to staff (with a checked upload), invoice
delivery preference (audited), and the staff list that handles the requests."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from o2c.core.models import AuditEvent, TimelineEvent
from portal.models import ChangeRequest, InvoiceDeliveryPreference
from tests.core.factories import CLERK, WAREHOUSE, user_in
from tests.orders.factories import CustomerFactory

from .factories import portal_user

pytestmark = pytest.mark.django_db
ACCOUNT = reverse("portal:account")
REQUESTS = reverse("portal_staff:change_requests")


@pytest.fixture
def acme():
    return CustomerFactory(name="Acme Tools NV", address_line="Rue Neuve 10", city="Brussels")


@pytest.fixture
def user(client, acme):
    user = portal_user(acme, "acme", can_manage_users=False)
    client.force_login(user)
    return user


def change(client, details="Our new address is Acme Street 1, 2000 Antwerp", attachment=None):
    data = {"form": "change", "change-kind": "address", "change-details": details}
    if attachment is not None:
        data["change-attachment"] = attachment
    return client.post(ACCOUNT, data)


def test_shows_the_details_we_hold(client, user, acme):
    html = client.get(ACCOUNT).content.decode()
    assert "Acme Tools NV" in html and "Rue Neuve 10" in html and acme.email in html
    assert "Your rights: view, order, pay, dispute." in html


def test_a_change_request_goes_to_staff_and_changes_nothing_itself(client, user, acme):
    letter = SimpleUploadedFile("letter.pdf", b"%PDF-1.4 a letter", content_type="application/pdf")
    assert change(client, attachment=letter).status_code == 302
    request = ChangeRequest.objects.get()
    assert (request.customer, request.kind, request.status, request.requested_by) == (acme, "address", "open", user)
    assert request.attachment.read().startswith(b"%PDF")
    acme.refresh_from_db()
    assert acme.address_line == "Rue Neuve 10"
    assert TimelineEvent.objects.filter(trail=f"customer:{acme.pk}", verb="requested").exists()

    clerk = user_in(CLERK, "clerk")
    client.force_login(clerk)
    html = client.get(REQUESTS).content.decode()
    assert "Acme Street 1" in html and "Acme Tools NV" in html
    assert client.get(reverse("portal_staff:attachment", args=[request.pk])).status_code == 200
    client.post(reverse("portal_staff:handle_change_request", args=[request.pk]), {"status": "done", "note": "Updated"})
    request.refresh_from_db()
    assert request.status == "done" and request.handled_by == clerk and request.staff_note == "Updated"

    client.force_login(user)
    assert "Updated" in client.get(ACCOUNT).content.decode()


@pytest.mark.parametrize(
    "upload, reason",
    [
        (
            SimpleUploadedFile("run.exe", b"MZ\x90\x00 not a document", content_type="application/pdf"),
            "Only PDF, PNG, JPEG",
        ),
        (
            SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), content_type="application/pdf"),
            "at most 5 MB",
        ),
    ],
)
def test_uploads_are_limited_by_type_and_size(client, user, upload, reason):
    response = change(client, attachment=upload)
    assert response.status_code == 422 and reason in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_an_empty_request_is_named(client, user):
    response = change(client, details="  ")
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_delivery_preference_is_saved_and_audited(client, user, acme):
    response = client.post(ACCOUNT, {"form": "delivery", "delivery-channel": "e_invoice", "delivery-peppol_id": ""})
    assert response.status_code == 422 and "Peppol participant id" in response.content.decode()
    assert not InvoiceDeliveryPreference.objects.exists()

    client.post(ACCOUNT, {"form": "delivery", "delivery-channel": "e_invoice", "delivery-peppol_id": "0208:0403170701"})
    preference = InvoiceDeliveryPreference.objects.get(customer=acme)
    assert (preference.channel, preference.peppol_id, preference.updated_by) == ("e_invoice", "0208:0403170701", user)
    event = AuditEvent.objects.get(model="portal.InvoiceDeliveryPreference", action="created")
    assert event.actor == user and event.changes["channel"] == [None, "e_invoice"]


def test_staff_without_the_permission_cannot_see_requests(client):
    client.force_login(user_in(WAREHOUSE, "warehouse"))
    assert client.get(REQUESTS).status_code == 403
    assert client.get(reverse("portal_staff:invite")).status_code == 403
