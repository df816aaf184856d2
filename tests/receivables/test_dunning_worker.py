"""A real Celery worker on Redis sends what the daily collections tasks queued: a pre-due
reminder with the invoice PDF and a dunning letter with its PDF, through a real SMTP server;
the same day's tasks run again send nothing twice."""

import datetime
import time
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps as django_apps

from invoicing import services as invoicing
from o2c import flow
from o2c import tasks as o2c_tasks
from receivables.models import CollectionsSettings, DunningLetter, DunningRun, Reminder
from tests.invoicing import factories as f
from tests.invoicing.test_sending import smtp_server  # noqa: F401 - the fixture
from tests.orders.factories import CustomerFactory
from tests.receivables.factories import open_invoice
from tests.worker import celery_worker_control  # noqa: F401 - the fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ON = datetime.date(2026, 6, 1)


def wait_for(condition, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_worker_sends_the_days_reminder_and_letter_once(smtp_server, celery_worker_control):  # noqa: F811
    mailbox, port = smtp_server
    # The default reminder policies and procedure come from a data migration; an earlier
    # transactional test may have flushed them, so lay them down again (get_or_create).
    import_module("receivables.migrations.0008_dunning_defaults").create(django_apps, None)
    f.company()
    settings = CollectionsSettings.current()
    settings.dunning_mode = "automatic"
    settings.save()
    customer = CustomerFactory(email="ap@late.example", payment_terms=f.terms())
    invoicing.billing_profile_of(customer)
    type(customer.billing_profile).objects.filter(customer=customer).update(send_email=False)  # no invoice email
    draft = invoicing._new_draft(customer=customer, orders=set(), currency="EUR")
    invoicing.fill_lines(invoice=draft, lines=[invoicing.DraftLine("Advice", Decimal("1"), "h", Decimal("90"), "O", 0)])
    due_soon = flow.issue_and_post(invoice=draft, by=None, on=ON - datetime.timedelta(days=23))  # due in 7 days
    late = open_invoice(
        customer, "400.00", number="OLD-2026-0001", issue_date=ON - datetime.timedelta(days=40)
    )  # 10 days overdue
    celery_worker_control.start(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port)
    )

    o2c_tasks.send_reminders.delay(ON.isoformat())
    o2c_tasks.run_dunning.delay(ON.isoformat())

    def subjects():
        return sorted(message["Subject"] for message in mailbox.messages)

    wait_for(lambda: len(mailbox.messages) >= 2 and DunningRun.objects.filter(status="sent").exists())
    assert any(due_soon.number in s and "due on" in s for s in subjects()), subjects()
    letter_mail = next(m for m in mailbox.messages if "overdue on your account" in m["Subject"])
    assert late.number in letter_mail.get_body(preferencelist=("plain",)).get_content()
    assert [part.get_content_type() for part in letter_mail.iter_attachments()] == ["application/pdf"]
    assert Reminder.objects.get(invoice=due_soon).sent_at
    letter = DunningLetter.objects.get()
    assert letter.status == "sent" and letter.pdf_sha256

    # The beat fires again, and a letter task is redelivered: nothing new goes out.
    # the invoice's render, the two beat tasks, the reminder and the letter: 5 tasks done
    wait_for(lambda: celery_worker_control.log().count("succeeded") >= 5)
    done = celery_worker_control.log().count("succeeded")
    o2c_tasks.send_reminders.delay(ON.isoformat())
    o2c_tasks.run_dunning.delay(ON.isoformat())
    o2c_tasks.deliver_dunning_letter.delay(letter.pk)
    wait_for(lambda: celery_worker_control.log().count("succeeded") >= done + 3)
    assert len(mailbox.messages) == 2
    assert DunningRun.objects.count() == 1 and Reminder.objects.count() == 1
