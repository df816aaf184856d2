"""Resilience with real processes (RELIABILITY.md): the web app loses its PostgreSQL connection
in the middle of a request, answers a clean error page, and serves the next request without a
restart; nothing half-written stays behind."""

import threading
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection, transaction

from orders.models import SalesOrder
from tests.core.factories import CLERK, user_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (pg_terminate_backend)")


def signed_in_opener(live_server, username: str):
    """A urllib opener with the session cookie of a signed-in user (the live server is a real
    HTTP server in another thread, with its own database connection)."""
    from django.test import Client

    client = Client()
    client.force_login(user_in(CLERK, username=username))
    cookie = client.cookies["sessionid"].value
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", f"sessionid={cookie}")]
    return opener


def fetch(opener, url: str) -> tuple[int, str]:
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def backend_waiting_on_a_lock(timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is snapshotted per transaction
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError("the request never reached the database")


def test_connection_killed_mid_request_gives_a_clean_error_then_recovers(live_server):
    opener = signed_in_opener(live_server, "resilient")
    url = f"{live_server.url}/orders/"
    assert fetch(opener, url)[0] == 200

    outcome = {}
    with transaction.atomic():
        with connection.cursor() as cursor:  # hold the orders table so the request blocks inside PostgreSQL
            cursor.execute(f"LOCK TABLE {SalesOrder._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        request = threading.Thread(target=lambda: outcome.update(result=fetch(opener, url)))
        request.start()
        victim = backend_waiting_on_a_lock()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
    request.join(30)

    status, body = outcome["result"]
    assert status == 500
    assert "Server error" in body and "Traceback" not in body  # our page, no internals

    status, body = fetch(opener, url)  # the same server process, no restart
    assert status == 200
    assert "Orders" in body


def test_connection_killed_between_requests_is_not_noticed(live_server):
    opener = signed_in_opener(live_server, "resilient2")
    url = f"{live_server.url}/orders/"
    assert fetch(opener, url)[0] == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    assert fetch(opener, url)[0] == 200  # CONN_HEALTH_CHECKS: a dead persistent connection is replaced
