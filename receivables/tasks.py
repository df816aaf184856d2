import logging

from celery import shared_task
from django.db import OperationalError

from . import reminders, selectors

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def check_ledger_integrity() -> int:
    """Nightly: the ledger's balances equal the open items and unapplied cash. Read only."""
    problems = selectors.ledger_integrity_problems()
    for problem in problems:
        logger.error("AR ledger integrity: %s", problem)
    if not problems:
        logger.info("AR ledger integrity: ledger agrees with open items and payments.")
    return len(problems)


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver_reminder(self, reminder_id: int) -> None:
    """Email one pre-due reminder with the invoice PDF; a sent one (sent_at) is left alone."""
    reminders.deliver(reminder_id=reminder_id)
