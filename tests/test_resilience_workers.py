"""Resilience with real processes: a Celery worker SIGKILLed in the middle of sending an invoice
email and of applying an uploaded statement does the work exactly once after a restart; the
broker (a Redis server of the test's own) restarted while tasks are queued loses none of them
and the worker reconnects by itself; the same task delivered twice and the same statement
uploaded twice have one effect.

What the product promises for the broker (README, Resilience): Redis runs with append-only
persistence (docker-compose.yml: --appendonly yes), so tasks queued before a restart survive
it; tasks are acknowledged late (CELERY_TASK_ACKS_LATE), so a task whose worker died is
delivered again, and every task is idempotent (state in PostgreSQL decides what is left to do).
A broker that is down when a transaction commits fails nothing the user did (robust on_commit
publishes); o2c.tasks.requeue_stale_work publishes the work again once the broker is back.
The one window no task can close is an SMTP server accepting a message and the worker dying
before its COMMIT: the email then goes twice (at least once, never lost)."""

import datetime
import os
import shutil
import signal
import socket
import subprocess
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from invoicing.models import BankAccount, BillingProfile, InvoiceDocument, SendLog
from o2c.bench.cashapp import camt053_document
from receivables.models import Allocation, BankStatement, JournalEntry, StatementUpload
from receivables.selectors import ledger_integrity_problems
from tests.core.factories import AR
from tests.invoicing import factories as f
from tests.invoicing.test_sending import Mailbox, free_port
from tests.orders.factories import CustomerFactory
from tests.receivables.factories import open_invoice
from tests.worker import WorkerControl, _point_app_at, _test_database_url, celery_worker_control  # noqa: F401

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} not seen after {seconds} s")


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def test_worker_killed_mid_send_sends_one_email(smtp, celery_worker_control):  # noqa: F811
    mailbox, port = smtp
    mail_env = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
    }
    f.company()
    customer = f.customer(email="ap@buyer.example", attach_pdf=True)
    slow = celery_worker_control.start(O2C_SEND_DELAY_SECONDS="60", **mail_env)

    invoice = f.shipped_invoice(customer, [(f.product("149.00", name="Steel shelf"), 2)])  # commits; tasks queued

    wait_for(lambda: "deliver_invoice" in celery_worker_control.log(), 60, "the send task starting")
    wait_for(lambda: InvoiceDocument.objects.filter(invoice=invoice).count() == 3, 90, "the documents stored")
    time.sleep(3)  # inside deliver: the PDF is made, the SMTP conversation not started
    assert mailbox.messages == []
    assert SendLog.objects.get(invoice=invoice).result == SendLog.Result.QUEUED
    celery_worker_control.kill()
    assert slow.returncode == -signal.SIGKILL

    celery_worker_control.start(**mail_env)  # the unacked message is back after the visibility timeout
    wait_for(lambda: mailbox.messages, 90, "the email")
    wait_for(lambda: SendLog.objects.get(invoice=invoice).result == SendLog.Result.SENT, 30, "the log marked sent")
    time.sleep(4)  # a duplicate delivery would show up here
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["Subject"].startswith(f"Invoice {invoice.number}")
    assert SendLog.objects.filter(invoice=invoice).count() == 1
    assert InvoiceDocument.objects.filter(invoice=invoice, kind="pdf").count() == 1
    assert celery_worker_control.log().count("deliver_invoice") >= 2  # received twice: killed, then redone

    # The same task delivered again: nothing more is sent.
    from invoicing.tasks import deliver_invoice

    deliver_invoice.delay(SendLog.objects.get(invoice=invoice).pk)
    time.sleep(4)
    assert len(mailbox.messages) == 1


def statement_for(account, invoices, statement_id="KILL-1") -> bytes:
    return camt053_document(
        iban=account.iban,
        currency="EUR",
        statement_id=statement_id,
        opening=Decimal("0"),
        on=datetime.date(2026, 11, 12),
        entries=[
            {"amount": invoice.total, "reference": f"K-{invoice.pk}", "remittance": invoice.number}
            for invoice in invoices
        ],
    )


def upload(client, account, data: bytes) -> StatementUpload:
    response = client.post(
        reverse("desk:statement_upload"),
        {"bank_account": account.pk, "file": SimpleUploadedFile("statement.xml", data, content_type="text/xml")},
    )
    assert response.status_code == 302
    return StatementUpload.objects.order_by("-pk").first()


def test_worker_killed_mid_apply_applies_each_payment_once(celery_worker_control, client, staff):  # noqa: F811
    customer = CustomerFactory()
    invoices = [open_invoice(customer, f"{200 + n}.00") for n in range(12)]
    account = BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")
    data = statement_for(account, invoices)
    client.force_login(staff(AR))
    slow = celery_worker_control.start(O2C_APPLY_DELAY_SECONDS="60")

    first = upload(client, account, data)  # committed: the task is queued

    # The import commits (the statement and its lines are stored), then the worker pauses
    # before matching and applying: kill it there.
    wait_for(lambda: BankStatement.objects.exists(), 60, "the statement imported")
    time.sleep(1)
    assert Allocation.objects.count() == 0
    celery_worker_control.kill()
    assert slow.returncode == -signal.SIGKILL
    first.refresh_from_db()
    assert first.status == StatementUpload.Status.RUNNING

    celery_worker_control.start()
    wait_for(lambda: StatementUpload.objects.get(pk=first.pk).status == "done", 90, "the upload done")
    first.refresh_from_db()
    assert "12 matched" in first.message, first.message
    assert Allocation.objects.count() == 12
    for invoice in invoices:
        assert Allocation.objects.filter(invoice=invoice).count() == 1
        invoice.refresh_from_db()
        assert invoice.status == "paid"
    assert JournalEntry.objects.filter(kind="allocation").count() == 12
    assert JournalEntry.objects.filter(kind="payment").count() == 12

    # The same task delivered again, and the same file uploaded again: no second effect.
    from o2c.tasks import import_statement_upload

    import_statement_upload.delay(first.pk)
    second = upload(client, account, data)
    wait_for(lambda: StatementUpload.objects.get(pk=second.pk).status == "done", 60, "the second upload done")
    time.sleep(2)
    assert Allocation.objects.count() == 12
    assert JournalEntry.objects.filter(kind__in=["payment", "allocation"]).count() == 24
    assert BankStatement.objects.count() == 1
    assert ledger_integrity_problems() == []


class RedisServer:
    """A redis-server of the test's own on a spare port, with append-only persistence."""

    def __init__(self, directory):
        self.directory = directory
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), 10, "redis-server answering")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_restarted_with_tasks_queued_loses_none_and_the_worker_reconnects(own_redis, settings, tmp_path):
    from o2c.celery import app

    media_root = settings.MEDIA_ROOT
    os.makedirs(media_root, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "o2c.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "O2C_MEDIA_ROOT": str(media_root),
        "PYTHONUNBUFFERED": "1",
    }
    previous = _point_app_at(own_redis.url)
    workers = WorkerControl(app, env, tmp_path / "workers.log")
    try:
        f.company()
        customer = f.customer()
        BillingProfile.objects.update_or_create(customer=customer, defaults={"send_email": False})
        shelf = f.product("149.00", name="Steel shelf")
        # 1. Tasks queued while no worker runs; the broker restarts; a worker then runs them all.
        before = [f.shipped_invoice(customer, [(shelf, 1)]) for _ in range(2)]
        own_redis.stop()
        own_redis.start()
        workers.start()
        for invoice in before:
            wait_for(
                lambda invoice=invoice: InvoiceDocument.objects.filter(invoice=invoice).count() == 3, 90, "documents"
            )
            wait_for(lambda invoice=invoice: SendLog.objects.get(invoice=invoice).result == "sent", 30, "portal log")
        # 2. The broker restarts under a running worker: it reconnects and runs what comes next.
        own_redis.stop()
        time.sleep(1)
        own_redis.start()
        after = f.shipped_invoice(customer, [(shelf, 1)])
        wait_for(lambda: InvoiceDocument.objects.filter(invoice=after).count() == 3, 120, "documents after restart")
        assert workers.process.poll() is None  # the same worker process: it reconnected
        assert InvoiceDocument.objects.filter(invoice__in=[*before, after]).count() == 9
    except BaseException:
        print(workers.log() if workers.log_path.exists() else "no worker log")
        raise
    finally:
        workers.stop()
        _point_app_at(previous)


def test_broker_down_at_commit_keeps_the_work_and_the_sweeper_publishes_it_again(own_redis, settings, tmp_path):
    """The product's promise for a broker outage: the request that issues the invoice succeeds
    (the invoice is committed; the failed publish is logged), and requeue_stale_work (beat,
    every 10 minutes) publishes the work again once the broker is back."""
    from o2c.celery import app
    from o2c.tasks import requeue_stale_work

    os.makedirs(settings.MEDIA_ROOT, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "o2c.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "O2C_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    previous = _point_app_at(own_redis.url)
    workers = WorkerControl(app, env, tmp_path / "workers.log")
    try:
        f.company()
        customer = f.customer()
        BillingProfile.objects.update_or_create(customer=customer, defaults={"send_email": False})
        own_redis.stop()
        started = time.monotonic()
        invoice = f.shipped_invoice(customer, [(f.product("149.00", name="Steel shelf"), 1)])  # no exception
        assert time.monotonic() - started < 30
        assert invoice.number and SendLog.objects.get(invoice=invoice).result == SendLog.Result.QUEUED
        assert not InvoiceDocument.objects.filter(invoice=invoice).exists()

        own_redis.start()
        workers.start()
        published = requeue_stale_work(minutes=0)
        assert (published["send_logs"], published["uploads"], published["renders"]) == (1, 0, 1)
        assert published["shipment_documents"] == 3  # pick list, packing slip, bill of lading
        wait_for(lambda: InvoiceDocument.objects.filter(invoice=invoice).count() == 3, 90, "documents")
        wait_for(lambda: SendLog.objects.get(invoice=invoice).result == "sent", 30, "the send log")
        wait_for(lambda: not any(requeue_stale_work(minutes=0).values()), 60, "nothing left to publish")
    except BaseException:
        print(workers.log() if workers.log_path.exists() else "no worker log")
        raise
    finally:
        workers.stop()
        _point_app_at(previous)
