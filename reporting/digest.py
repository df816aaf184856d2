"""The weekly KPI digest: the figures of the last four weeks as a PDF (pure: data in, bytes out)."""

import datetime

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from . import forecast, kpis

# Only data: URLs: the digest can never reach the network or the file system.
DATA_ONLY_FETCHER = URLFetcher(allowed_protocols={"data"}, timeout=1)
DIGEST_DAYS = 28


def digest_context(*, on: datetime.date) -> dict:
    """The four weeks ending the day before `on`; aging and forecast as of that day."""
    end = on - datetime.timedelta(days=1)
    start = end - datetime.timedelta(days=DIGEST_DAYS - 1)
    aging = kpis.aging(on=end)
    return {
        "on": on,
        "start": start,
        "end": end,
        "kpis": kpis.kpis(start=start, end=end),
        "aging": aging,
        "aging_max": max((b["amount"] for b in aging), default=0),
        "cycles": kpis.cycle_times(start=start, end=end),
        "credit": kpis.credit_figures(start=start, end=end),
        "forecast": [row for row in forecast.cash_forecast(on=on) if row["week_start"] is not None][:13],
        "definitions": kpis.DEFINITIONS,
        "company": settings.O2C_COMPANY,
        "currency": settings.O2C_DEFAULT_CURRENCY,
    }


def digest_pdf(context: dict) -> bytes:
    html = render_to_string("reporting/digest_pdf.html", context)
    return HTML(string=html, url_fetcher=DATA_ONLY_FETCHER).write_pdf()
