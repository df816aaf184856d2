"""A real Celery worker process for tests that need tasks to really run.

Use it from a conftest.py (a fixture function, imported where it is wanted):

    from tests.worker import celery_worker_process  # noqa: F401

The test must commit (the worker is another process with its own connection): the fixture
brings `transactional_db`, so mark the test `@pytest.mark.django_db(transaction=True)`.

The worker gets the test database (pytest-django's test_<name>), MEDIA_ROOT of the test
(tests/conftest.py puts it in tmp_path) and a Redis database of its own, and this process
publishes to that same broker for the length of the test. Needs Redis (REDIS_URL, or
127.0.0.1:6379) and a PostgreSQL DATABASE_URL: an SQLite test database cannot be shared.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
CELERY = Path(sys.executable).with_name("celery")
# 0 is the app's; keep tests apart, and each pytest-xdist process on its own database (gw0 -> 14, gw1 -> 15)
WORKER_REDIS_DB = int(os.environ.get("O2C_TEST_WORKER_REDIS_DB", "14")) + int(
    os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0
)
READY_TIMEOUT = 30
STOP_TIMEOUT = 10


def _test_broker_url() -> str:
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{WORKER_REDIS_DB}", parts.query, ""))


def _test_database_url() -> str:
    db = connection.settings_dict
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("A real worker needs PostgreSQL (DATABASE_URL): it cannot share an SQLite test database.")
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"  # NAME is already test_<name> here


def _point_app_at(broker_url: str) -> str:
    """Make this process publish to broker_url; returns the previous URL. The app is configured
    (and may hold pooled connections) already, so settings.CELERY_BROKER_URL alone is not enough."""
    from o2c.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = broker_url
    # What Celery itself does after a fork: forget the pools; the next publish takes the pool
    # of the new URL from kombu's registry (closing the old one would close it there for good).
    app._pool = None
    app.amqp._producer_pool = None
    return previous


@pytest.fixture
def celery_worker_process(request, transactional_db, settings, tmp_path):
    """Start `celery -A o2c worker` against the test database and yield its log path; stop it after."""
    import redis

    from o2c.celery import app

    broker_url = _test_broker_url()
    redis.Redis.from_url(broker_url).flushdb()  # no task left over from an earlier run
    media_root = Path(settings.MEDIA_ROOT)
    media_root.mkdir(parents=True, exist_ok=True)
    hostname = f"test-worker-{os.getpid()}@{socket.gethostname()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "o2c.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "O2C_MEDIA_ROOT": str(media_root),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "celery-worker.log"
    previous_broker = _point_app_at(broker_url)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "o2c",
                "worker",
                "--pool=solo",
                "--concurrency",
                "1",
                "-Q",
                "celery",
                "-l",
                "info",
                "-n",
                hostname,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    failed_before = request.session.testsfailed
    broke = False
    try:
        _wait_until_ready(app, process, hostname)
        yield log_path
    except BaseException:
        broke = True
        raise
    finally:
        _stop(process)
        _point_app_at(previous_broker)
        if broke or request.session.testsfailed > failed_before:  # shown in the failing test's report
            print(f"--- celery worker log ({log_path}) ---\n{log_path.read_text()}")


def _wait_until_ready(app, process: subprocess.Popen, hostname: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The Celery worker exited with code {process.returncode} before it was ready.")
        if app.control.ping(destination=[hostname], timeout=0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"The Celery worker did not answer a ping within {READY_TIMEOUT} s.")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown: finishes the task at hand
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class WorkerControl:
    """Start, SIGKILL and restart real workers on the test broker (chaos tests). Each start
    may add environment variables; every process's output goes to one log file."""

    def __init__(self, app, base_env: dict, log_path: Path):
        self.app, self.base_env, self.log_path = app, base_env, log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, **extra_env: str) -> subprocess.Popen:
        self.starts += 1
        hostname = f"test-worker-{os.getpid()}-{self.starts}@{socket.gethostname()}"
        with self.log_path.open("a") as log:
            log.write(f"--- worker start {self.starts} {extra_env} ---\n")
            log.flush()
            self.process = subprocess.Popen(
                [str(CELERY), "-A", "o2c", "worker", "--pool=solo", "--concurrency", "1", "-Q", "celery",
                 "-l", "info", "-n", hostname, "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=BASE_DIR,
                env={**self.base_env, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_until_ready(self.app, self.process, hostname)
        return self.process

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no ack; the broker keeps the message unacknowledged."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def celery_worker_control(request, transactional_db, settings, tmp_path):
    """Like celery_worker_process, but the test starts, kills and restarts workers itself.
    Unacknowledged messages come back after CELERY_VISIBILITY_TIMEOUT=3 seconds here."""
    import redis

    from o2c.celery import app

    broker_url = _test_broker_url()
    redis.Redis.from_url(broker_url).flushdb()
    media_root = Path(settings.MEDIA_ROOT)
    media_root.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "o2c.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "O2C_MEDIA_ROOT": str(media_root),
        "PYTHONUNBUFFERED": "1",
    }
    previous_broker = _point_app_at(broker_url)
    control = WorkerControl(app, env, tmp_path / "celery-workers.log")
    failed_before = request.session.testsfailed
    try:
        yield control
    finally:
        control.stop()
        _point_app_at(previous_broker)
        if request.session.testsfailed > failed_before and control.log_path.exists():
            print(f"--- celery worker log ({control.log_path}) ---\n{control.log()}")
