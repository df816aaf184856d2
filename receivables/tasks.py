import logging

from celery import shared_task

from . import selectors

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


@shared_task(acks_late=True)
def write_off_small_balances(on: str | None = None) -> int:
    """Nightly: small balances due long enough ago are written off. Safe to run twice."""
    import datetime

    from django.utils import timezone

    from . import writeoffs

    day = datetime.date.fromisoformat(on) if on else timezone.localdate()
    return len(writeoffs.write_off_small_balances(on=day))
