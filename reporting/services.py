"""Writes of the reporting app: only its own history tables (the rest it reads), and the digest."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from o2c.core import roles

from . import digest, forecast, kpis
from .models import ArSnapshot, CashForecastWeek


def take_ar_snapshot(*, on: datetime.date) -> tuple[ArSnapshot, bool]:
    """Keep the picture of receivables for day `on`, once: when that day's snapshot exists it is
    returned unchanged (created False), so running the nightly task twice changes nothing.
    Open, current and overdue receivables and the aging are rebuilt from the ledger for `on`;
    DSO is over the 90 days up to `on`."""
    existing = ArSnapshot.objects.filter(taken_on=on).first()
    if existing is not None:
        return existing, False
    figures = kpis.kpis(start=on - datetime.timedelta(days=89), end=on)
    buckets = kpis.aging(on=on)
    open_count = kpis.open_invoices().count()
    with transaction.atomic():
        # get_or_create: a parallel run that stored the day first wins, this one reads it.
        return ArSnapshot.objects.get_or_create(
            taken_on=on,
            defaults={
                "open_total": figures.receivables_end,
                "current_total": figures.current_end,
                "overdue_total": figures.overdue_end,
                "open_invoices": open_count,
                "dso": figures.dso,
                "aging": [{"label": b["label"], "amount": str(b["amount"])} for b in buckets],
            },
        )


def record_cash_forecast(*, on: datetime.date) -> list[CashForecastWeek]:
    """Store the 13-week forecast as made on `on` (one row per week and currency), so each week
    can later be compared with the cash that came in. Made twice the same day: replaced."""
    rows = [row for row in forecast.cash_forecast(on=on) if row["week_start"] is not None]
    with transaction.atomic():
        CashForecastWeek.objects.filter(made_on=on).delete()
        return CashForecastWeek.objects.bulk_create(
            CashForecastWeek(
                made_on=on,
                week_start=row["week_start"],
                currency=row["currency"],
                expected=row["expected"],
                invoices=row["invoices"],
            )
            for row in rows
        )


def finance_managers_emails() -> list[str]:
    users = get_user_model().objects.filter(groups__name=roles.FINANCE_MANAGER, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def send_kpi_digest(*, on: datetime.date) -> int:
    """Email the weekly KPI digest (a PDF of the last 4 weeks' figures) to every active finance
    manager with an email address. Returns the number of recipients (0: nothing is sent)."""
    recipients = finance_managers_emails()
    if not recipients:
        return 0
    context = digest.digest_context(on=on)
    pdf = digest.digest_pdf(context)
    message = EmailMessage(
        subject=f"KPI digest, the four weeks to {context['end']:%d %b %Y}",
        body=render_to_string("reporting/digest_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach(f"kpi-digest-{on.isoformat()}.pdf", pdf, "application/pdf")
    message.send()
    return len(recipients)
