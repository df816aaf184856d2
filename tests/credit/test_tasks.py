"""The credit room's scheduled work, run by a real Celery worker as beat would send it:
payment behaviour nightly, the review queue weekly (both idempotent)."""

import datetime
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from credit import tasks
from credit.models import CreditProfile, ReviewItem
from tests.credit.builders import open_invoice, unapplied_payment
from tests.credit.factories import credit_limit
from tests.orders.factories import CustomerFactory
from tests.worker import celery_worker_process  # noqa: F401 - the fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not do it in time"
        time.sleep(0.2)


def test_beat_schedules_the_credit_tasks():
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"credit.tasks.recompute_payment_behaviour", "credit.tasks.list_profiles_for_review"} <= schedule


def test_the_worker_recomputes_behaviour_and_fills_the_review_queue(celery_worker_process):  # noqa: F811
    customer = CustomerFactory()
    profile = credit_limit(customer)
    profile.reviewed_risk_class = "A"
    profile.reviewed_at = timezone.localdate()
    profile.review_due = timezone.localdate() + datetime.timedelta(days=200)
    profile.save()
    # one invoice paid 40 days late: 40 beyond terms -> class D (worse than A at the review)
    invoice = open_invoice(
        customer, total="100.00", open_amount="0", due=timezone.localdate() - datetime.timedelta(days=50)
    )
    payment = unapplied_payment(customer, amount="100.00", applied="100.00")
    from receivables.models import Allocation, Payment

    Payment.objects.filter(pk=payment.pk).update(value_date=timezone.localdate() - datetime.timedelta(days=10))
    Allocation.objects.create(payment=payment, invoice=invoice, amount=Decimal("100.00"))

    tasks.recompute_payment_behaviour.delay()
    wait_until(lambda: CreditProfile.objects.filter(pk=profile.pk, behaviour_computed_at__isnull=False).exists())
    profile.refresh_from_db()
    assert (profile.average_days_beyond_terms, profile.risk_class) == (Decimal("40.0"), "D")
    tasks.list_profiles_for_review.delay()
    tasks.list_profiles_for_review.delay()  # twice = once
    wait_until(lambda: celery_worker_process.read_text().count("list_profiles_for_review") >= 4)
    item = ReviewItem.objects.get()
    assert (item.profile_id, item.kind, item.detail) == (profile.pk, "worsened", "Risk class went from A to D.")
    assert CreditProfile.objects.get(pk=profile.pk).behaviour_computed_at is not None
    assert "succeeded" in celery_worker_process.read_text()
