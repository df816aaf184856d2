"""The load test runs end to end at a tiny size (gunicorn + Locust on loopback) and writes the
JSON the README promises. The figures themselves come from `make load-test` on a 1,000,000-invoice
dataset; nothing is asserted about speed here."""

import json
import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from o2c import dataset

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LOCUST = os.environ.get("O2C_LOCUST") or shutil.which("locust") or ".venv-load/bin/locust"


def test_load_test_smoke(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the load test runs on PostgreSQL")
    if not Path(LOCUST).exists():
        pytest.skip("Locust is not installed (make load-test builds .venv-load)")
    dataset.generate(invoices=300, seed=4, log=lambda *args: None)
    out = tmp_path / "load.json"
    call_command(
        "load_test", "--users", "4", "--spawn-rate", "4", "--run-time", "6", "--workers", "2",
        "--locust", LOCUST, "--json", str(out), stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    report = json.loads(out.read_text())
    assert report["invoices"] >= 300 and report["users"] == 4
    assert report["requests"] > 0 and report["errors"] == 0, report["failures"]
    assert {"requests_per_s", "p50_ms", "p95_ms", "p99_ms", "pages"} <= set(report)
    assert set(report["pages"])  # per page: requests, failures, requests/s, p50/p95/p99
