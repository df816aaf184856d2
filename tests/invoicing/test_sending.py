"""Sending through a real SMTP server started by the test (aiosmtpd), read back with its
attachments; bounces flagged; export files; portal only; resend; the send log."""

import email
import re
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller

from invoicing import services
from invoicing.models import BillingProfile, InvoiceDocument, SendLog
from o2c import flow
from portal.links import invoice_from_token
from tests.invoicing import factories as f
from tests.worker import celery_worker_control  # noqa: F401 - the fixture


class Mailbox:
    """An SMTP server's handler: keeps what it accepts, refuses mailboxes named 'bounce'."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address.startswith("bounce"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    try:
        yield mailbox, port
    finally:
        controller.stop()


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_emails_pdf_and_ubl_after_commit(smtp_server, celery_worker_control):  # noqa: F811
    mailbox, port = smtp_server
    f.company()
    customer = f.customer(email="ap@buyer.example", attach_pdf=True, attach_xml=True)
    celery_worker_control.start(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port)
    )
    invoice = f.shipped_invoice(customer, [(f.product("149.00", name="Steel shelf"), 2)])  # commits: tasks queued
    deadline = time.monotonic() + 90
    while not mailbox.messages and time.monotonic() < deadline:
        time.sleep(0.25)
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert (
        message["To"] == "ap@buyer.example"
        and message["Subject"] == f"Invoice {invoice.number} from Northwind Supplies NV"
    )
    body = message.get_body(("plain",)).get_content()
    assert invoice.rf_reference in body
    pay_url = re.search(r"Pay online: (\S+)", body).group(1)  # the signed link opens this invoice's pay page
    assert invoice_from_token(pay_url.rstrip("/").rsplit("/", 1)[-1]) == invoice
    files = attachments(message)
    assert set(files) == {f"{invoice.number}.pdf", f"{invoice.number}.xml"}
    assert files[f"{invoice.number}.pdf"].startswith(b"%PDF")
    assert f"<cbc:ID>{invoice.number}</cbc:ID>".encode() in files[f"{invoice.number}.xml"]
    deadline = time.monotonic() + 10
    while SendLog.objects.get(invoice=invoice).result == SendLog.Result.QUEUED and time.monotonic() < deadline:
        time.sleep(0.2)
    log = SendLog.objects.get(invoice=invoice)
    assert (log.channel, log.recipient, log.result) == ("email", "ap@buyer.example", "sent")
    assert log.documents == f"{invoice.number}.pdf, {invoice.number}.xml" and log.sent_at


@pytest.mark.django_db
def test_refused_address_is_flagged_bounced_and_resend_waits_for_a_fix(smtp_server):
    mailbox, _ = smtp_server
    f.company()
    customer = f.customer(email="bounce@buyer.example")
    invoice = f.shipped_invoice(customer, [(f.product("10.00"), 1)])
    (log,) = SendLog.objects.filter(invoice=invoice)
    log = services.deliver(send_log_id=log.pk)
    assert log.result == SendLog.Result.BOUNCED and "550" in log.detail
    profile = BillingProfile.objects.get(customer=customer)
    assert profile.email_bounced and "No such mailbox" in profile.bounce_reason
    assert mailbox.messages == []

    (again,) = flow.resend(invoice=invoice, by=None)
    again = services.deliver(send_log_id=again.pk)
    assert again.result == SendLog.Result.FAILED and "bounced before" in again.detail

    BillingProfile.objects.filter(pk=profile.pk).update(email="ap@buyer.example", email_bounced=False)
    (fixed,) = flow.resend(invoice=invoice, by=None)
    assert services.deliver(send_log_id=fixed.pk).result == SendLog.Result.SENT
    assert services.deliver(send_log_id=fixed.pk).result == SendLog.Result.SENT  # a repeat sends nothing more
    assert len(mailbox.messages) == 1 and set(attachments(mailbox.messages[0])) == {f"{invoice.number}.pdf"}
    assert SendLog.objects.filter(invoice=invoice).count() == 3


@pytest.mark.django_db
def test_export_file_and_portal_only(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    f.company()
    exporter = f.customer(send_email=False, export_einvoice=True, einvoice_format="facturx")
    invoice = f.shipped_invoice(exporter, [(f.product("10.00"), 1)])
    (log,) = SendLog.objects.filter(invoice=invoice)
    assert services.deliver(send_log_id=log.pk).result == SendLog.Result.SENT
    assert (tmp_path / "einvoice-outbox" / f"{invoice.number}-facturx.pdf").read_bytes().startswith(b"%PDF")
    assert InvoiceDocument.objects.filter(invoice=invoice, kind="facturx").exists()

    portal = f.customer(send_email=False)
    other = f.shipped_invoice(portal, [(f.product("10.00"), 1)])
    (log,) = SendLog.objects.filter(invoice=other)
    assert log.channel == SendLog.Channel.PORTAL
    assert services.deliver(send_log_id=log.pk).detail == "Published on the portal"
