"""Gapless document numbers (RELIABILITY.md §4).

A PostgreSQL sequence leaves gaps on rollback, so each series is a counter row incremented
with UPDATE ... RETURNING inside the issuing transaction. The row lock is held until COMMIT,
which serialises issuing per series; callers take the number as the last step before commit.
A rolled-back transaction rolls the counter back with it, so no number is ever lost.
"""

from django.db import IntegrityError, connection, transaction

from .models import NumberSeries

_INCREMENT = (
    f"UPDATE {NumberSeries._meta.db_table} SET last_number = last_number + 1"
    " WHERE prefix = %s AND year = %s RETURNING last_number"
)


def next_number(*, prefix: str, year: int, width: int = 6) -> str:
    """Return the next number of the series, e.g. "INV-2026-000124". Must run in a transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("next_number() must run inside the issuing transaction.")
    value = _increment(prefix=prefix, year=year)
    if value is None:
        _create_series(prefix=prefix, year=year)
        value = _increment(prefix=prefix, year=year)
    return f"{prefix}-{year}-{value:0{width}d}"


def _increment(*, prefix: str, year: int) -> int | None:
    """The series' new last number (one statement, the row locked till commit); None if no row."""
    with connection.cursor() as cursor:
        cursor.execute(_INCREMENT, [prefix, year])
        row = cursor.fetchone()
    return row[0] if row else None


def _create_series(*, prefix: str, year: int) -> None:
    # Two first issuers of a new year may race to create the row; the loser's savepoint
    # rolls back its insert and it then increments the winner's row.
    try:
        with transaction.atomic():
            NumberSeries.objects.create(prefix=prefix, year=year, last_number=0)
    except IntegrityError:
        pass
