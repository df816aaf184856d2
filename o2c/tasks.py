"""Celery tasks that call the flow (thin: ids in, one flow call, safe to run twice)."""

from celery import shared_task
from django.db import OperationalError

from o2c import flow


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def import_orders(self, order_import_id: int) -> None:
    """Import a confirmed CSV file's good orders; a re-delivered task skips the saved ones."""
    flow.import_orders(order_import_id=order_import_id)
