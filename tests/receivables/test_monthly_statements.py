"""Monthly statements of account: emailed with the PDF attached through a real SMTP server to the
customers who want them, once per month even when the task runs twice (last_sent_for)."""

import datetime
import io
import time
from decimal import Decimal

import pytest
from pypdf import PdfReader

from receivables import account_statement, services, tasks
from receivables.models import StatementPreference
from tests.invoicing.test_sending import smtp_server  # noqa: F401 - the fixture
from tests.orders.factories import CustomerFactory
from tests.worker import celery_worker_control  # noqa: F401 - the fixture

from .factories import open_invoice

FIRST_OF_DECEMBER = datetime.date(2026, 12, 1)
END_OF_NOVEMBER = datetime.date(2026, 11, 30)


def customers_with_preferences():
    wants = CustomerFactory(name="Wants BV", email="ap@wants.example", language="fr")
    open_invoice(wants, "300.00", number="NOV-1", issue_date=datetime.date(2026, 11, 3), due_days=30)
    services.record_payment(customer=wants, amount=Decimal("120.00"), value_date=datetime.date(2026, 11, 20))
    StatementPreference.objects.create(customer=wants, monthly=True)
    also = CustomerFactory(name="Also BV", email="ap@also.example")
    StatementPreference.objects.create(customer=also, monthly=True)
    StatementPreference.objects.create(customer=CustomerFactory(email="no@thanks.example"), monthly=False)
    done = CustomerFactory(email="done@already.example")
    StatementPreference.objects.create(customer=done, monthly=True, last_sent_for=END_OF_NOVEMBER)
    return wants, also


def pdf_text(message) -> str:
    (attachment,) = list(message.iter_attachments())
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(attachment.get_payload(decode=True))).pages)


@pytest.mark.django_db
def test_monthly_statement_sent_once_per_customer_who_wants_one(smtp_server):  # noqa: F811
    mailbox, _ = smtp_server
    wants, also = customers_with_preferences()
    due = account_statement.customers_due_a_monthly_statement(on=FIRST_OF_DECEMBER)
    assert due == [wants.pk, also.pk]
    for customer_id in due:
        assert account_statement.send_monthly_statement(customer_id=customer_id, on=FIRST_OF_DECEMBER)
    for customer_id in due:  # the task again: nothing more is sent
        assert not account_statement.send_monthly_statement(customer_id=customer_id, on=FIRST_OF_DECEMBER)
    assert account_statement.customers_due_a_monthly_statement(on=FIRST_OF_DECEMBER) == []
    assert sorted(m["To"] for m in mailbox.messages) == ["ap@also.example", "ap@wants.example"]
    message = next(m for m in mailbox.messages if m["To"] == "ap@wants.example")
    assert message["Subject"] == f"Votre relevé de compte {wants.account_number}"
    text = pdf_text(message)
    assert "2026-11-01 to 2026-11-30" in text and "NOV-1" in text and "Closing balance 180.00 EUR" in text
    assert StatementPreference.objects.get(customer=wants).last_sent_for == END_OF_NOVEMBER
    # January: December's statement is due again, for the one sent before this run too
    assert len(account_statement.customers_due_a_monthly_statement(on=datetime.date(2027, 1, 1))) == 3


@pytest.mark.django_db
def test_a_refused_send_is_tried_again_next_time(smtp_server):  # noqa: F811
    mailbox, _ = smtp_server
    customer = CustomerFactory(email="bounce@nowhere.example")
    StatementPreference.objects.create(customer=customer, monthly=True)
    with pytest.raises(Exception, match="No such mailbox"):
        account_statement.send_monthly_statement(customer_id=customer.pk, on=FIRST_OF_DECEMBER)
    assert StatementPreference.objects.get(customer=customer).last_sent_for is None
    assert mailbox.messages == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_sends_monthly_statements_once_when_the_task_runs_twice(smtp_server, celery_worker_control):  # noqa: F811
    mailbox, port = smtp_server
    wants, also = customers_with_preferences()
    celery_worker_control.start(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port)
    )
    tasks.send_monthly_statements.delay(FIRST_OF_DECEMBER.isoformat())
    tasks.send_monthly_statements.delay(FIRST_OF_DECEMBER.isoformat())  # beat fired twice, or a retry
    deadline = time.monotonic() + 90
    while (
        StatementPreference.objects.filter(customer__in=[wants, also], last_sent_for=END_OF_NOVEMBER).count() < 2
        and time.monotonic() < deadline
    ):
        time.sleep(0.25)
    time.sleep(2)  # let any duplicate task finish
    assert sorted(m["To"] for m in mailbox.messages) == ["ap@also.example", "ap@wants.example"]
