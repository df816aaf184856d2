"""What every benchmark shares: timing a callable, and the Figure that goes into the JSON."""

import dataclasses
import os
import platform
import statistics
import time
from collections.abc import Callable

from django.db import connection


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
