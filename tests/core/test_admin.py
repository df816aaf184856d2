"""Django admin: every registered model's pages render for a superuser on the demo data,
list pages take a fixed number of queries however many rows they show, and issued
documents and ledgers cannot be written there."""

import io

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from credit.models import CreditDecision
from fulfillment import services as fulfillment
from fulfillment.models import Shipment, ShipmentDocument, StockMovement
from invoicing import services as invoicing
from invoicing.admin import InvoiceLineInline
from invoicing.models import Invoice, InvoiceDocument
from o2c.core.models import NumberSeries, TimelineEvent
from receivables.models import Allocation, JournalEntry, JournalLine
from reporting.models import ArSnapshot
from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

OUR_APPS = {"core", "orders", "credit", "fulfillment", "invoicing", "receivables", "reporting", "portal"}
MAX_CHANGELIST_QUERIES = 15  # a list page shows up to 100 rows: an N+1 would blow far past this


@pytest.fixture
def superuser_client(client):
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    # Rows the demo does not make itself: a stored PDF (rendered by the worker) and a nightly snapshot.
    invoice = Invoice.objects.exclude(status=Invoice.Status.DRAFT).first()
    invoicing.store_document(
        invoice_id=invoice.pk, kind=InvoiceDocument.Kind.PDF, content=b"%PDF-1.4 demo", filename="demo.pdf"
    )
    shipment = Shipment.objects.first()
    fulfillment.store_document(
        shipment_id=shipment.pk, kind=ShipmentDocument.Kind.PICK_LIST, content=b"%PDF-1.4 demo", filename="demo.pdf"
    )
    ArSnapshot.objects.create(taken_on=timezone.localdate(), open_total=1, overdue_total=0, open_invoices=1)
    user = get_user_model().objects.get(username="admin")
    login_verified(client, user)
    client.user = user
    return client


@pytest.mark.slow  # loads the demo data (seed_demo) first
def test_every_admin_page_renders_and_list_pages_take_few_queries(superuser_client, rf):
    client = superuser_client
    request = rf.get("/admin/")
    request.user = client.user
    problems = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        if response.status_code != 200:
            problems.append(f"{url}: {response.status_code}")
        elif opts.app_label in OUR_APPS and len(queries) > MAX_CHANGELIST_QUERIES:
            problems.append(f"{url}: {len(queries)} queries")

        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        expected = 200 if model_admin.has_add_permission(request) else 403
        if (status := client.get(url).status_code) != expected:
            problems.append(f"{url}: {status}, expected {expected}")

        obj = model_admin.get_queryset(request).first()
        if obj is not None:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            if (status := client.get(url).status_code) != 200:
                problems.append(f"{url}: {status}")
        elif opts.app_label in OUR_APPS:
            problems.append(f"{opts.label}: no row to open a change page for")
    assert problems == []


def test_issued_invoices_are_read_only_and_drafts_are_not(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[Invoice]
    issued = Invoice(status=Invoice.Status.ISSUED, number="INV-2026-000001")
    draft = Invoice(status=Invoice.Status.DRAFT)

    assert set(model_admin.get_readonly_fields(request, issued)) == {f.name for f in Invoice._meta.fields}
    assert not model_admin.has_delete_permission(request, issued)
    assert "bill_to" not in model_admin.get_readonly_fields(request, draft)
    assert model_admin.has_delete_permission(request, draft)

    lines = InvoiceLineInline(Invoice, admin.site)
    assert not any(
        check(request, issued)
        for check in (lines.has_add_permission, lines.has_change_permission, lines.has_delete_permission)
    )
    assert lines.has_change_permission(request, draft)


@pytest.mark.parametrize(
    "model", [JournalEntry, JournalLine, TimelineEvent, StockMovement, CreditDecision, Allocation, NumberSeries]
)
def test_ledgers_and_decisions_cannot_be_written_in_admin(rf, admin_user, model):
    request = rf.get("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_site_header():
    assert admin.site.site_header == "O2C suite administration"
