"""Browser tests: Debian's Chromium driven by Playwright (sync API) against pytest-django's
live_server, with a real Celery worker when a test asks for `celery_worker_process`."""

import os
import shutil

import pytest

from tests.worker import celery_worker_process  # noqa: F401  (a fixture, used by name)

# Playwright's sync API runs an event loop in this thread; without this Django refuses the ORM
# calls the tests make between two browser steps (SynchronousOnlyOperation).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("O2C_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEFAULT_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (`playwright install` is never used: Debian's build is)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"No Chromium at {CHROMIUM} (apt-get install chromium, or set O2C_CHROMIUM).")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh context (cookies, downloads) per test, opened on the live server."""
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)  # assertions wait as long as actions
    context = browser.new_context(
        base_url=live_server.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    refused = []  # the Content-Security-Policy (o2c/settings.py) must never block our own pages
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert refused == [], f"The browser refused content under the CSP: {refused}"
