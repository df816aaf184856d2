"""Every benchmark still runs (at a tiny size) and writes the JSON the README promises:
median, min, max, unit and runs per figure, floors with their ratio, and the machine's facts.
The figures themselves are measured with `manage.py bench NAME --scale 1`, never asserted here."""

import json

import pytest
from django.core.management import call_command
from django.db import connection

from o2c.management.commands.bench import benchmark_names

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_bench_all_at_a_tiny_scale_writes_every_figure(tmp_path, capsys):
    if connection.vendor != "postgresql":
        pytest.skip("benchmarks run on PostgreSQL")
    out = tmp_path / "bench.json"
    call_command("bench", "all", "--scale", "0.001", "--json", str(out))
    result = json.loads(out.read_text())
    assert {"cpus", "python", "postgresql"} <= set(result["machine"])
    figures = result["figures"]
    prefixes = {name.split(".")[0].split("_")[0] for name in figures}
    assert len(prefixes) >= len(benchmark_names()) - 1, prefixes  # each benchmark reported something
    for name, figure in figures.items():
        assert {"median", "min", "max", "unit", "runs"} <= set(figure), name
        assert figure["min"] <= figure["median"] <= figure["max"], name
        if "floor" in figure:
            assert figure["ratio"] > 0, name
    assert "hold queue" in capsys.readouterr().out or any("hold_queue" in n for n in figures)
