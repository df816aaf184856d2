import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from . import services


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def take_ar_snapshot(self, on: str | None = None) -> int:
    """Nightly (CELERY_BEAT_SCHEDULE "ar-snapshot-nightly"): one ArSnapshot per day, idempotent.
    `on` is an ISO date for a re-run of a past day; default today. Returns the snapshot's id."""
    day = datetime.date.fromisoformat(on) if on else timezone.localdate()
    snapshot, _ = services.take_ar_snapshot(on=day)
    return snapshot.pk
