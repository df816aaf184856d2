"""Dunning pages: runs, a run's preview with its letters and skips, approve/discard for the
finance manager only, the letter PDF, the agency list, reminders, the invoice history partial.
Query counts stay the same with more letters."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoicing.models import Invoice
from o2c.core import roles
from receivables import dunning, reminders
from receivables.models import Dispute, DunningLetter, DunningRun
from tests.invoicing import factories as f
from tests.orders.factories import CustomerFactory
from tests.receivables.factories import open_invoice

pytestmark = pytest.mark.django_db
ON = datetime.date(2026, 3, 1)


def overdue(customer, total, days):
    return open_invoice(customer, total, issue_date=ON - datetime.timedelta(days=days + 30))


def preview(customers: int) -> DunningRun:
    for _n in range(customers):
        customer = CustomerFactory()
        overdue(customer, "100.00", 10)
        overdue(customer, "250.00", 25)
    disputed = overdue(CustomerFactory(), "80.00", 10)
    Dispute.objects.create(invoice=disputed, customer=disputed.customer, reason="price", amount=Decimal("80"))
    return dunning.plan_run(on=ON)


@pytest.fixture
def finance(staff, client):
    client.force_login(staff(roles.FINANCE_MANAGER))


@pytest.fixture
def ar(staff, client):
    client.force_login(staff(roles.AR_CLERK))


def test_run_preview_lists_letters_items_and_skips_with_buttons_for_the_manager(client, finance):
    run = preview(2)
    response = client.get(reverse("receivables:dunning_run", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Approve and send 2 letters" in html and "Discard" in html
    for item in dunning.counted_items().filter(letter__run=run).select_related("invoice"):
        assert item.invoice.number in html
    assert "Disputed: 1" in html
    assert "Second reminder" in html  # the letter level of items 25 days overdue


def test_the_ar_clerk_sees_the_preview_but_cannot_approve(client, ar):
    run = preview(1)
    html = client.get(reverse("receivables:dunning_run", args=[run.pk])).content.decode()
    assert "Approve and send" not in html
    assert client.post(reverse("desk:dunning_approve", args=[run.pk])).status_code == 403
    run.refresh_from_db()
    assert run.status == DunningRun.Status.PREVIEW


def test_approve_queues_the_letters_and_a_second_approval_is_refused(
    client, finance, django_capture_on_commit_callbacks
):
    run = preview(2)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("desk:dunning_approve", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == DunningRun.Status.APPROVED and run.approved_at
    assert len(callbacks) == 2
    response = client.post(reverse("desk:dunning_approve", args=[run.pk]), follow=True)
    assert "only a preview is approved" in response.content.decode()


def test_discard_cancels_the_letters(client, finance):
    run = preview(1)
    client.post(reverse("desk:dunning_discard", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == DunningRun.Status.DISCARDED
    assert set(DunningLetter.objects.filter(run=run).values_list("status", flat=True)) == {"cancelled"}


def test_run_page_query_count_does_not_grow_with_letters(client, finance):
    counts = []
    for size in (1, 6):
        run = preview(size)
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("receivables:dunning_run", args=[run.pk])).status_code == 200
        counts.append(len(context))
        DunningRun.objects.filter(pk=run.pk).update(status="discarded")
        DunningLetter.objects.filter(run=run).update(status="cancelled")
    assert counts[0] == counts[1], counts


def test_runs_list_agency_and_reminders_pages(client, finance):
    assert "No dunning run yet" in client.get(reverse("receivables:dunning_runs")).content.decode()
    assert "Nothing to hand over" in client.get(reverse("receivables:dunning_agency")).content.decode()
    assert "No reminder sent yet" in client.get(reverse("receivables:reminders")).content.decode()
    run = preview(1)
    late = overdue(CustomerFactory(), "500.00", 80)  # level 4 hands over to the agency
    dunning.discard_run(run=run)
    dunning.plan_run(on=ON)
    assert ON.isoformat() in client.get(reverse("receivables:dunning_runs")).content.decode()
    assert late.number in client.get(reverse("receivables:dunning_agency")).content.decode()
    due_soon = open_invoice(CustomerFactory(), "90.00", issue_date=ON - datetime.timedelta(days=23))
    reminders.plan(on=ON)
    assert due_soon.number in client.get(reverse("receivables:reminders")).content.decode()


def test_letter_pdf_of_a_preview_is_rendered_on_demand(client, finance):
    f.company()
    run = preview(1)
    letter = DunningLetter.objects.get(run=run)
    response = client.get(reverse("receivables:dunning_letter_pdf", args=[letter.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_history_partial_lists_every_level_of_an_invoice():
    customer = CustomerFactory()
    invoice = overdue(customer, "100.00", 30)
    dunning.plan_run(on=ON - datetime.timedelta(days=15))  # 15 days: level 1
    dunning.plan_run(on=ON)  # 30 days: level 2
    invoice = Invoice.objects.prefetch_related("dunning_items__level", "dunning_items__letter__run").get(pk=invoice.pk)
    html = render_to_string("receivables/_dunning_history.html", {"invoice": invoice})
    assert "1: Friendly reminder" in html and "2: Second reminder" in html
    html = render_to_string("receivables/_dunning_history.html", {"invoice": overdue(customer, "5.00", 1)})
    assert "Never dunned" in html


def test_invoice_page_shows_its_dunning_history(client, ar):
    invoice = overdue(CustomerFactory(), "100.00", 30)
    dunning.plan_run(on=ON)
    html = client.get(reverse("desk:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Dunning history" in html and "2: Second reminder" in html
