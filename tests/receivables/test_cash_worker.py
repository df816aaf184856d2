"""A real Celery worker imports an uploaded statement while the page polls its progress; the
nightly reconciliation re-matches open lines and records the ledger's differences."""

import datetime
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from invoicing.models import BankAccount
from o2c import flow, tasks
from o2c.bench.cashapp import camt053_document
from receivables.models import ReconciliationRun, StatementLine, StatementUpload
from tests.core.factories import AR
from tests.orders.factories import CustomerFactory
from tests.worker import celery_worker_process  # noqa: F401 - the fixture

from .factories import open_invoice

ON = datetime.date(2026, 11, 12)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_upload_runs_in_the_worker_and_the_page_shows_progress(celery_worker_process, client, staff):  # noqa: F811
    customer = CustomerFactory()
    invoices = [open_invoice(customer, f"{100 + n}.00") for n in range(30)]
    account = BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")
    data = camt053_document(
        iban=account.iban,
        currency="EUR",
        statement_id="UP-1",
        opening=Decimal("0"),
        on=ON,
        entries=[
            {"amount": invoice.total, "reference": f"U-{invoice.pk}", "remittance": invoice.number}
            for invoice in invoices
        ],
    )
    client.force_login(staff(AR))
    response = client.post(
        reverse("desk:statement_upload"),
        {"bank_account": account.pk, "file": SimpleUploadedFile("upload.xml", data, content_type="text/xml")},
    )
    upload = StatementUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "desk:statement_upload_status", args=[upload.pk]
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        upload.refresh_from_db()
        if upload.status in ("done", "failed"):
            break
        time.sleep(0.3)
    assert upload.status == "done", upload.message
    assert upload.message == "30 new lines: 30 matched, 0 suggested, 0 unmatched, 0 ignored."
    partial = client.get(reverse("desk:statement_upload_status", args=[upload.pk]), headers={"HX-Request": "true"})
    assert b'value="100"' in partial.content and b"hx-trigger" not in partial.content  # finished: polling stops


@pytest.mark.django_db
def test_nightly_reconciliation_matches_lines_that_new_invoices_explain():
    customer = CustomerFactory()
    account = BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")
    data = camt053_document(
        iban=account.iban,
        currency="EUR",
        statement_id="N-1",
        opening=Decimal("0"),
        on=ON,
        entries=[{"amount": Decimal("42.00"), "reference": "N-1", "remittance": "INV-2099-000777"}],
    )
    flow.import_statement(bank_account=account, data=data, file_name="n.xml")
    assert StatementLine.objects.get().status == "unmatched"
    open_invoice(customer, "42.00", number="INV-2099-000777")  # invoiced after the money came in
    assert tasks.nightly_cash_reconciliation() == 0
    run = ReconciliationRun.objects.get()
    assert run.lines_rematched == 1 and run.problems == []
    assert StatementLine.objects.get().status == "matched"
