"""Celery tasks that call o2c.flow (scheduled runs). Thin: ids and dates in, the flow does the work."""

import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from . import flow


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_consolidated_billing(self, frequency: str, on: str | None = None) -> int:
    """The weekly or monthly billing run (Celery beat, just after midnight): bills what shipped
    up to `on` (default yesterday). Safe to run twice: what was billed is not billed again.
    Returns how many invoices it issued."""
    day = datetime.date.fromisoformat(on) if on else timezone.localdate() - datetime.timedelta(days=1)
    return len(flow.run_consolidated_billing(frequency=frequency, on=day))
