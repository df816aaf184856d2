"""What every benchmark shares: timing a callable, and the Figure that goes into the JSON."""

import dataclasses
import os
import platform
import statistics
import time
from collections.abc import Callable

from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb


@dataclasses.dataclass
class Figure:
    """One measured figure. `samples` are per run, in `unit`; `floor` is the same work done the
    fastest known way (raw SQL, WeasyPrint alone...) measured in the same run."""

    name: str
    unit: str
    samples: list[float]
    floor: float | None = None
    higher_is_better: bool = False
    target: str = ""
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def ratio(self) -> float | None:
        if not self.floor:
            return None
        return self.floor / self.median if self.higher_is_better else self.median / self.floor

    def as_json(self) -> dict:
        data = {
            "median": round(self.median, 3),
            "min": round(min(self.samples), 3),
            "max": round(max(self.samples), 3),
            "unit": self.unit,
            "runs": len(self.samples),
        }
        if self.floor is not None:
            data["floor"] = round(self.floor, 3)
            data["ratio"] = round(self.ratio, 2)
        if self.target:
            data["target"] = self.target
        return data | self.extra


def timed(fn: Callable[[], object], *, runs: int = 5, warmup: int = 1) -> list[float]:
    """Milliseconds per call of `fn`, `runs` times after `warmup` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def rate(count: int, fn: Callable[[], object]) -> float:
    """Items per second when `fn` processes `count` items."""
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("Benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")


def machine_facts() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgresql": pg_version,
    }


class _Rollback(Exception):
    pass


def measured_then_rolled_back(build: Callable[[], object], measure: Callable[[object], list]) -> list:
    """Build the data, measure on it, and roll it all back: the database is left as it was."""
    figures: list = []
    try:
        with transaction.atomic():
            figures = measure(build())
            raise _Rollback
    except _Rollback:
        pass
    return figures


def copy_rows(model, rows, columns: dict) -> None:
    """COPY rows into the model's table. Every concrete column is written: the ones given in
    `columns` (name -> function of the row), the others from the field's default, so a loader
    keeps working when a column with a default is added to the model."""
    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    getters = []
    for f in fields:
        if f.attname in columns:
            getters.append(columns[f.attname])
        elif getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            getters.append(lambda row, now=now: now)
        else:  # the field's default; "" for a text field without one, None when nullable
            default = f.get_default()
            getters.append(lambda row, default=default: default)
    getters = [
        (lambda row, get=get: Jsonb(get(row))) if isinstance(f, models.JSONField) else get
        for f, get in zip(fields, getters, strict=True)
    ]
    names = ", ".join(f'"{f.column}"' for f in fields)
    connection.ensure_connection()
    sql = f'COPY "{model._meta.db_table}" ({names}) FROM STDIN'
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([getter(row) for getter in getters])


def role_group(name: str):
    """The role's group, created with its permissions when a flushed database lacks it."""
    from django.contrib.auth.models import Group

    from o2c.core import roles

    if not Group.objects.filter(name=name).exists():
        roles.sync_roles()
    return Group.objects.get(name=name)
