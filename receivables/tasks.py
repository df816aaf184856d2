import datetime
import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

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


@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_collector_rules() -> dict:
    """Nightly: assign customers to collectors by the rules (explicit assignments stay)."""
    from . import collections

    return collections.apply_collector_rules()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def review_promises(on: str | None = None) -> dict:
    """Daily: promises to pay kept, or broken the day after their grace (with a call task)."""
    from . import collections

    day = datetime.date.fromisoformat(on) if on else timezone.localdate()
    return collections.review_promises(on=day)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_monthly_statements(on: str | None = None) -> int:
    """The 1st: one task per customer who wants a monthly statement and has not had this one."""
    from . import account_statement

    day = on or timezone.localdate().isoformat()
    customer_ids = account_statement.customers_due_a_monthly_statement(on=datetime.date.fromisoformat(day))
    for customer_id in customer_ids:
        send_monthly_statement.delay(customer_id, day)
    return len(customer_ids)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_monthly_statement(customer_id: int, on: str) -> bool:
    from . import account_statement

    return account_statement.send_monthly_statement(customer_id=customer_id, on=datetime.date.fromisoformat(on))


@shared_task(acks_late=True)
def write_off_small_balances(on: str | None = None) -> int:
    """Nightly: small balances due long enough ago are written off. Safe to run twice."""
    import datetime

    from django.utils import timezone

    from . import writeoffs

    day = datetime.date.fromisoformat(on) if on else timezone.localdate()
    return len(writeoffs.write_off_small_balances(on=day))
