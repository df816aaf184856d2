"""Gapless document numbers (RELIABILITY.md §4).

A PostgreSQL sequence leaves gaps on rollback, so each series is a counter row incremented
with UPDATE ... RETURNING inside the issuing transaction. The row lock is held until COMMIT,
which serialises issuing per series; callers take the number as the last step before commit.
A rolled-back transaction rolls the counter back with it, so no number is ever lost.
"""

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from .models import NumberSeries


def next_number(*, prefix: str, year: int, width: int = 6) -> str:
    """Return the next number of the series, e.g. "INV-2026-000124". Must run in a transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("next_number() must run inside the issuing transaction.")
    updated = NumberSeries.objects.filter(prefix=prefix, year=year)
    if not updated.update(last_number=F("last_number") + 1):
        _create_series(prefix=prefix, year=year)
        updated.update(last_number=F("last_number") + 1)
    value = updated.values_list("last_number", flat=True).get()
    return f"{prefix}-{year}-{value:0{width}d}"


def _create_series(*, prefix: str, year: int) -> None:
    # Two first issuers of a new year may race to create the row; the loser's savepoint
    # rolls back its insert and it then increments the winner's row.
    try:
        with transaction.atomic():
            NumberSeries.objects.create(prefix=prefix, year=year, last_number=0)
    except IntegrityError:
        pass
