"""python manage.py bench NAME [NAME ...] [--json PATH] [--scale 1.0]

Runs the benchmarks in o2c/bench/ (one module per name; "all" runs every one), prints a table
and writes JSON: one object per figure keyed by its name, plus the machine's facts.
"""

import importlib
import json
import pkgutil

from django.core.management.base import BaseCommand, CommandError

import o2c.bench
from o2c.bench.common import machine_facts, require_postgresql


def benchmark_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(o2c.bench.__path__) if m.name != "common")


class Command(BaseCommand):
    help = "Run benchmarks (PostgreSQL) and write their figures as JSON."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="+", help=f"all, or any of: {', '.join(benchmark_names())}")
        parser.add_argument("--json", dest="json_path", help="Write the figures to this file.")
        parser.add_argument(
            "--scale", type=float, default=1.0, help="Data size relative to the issue's stated size (default 1)."
        )

    def handle(self, *args, names, json_path, scale, **options):
        require_postgresql()
        available = benchmark_names()
        wanted = available if "all" in names else names
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise CommandError(f"Unknown benchmark {', '.join(unknown)}; choose from: all, {', '.join(available)}.")
        figures = {}
        for name in wanted:
            self.stderr.write(f"bench {name} (scale {scale}) ...")
            for figure in importlib.import_module(f"o2c.bench.{name}").run(scale=scale):
                figures[figure.name] = figure.as_json()
                self.stdout.write(self._row(figure.name, figures[figure.name]))
        if json_path:
            with open(json_path, "w") as out:
                json.dump({"machine": machine_facts(), "scale": scale, "figures": figures}, out, indent=2)
            self.stderr.write(f"wrote {json_path}")

    @staticmethod
    def _row(name: str, data: dict) -> str:
        floor = f"  floor {data['floor']} ratio {data['ratio']}" if "floor" in data else ""
        return f"{name:<48} {data['median']:>12} {data['unit']:<10} (min {data['min']}, max {data['max']}, n={data['runs']}){floor}"
