"""Writes of the reporting app: only its own history tables (the rest it reads), and the digest."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from o2c.core import roles

from . import cycles, digest, forecast, kpis, quality
from .models import (
    ArSnapshot,
    CashForecastWeek,
    CycleFact,
    CycleFactsRefresh,
    DailyTotal,
    DailyTotalsRefresh,
    OrderQuality,
    OrderQualityRefresh,
)


def take_ar_snapshot(*, on: datetime.date) -> tuple[ArSnapshot, bool]:
    """Keep the picture of receivables for day `on`, once: when that day's snapshot exists it is
    returned unchanged (created False), so running the nightly task twice changes nothing.
    Open, current and overdue receivables and the aging are rebuilt from the ledger for `on`;
    DSO is over the 90 days up to `on`."""
    refresh_daily_totals(through=timezone.localdate() - datetime.timedelta(days=1))
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


_DAILY_TOTALS_SQL = """
INSERT INTO reporting_dailytotal (day, segment, currency, sales, credit_notes, invoices, cash)
SELECT day, segment, currency, SUM(sales), SUM(credit_notes), SUM(invoices), SUM(cash) FROM (
    SELECT i.issue_date AS day, c.segment AS segment, i.currency AS currency,
           COALESCE(SUM(CASE WHEN i.kind <> 'credit_note' THEN i.total END), 0) AS sales,
           COALESCE(SUM(CASE WHEN i.kind = 'credit_note' THEN i.total END), 0) AS credit_notes,
           COUNT(CASE WHEN i.kind = 'invoice' THEN 1 END) AS invoices, 0 AS cash
    FROM invoicing_invoice i JOIN orders_customer c ON c.id = i.customer_id
    WHERE i.status <> 'draft' AND i.issue_date <= %(through)s
    GROUP BY i.issue_date, c.segment, i.currency
    UNION ALL
    SELECT p.value_date, c.segment, p.currency, 0, 0, 0, SUM(p.amount)
    FROM receivables_payment p JOIN orders_customer c ON c.id = p.customer_id
    WHERE p.status <> 'reversed' AND p.value_date <= %(through)s
    GROUP BY p.value_date, c.segment, p.currency
) t
GROUP BY day, segment, currency
"""


def refresh_daily_totals(*, through: datetime.date) -> DailyTotalsRefresh:
    """Rebuild the daily credit sales and cash totals of every day up to `through` (one GROUP BY
    over invoices and payments), once per `through`: a second call the same night returns the
    first refresh. The whole history is rebuilt, so documents dated in the past and reversed
    payments entered since the last night are counted correctly from now on."""
    existing = DailyTotalsRefresh.objects.filter(through=through).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        if connection.vendor == "postgresql":  # two workers rebuilding at once: the second waits, then finds it done
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE reporting_dailytotalsrefresh IN SHARE ROW EXCLUSIVE MODE")
        existing = DailyTotalsRefresh.objects.filter(through=through).first()
        if existing is not None:
            return existing
        DailyTotal.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(_DAILY_TOTALS_SQL, {"through": through})
            days = cursor.rowcount
        return DailyTotalsRefresh.objects.create(through=through, days=max(days, 0))


def _last_refresh(refresh_model, *, full: bool):
    """Inside the caller's transaction: lock `refresh_model`'s log (a second refresh waits for the
    first, then does only what was touched in between) and return (now, the last refresh or None
    when this one is to be full)."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {refresh_model._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    last = None if full else refresh_model.objects.first()
    return timezone.now(), last


def _vacuum_after_full(table: str) -> None:
    """After a full rebuild: the planner's statistics, and outside a transaction the visibility map,
    so the period reads stay index-only."""
    with connection.cursor() as cursor:
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {table}")


def refresh_order_quality(*, full: bool = False) -> OrderQualityRefresh:
    """Work out the perfect-order checks of every order touched since the last refresh (less a margin
    for transactions still open then), or of every shipped order when `full` or on the first run, and
    store them in OrderQuality. Safe to run at any time; a read never waits for it."""
    with transaction.atomic():
        started, last = _last_refresh(OrderQualityRefresh, full=full)
        full = last is None
        if full:
            OrderQuality.objects.all().delete()
        since = datetime.datetime.min.replace(tzinfo=datetime.UTC) if full else last.started_at - quality.REFRESH_MARGIN
        with connection.cursor() as cursor:
            cursor.execute(quality.REFRESH_SQL, {"since": since, "tz": settings.TIME_ZONE})
            orders = max(cursor.rowcount, 0)
        refresh = OrderQualityRefresh.objects.create(started_at=started, orders=orders, full=full)
    if full:
        _vacuum_after_full("reporting_orderquality")
    return refresh


def refresh_cycle_facts(*, full: bool = False) -> CycleFactsRefresh:
    """Work out the cycle-time facts of every document touched since the last refresh (less a margin for
    transactions still open then), or of every shipment and invoice when `full` or on the first run, and
    store them in CycleFact. Safe to run at any time; a read never waits for it."""
    with transaction.atomic():
        started, last = _last_refresh(CycleFactsRefresh, full=full)
        full = last is None
        params = {"tz": settings.TIME_ZONE}
        with connection.cursor() as cursor:
            if full:
                CycleFact.objects.all().delete()
                cursor.execute(cycles.FULL_SQL, params)
            else:
                params["since"] = last.started_at - cycles.REFRESH_MARGIN
                cursor.execute(cycles.REFRESH_DELETE_SQL, params)
                cursor.execute(cycles.REFRESH_INSERT_SQL, params)
            documents = max(cursor.rowcount, 0)
        refresh = CycleFactsRefresh.objects.create(started_at=started, documents=documents, full=full)
    if full:
        _vacuum_after_full("reporting_cyclefact")
    return refresh


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
