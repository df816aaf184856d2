"""The nightly small-balance write-off run by a real Celery worker, delivered twice (a retried
task): one write-off, one ledger entry, the books agree."""

import datetime
import time
from decimal import Decimal

import pytest

from receivables import selectors
from receivables.models import JournalEntry, WriteOff
from receivables.tasks import write_off_small_balances
from tests.orders.factories import CustomerFactory
from tests.receivables.factories import open_invoice
from tests.worker import celery_worker_process  # noqa: F401 - the fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for_succeeded(log_file, times: int, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log_file.read_text()
        if text.count("succeeded") >= times:
            return text
        time.sleep(0.25)
    raise AssertionError(f"The worker did not finish {times} task(s) in {seconds} s:\n{log_file.read_text()[-2000:]}")


def test_worker_writes_off_a_small_balance_once(celery_worker_process):  # noqa: F811
    invoice = open_invoice(CustomerFactory(), "80.00", open_amount="0.40", issue_date=datetime.date(2026, 9, 1))
    on = "2026-11-20"  # due 1 Oct: 50 days before
    write_off_small_balances.delay(on=on)
    wait_for_succeeded(celery_worker_process, 1)
    write_off_small_balances.delay(on=on)
    log = wait_for_succeeded(celery_worker_process, 2)
    assert "write_off_small_balances" in log
    (write_off,) = WriteOff.objects.filter(invoice=invoice)
    assert (write_off.kind, write_off.amount) == (WriteOff.Kind.SMALL_BALANCE, Decimal("0.40"))
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WRITE_OFF).count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert selectors.ledger_integrity_problems() == []
