"""Gapless numbers per series and year under real parallel PostgreSQL connections, and issued
documents that nothing can change: not the ORM, not the admin, not raw SQL."""

import datetime
import queue
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from invoicing import services
from invoicing.models import Invoice, InvoiceTaxLine
from tests.conftest import login_verified
from tests.invoicing import factories as f
from tests.invoicing.factories import draft_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (parallel connections, the trigger)")


def test_fifty_invoices_from_eight_connections_get_fifty_consecutive_numbers():
    f.company()
    customer = f.customer()
    drafts = [draft_for(customer, f"{10 + i}.00") for i in range(50)]
    work = queue.Queue()
    for draft in drafts:
        work.put(draft.pk)
    barrier = threading.Barrier(8)
    errors = []

    def issuer():
        try:
            barrier.wait()
            while True:
                try:
                    pk = work.get_nowait()
                except queue.Empty:
                    return
                services.issue_invoice(invoice=Invoice(pk=pk), on=datetime.date(2026, 11, 23))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issuer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 51)]
    # chronological: number order is issue order
    by_number = list(Invoice.objects.order_by("number").values_list("issued_at", flat=True))
    assert by_number == sorted(by_number)


def test_series_per_document_type_and_year():
    f.company()
    customer = f.customer()
    first = services.issue_invoice(invoice=draft_for(customer), on=datetime.date(2026, 12, 31))
    second = services.issue_invoice(invoice=draft_for(customer), on=datetime.date(2027, 1, 1))
    note = services.propose_credit_note(invoice=first, lines=[(first.lines.get(), Decimal("1"))], reason="Wrong rate")
    assert note.number is None  # drafts have no number
    note = services.issue_invoice(invoice=note, on=datetime.date(2027, 1, 2))
    assert (first.number, second.number, note.number) == ("INV-2026-000001", "INV-2027-000001", "CN-2027-000001")
    assert first.rf_reference == "RF94INV2026000001"


@pytest.fixture
def issued(db):
    f.company()
    return services.issue_invoice(invoice=draft_for(f.customer(), "100.00"), on=datetime.date(2026, 11, 23))


def test_orm_update_of_an_issued_invoice_is_refused(issued):
    with pytest.raises(IntegrityError, match="is issued and cannot be changed"), transaction.atomic():
        Invoice.objects.filter(pk=issued.pk).update(total=Decimal("1.00"), net_amount=Decimal("1.00"), tax_amount=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=issued.pk).update(seller={"name": "Someone else"})
    with pytest.raises(ValidationError, match="is issued and cannot be changed"):
        issued.customer_po = "changed"
        issued.save()
    with pytest.raises(IntegrityError, match="cannot be (deleted|added, changed or deleted)"), transaction.atomic():
        Invoice.objects.filter(pk=issued.pk).delete()
    issued.refresh_from_db()
    assert issued.total == Decimal("121.00") and issued.customer_po == ""


def test_raw_sql_update_of_an_issued_invoice_or_its_breakdown_is_refused(issued):
    for statement in (
        "UPDATE invoicing_invoice SET due_date = due_date + 30 WHERE id = %s",
        "UPDATE invoicing_invoice SET rf_reference = 'RF00X' WHERE id = %s",
        "UPDATE invoicing_invoiceline SET unit_price = 1 WHERE invoice_id = %s",
        "UPDATE invoicing_invoicetaxline SET tax_amount = 0 WHERE invoice_id = %s",
        "DELETE FROM invoicing_invoicetaxline WHERE invoice_id = %s",
    ):
        with pytest.raises(IntegrityError, match="issued"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [issued.pk])
    assert InvoiceTaxLine.objects.get(invoice=issued).tax_amount == Decimal("21.00")


def test_what_payments_change_is_still_allowed(issued):
    services.reduce_open_amount(invoice_id=issued.pk, amount=Decimal("121.00"))
    issued.refresh_from_db()
    assert (issued.status, issued.amount_open) == (Invoice.Status.PAID, Decimal("0.00"))


def test_admin_cannot_change_an_issued_invoice(issued, client):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", "root@example.com", "x")
    login_verified(client, admin)
    url = f"/admin/invoicing/invoice/{issued.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and b'name="customer_po"' not in page.content  # every field read-only
    client.post(url, {"customer_po": "HACKED", "bill_to": "x", "payment_terms": "x", "currency": "USD"})
    issued.refresh_from_db()
    assert (issued.customer_po, issued.currency) == ("", "EUR")
    assert client.post(f"/admin/invoicing/invoice/{issued.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=issued.pk).exists()
