"""A worker SIGKILLed in the middle of rendering: the task comes back (acks_late, the
message stays unacknowledged in Redis) and the documents are stored exactly once."""

import subprocess
import time

import pytest

from invoicing.models import BillingProfile, InvoiceDocument
from o2c.core.models import TimelineEvent
from tests.invoicing import factories as f
from tests.worker import celery_worker_control  # noqa: F401 - the fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} not seen after {seconds} s")


def test_killed_worker_mid_render_still_gives_one_pdf(celery_worker_control):  # noqa: F811
    f.company()
    customer = f.customer()
    BillingProfile.objects.update_or_create(customer=customer, defaults={"send_email": False})  # only rendering
    slow = celery_worker_control.start(O2C_RENDER_DELAY_SECONDS="30")

    invoice = f.shipped_invoice(customer, [(f.product("149.00", name="Steel shelf"), 2)])  # commits; task queued

    wait_for(lambda: "render_invoice_pdf" in celery_worker_control.log(), 30, "the render task starting")
    time.sleep(2)  # inside the (slowed) render: nothing stored yet
    assert not InvoiceDocument.objects.filter(invoice=invoice).exists()
    celery_worker_control.kill()
    assert slow.returncode == -9

    celery_worker_control.start()  # a new worker; the unacked message is back after the visibility timeout
    wait_for(
        lambda: InvoiceDocument.objects.filter(invoice=invoice).count() == len(InvoiceDocument.Kind.values),
        90,
        "every document stored",
    )
    time.sleep(2)  # a duplicate delivery would show up here
    kinds = list(InvoiceDocument.objects.filter(invoice=invoice).values_list("kind", flat=True).order_by("kind"))
    assert kinds == ["facturx", "pdf", "ubl"]
    assert TimelineEvent.objects.filter(verb="documents_rendered", object_id=invoice.pk).count() == 1
    pdf = InvoiceDocument.objects.get(invoice=invoice, kind="pdf")
    text = subprocess.run(["pdftotext", pdf.file.path, "-"], capture_output=True, check=True).stdout.decode()
    assert invoice.number in text and "360.58 EUR" in text
    assert celery_worker_control.log().count("render_invoice_pdf") >= 2  # received twice: killed, then redone
