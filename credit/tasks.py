"""Thin Celery wrappers around credit services; both are idempotent by design."""

import logging

from celery import shared_task
from django.db import OperationalError

from . import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def recompute_payment_behaviour() -> int:
    """Nightly: payment behaviour figures and risk class of every credit profile."""
    updated = services.recompute_behaviour()
    logger.info("Credit: payment behaviour recomputed for %s profiles.", updated)
    return updated


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def list_profiles_for_review() -> int:
    """Weekly: profiles due for review and customers whose behaviour worsened, into the queue."""
    listed = services.list_for_review()
    logger.info("Credit: %s profiles listed for review.", listed)
    return listed
