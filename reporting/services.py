"""Writes of the reporting app: only its own history tables (the rest it reads)."""

import datetime

from django.db import transaction

from . import selectors
from .models import ArSnapshot


def take_ar_snapshot(*, on: datetime.date) -> tuple[ArSnapshot, bool]:
    """Keep the picture of receivables for day `on`, once: when that day's snapshot exists it is
    returned unchanged (created False), so running the nightly task twice changes nothing."""
    existing = ArSnapshot.objects.filter(taken_on=on).first()
    if existing is not None:
        return existing, False
    figures = selectors.invoice_figures(on=on)
    with transaction.atomic():
        # get_or_create: a parallel run that stored the day first wins, this one reads it.
        return ArSnapshot.objects.get_or_create(
            taken_on=on,
            defaults={
                "open_total": figures["open_total"],
                "overdue_total": figures["overdue_total"],
                "open_invoices": figures["open_invoices"],
            },
        )
