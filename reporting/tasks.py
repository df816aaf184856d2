import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from . import services

# The report-fact refreshes: retried on a lost connection; the full run over years of documents takes minutes.
REFRESH_TASK = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
    "time_limit": 1800,
    "soft_time_limit": 1700,
}


def _day(on: str | None) -> datetime.date:
    return datetime.date.fromisoformat(on) if on else timezone.localdate()


def _yesterday(on: str | None) -> datetime.date:
    return datetime.date.fromisoformat(on) if on else timezone.localdate() - datetime.timedelta(days=1)


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def take_ar_snapshot(self, on: str | None = None) -> int:
    """Nightly at 02:30 (CELERY_BEAT_SCHEDULE "ar-snapshot-nightly"): the snapshot of the day that
    just ended (yesterday), so its postings are all in; one ArSnapshot per day, idempotent.
    `on` is an ISO date for a re-run of another day. Returns the snapshot's id."""
    snapshot, _ = services.take_ar_snapshot(on=_yesterday(on))
    return snapshot.pk


@shared_task(**REFRESH_TASK)
def refresh_order_quality(self, full: bool = False) -> int:
    """Every 10 minutes ("order-quality-refresh"), and in full on Sunday night ("order-quality-full"):
    the perfect-order checks of the orders touched since the last run. Idempotent: a redelivery only
    works the same orders out again. Returns the number of orders worked out."""
    return services.refresh_order_quality(full=full).orders


@shared_task(**REFRESH_TASK)
def refresh_cycle_facts(self, full: bool = False) -> int:
    """Every 10 minutes ("cycle-facts-refresh"), and in full on Sunday night ("cycle-facts-full"): the
    cycle-time facts of the documents touched since the last run. Idempotent: a redelivery only works the
    same documents out again. Returns the number of fact rows written."""
    return services.refresh_cycle_facts(full=full).documents


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def record_cash_forecast(self, on: str | None = None) -> int:
    """Weekly, Monday morning ("cash-forecast-weekly"): store the 13-week forecast made that day,
    replacing one made earlier the same day. Returns the number of week rows stored."""
    return len(services.record_cash_forecast(on=_day(on)))


@shared_task(bind=True, acks_late=True, max_retries=0)
def send_kpi_digest(self, on: str | None = None) -> int:
    """Weekly, Monday morning ("kpi-digest-weekly"): the KPI digest PDF to the finance managers.
    Not retried automatically: a second run would send the email twice."""
    return services.send_kpi_digest(on=_day(on))
