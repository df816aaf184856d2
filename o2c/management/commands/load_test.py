"""python manage.py load_test [--users 50] [--spawn-rate 10] [--run-time 60] [--json PATH]

Load test on loopback: starts gunicorn on this database (DEBUG off), prepares signed-in staff
and portal sessions and the ids to visit, runs Locust headless with tests/load/locustfile.py
(a mixed clerk and portal workload) for a bounded time and number of users, and writes
requests/s, p50/p95/p99 and errors as JSON (overall and per page). Run it on a generated
dataset (manage.py generate_dataset). Locust runs in its own interpreter: --locust PATH or
$O2C_LOCUST, else `locust` on PATH (pip install locust; it is in the dev extras)."""

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from o2c.bench.common import machine_facts
from o2c.core import roles
from portal.models import PortalAccess

LOCUSTFILE = Path(settings.BASE_DIR) / "tests" / "load" / "locustfile.py"
STAFF_ROLES = [roles.ORDER_CLERK, roles.BILLING_CLERK, roles.AR_CLERK, roles.CREDIT_MANAGER]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    """This command's database (the test database under pytest), for gunicorn."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{port}/{db['NAME']}"


def _session_for(user: User) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _ids(sql: str, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql + " LIMIT %s", [limit])
        return [row[0] for row in cursor.fetchall()]


def build_plan(*, staff_count: int = 10, portal_count: int = 60) -> dict:
    """Sessions and ids for the locustfile (users are made once and reused)."""
    if not Group.objects.filter(name=roles.CUSTOMER).exists():
        roles.sync_roles()
    staff_groups = list(Group.objects.filter(name__in=STAFF_ROLES))
    staff = []
    for number in range(staff_count):
        user, _ = User.objects.get_or_create(username=f"load-clerk-{number}", defaults={"first_name": "Load"})
        user.groups.add(*staff_groups)
        staff.append(_session_for(user))
    # portal users for customers with invoices (the sample keeps the query cheap at any size)
    customers = _ids(
        "SELECT customer_id FROM invoicing_invoice TABLESAMPLE SYSTEM (5) WHERE kind = 'invoice' "
        "GROUP BY customer_id ORDER BY COUNT(*) DESC",
        portal_count,
    ) or _ids("SELECT DISTINCT customer_id FROM invoicing_invoice", portal_count)
    customer_group = Group.objects.get(name=roles.CUSTOMER)
    portal = []
    for customer_id in customers:
        user, _ = User.objects.get_or_create(username=f"load-portal-{customer_id}", defaults={"first_name": "Load"})
        user.groups.add(customer_group)
        PortalAccess.objects.get_or_create(user=user, defaults={"customer_id": customer_id})
        access = PortalAccess.objects.get(user=user)
        invoices = _ids(
            f"SELECT id FROM invoicing_invoice WHERE customer_id = {int(access.customer_id)} "
            "AND status <> 'draft' ORDER BY issue_date DESC",
            50,
        )
        portal.append({"session": _session_for(user), "invoices": invoices})
    sample = "TABLESAMPLE SYSTEM (2)" if _ids("SELECT COUNT(*) FROM invoicing_invoice", 1)[0] > 100_000 else ""
    plan = {
        "today": timezone.localdate().isoformat(),
        "staff": staff,
        "portal": portal,
        "invoices": _ids(f"SELECT id FROM invoicing_invoice {sample} WHERE status <> 'draft'", 3000),
        "open_invoices": _ids(
            f"SELECT id FROM invoicing_invoice {sample} WHERE status = 'issued' AND kind = 'invoice' "
            "AND amount_open > 100",
            3000,
        ),
        "orders": _ids(f"SELECT id FROM orders_salesorder {sample}", 3000),
        "customers": _ids("SELECT id FROM orders_customer", 3000),
    }
    for key in ("invoices", "open_invoices", "orders", "customers"):
        if not plan[key]:
            raise CommandError(f"No {key.replace('_', ' ')} to visit: generate a dataset first (generate_dataset).")
    return plan


def read_stats(csv_path: Path) -> dict:
    """Locust's *_stats.csv -> {name: {requests, failures, rps, p50, p95, p99, ...}}."""
    out = {}
    with csv_path.open() as handle:
        for row in csv.DictReader(handle):
            out[row["Name"] if row["Type"] else "Aggregated"] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "requests_per_s": round(float(row["Requests/s"]), 2),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
                "max_ms": round(float(row["Max Response Time"] or 0), 1),
            }
    return out


class Command(BaseCommand):
    help = "Load-test the app (gunicorn + Locust on loopback) and write requests/s, p50/p95/p99, errors as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=50)
        parser.add_argument("--spawn-rate", type=float, default=10)
        parser.add_argument("--run-time", type=int, default=60, help="Seconds.")
        parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes.")
        parser.add_argument("--threads", type=int, default=2, help="Threads per gunicorn worker.")
        parser.add_argument("--json", dest="json_path", help="Write the figures to this file.")
        parser.add_argument("--locust", default=os.environ.get("O2C_LOCUST") or shutil.which("locust") or "")

    def handle(self, *args, users, spawn_rate, run_time, workers, threads, json_path, locust, **options):
        if not locust or not Path(locust).exists():
            raise CommandError("Locust not found: pip install locust, or pass --locust PATH (or set O2C_LOCUST).")
        if connection.vendor != "postgresql":
            raise CommandError("The load test runs on PostgreSQL: set DATABASE_URL=postgres://...")
        plan = build_plan()
        with tempfile.TemporaryDirectory(prefix="o2c-load-") as tmp:
            plan_path = Path(tmp) / "plan.json"
            plan_path.write_text(json.dumps(plan))
            port = _free_port()
            env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_DEBUG": "0", "PYTHONUNBUFFERED": "1"}
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "o2c.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                 "--threads", str(threads), "--worker-class", "gthread", "--keep-alive", "10", "--log-level", "warning"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=(Path(tmp) / "gunicorn.log").open("w"),
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                self._wait_for(port, server)
                self.stderr.write(f"gunicorn on 127.0.0.1:{port} ({workers} workers x {threads} threads); locust ...")
                prefix = Path(tmp) / "locust"
                result = subprocess.run(
                    [locust, "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(spawn_rate),
                     "-t", f"{run_time}s", "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix),
                     "--only-summary", "--stop-timeout", "10", "--exit-code-on-error", "0"],
                    env={**os.environ, "O2C_LOAD_PLAN": str(plan_path)},
                    capture_output=True,
                    text=True,
                    timeout=run_time + 120,
                )  # fmt: skip
                if result.returncode != 0 or not (Path(f"{prefix}_stats.csv")).exists():
                    raise CommandError(f"Locust failed ({result.returncode}):\n{result.stderr[-3000:]}")
                stats = read_stats(Path(f"{prefix}_stats.csv"))
                failures_csv = Path(f"{prefix}_failures.csv")
                failures = list(csv.DictReader(failures_csv.open())) if failures_csv.exists() else []
            finally:
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
        total = stats.get("Aggregated", {})
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM invoicing_invoice")
            invoice_count = cursor.fetchone()[0]
        report = {
            "machine": machine_facts(),
            "invoices": invoice_count,
            "users": users,
            "run_time_s": run_time,
            "gunicorn": {"workers": workers, "threads": threads},
            "requests": total.get("requests", 0),
            "errors": total.get("failures", 0),
            "requests_per_s": total.get("requests_per_s", 0),
            "p50_ms": total.get("p50_ms"),
            "p95_ms": total.get("p95_ms"),
            "p99_ms": total.get("p99_ms"),
            "pages": {name: row for name, row in stats.items() if name != "Aggregated"},
            "failures": [
                {"name": row.get("Name"), "error": row.get("Error"), "count": row.get("Occurrences")}
                for row in failures
            ],
        }
        for name, row in sorted(report["pages"].items()):
            self.stdout.write(
                f"{name:<44} {row['requests']:>7} req {row['failures']:>4} err  p50 {row['p50_ms']:>6.0f}  "
                f"p95 {row['p95_ms']:>6.0f}  p99 {row['p99_ms']:>6.0f} ms"
            )
        self.stdout.write(
            f"{'ALL':<44} {report['requests']:>7} req {report['errors']:>4} err  p50 {report['p50_ms']:>6.0f}  "
            f"p95 {report['p95_ms']:>6.0f}  p99 {report['p99_ms']:>6.0f} ms  {report['requests_per_s']} req/s"
        )
        if json_path:
            Path(json_path).write_text(json.dumps(report, indent=2))
            self.stderr.write(f"wrote {json_path}")

    @staticmethod
    def _wait_for(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn exited with code {server.returncode}.")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise CommandError(f"gunicorn did not answer within {seconds} s.")
