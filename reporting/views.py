"""Report pages: the finance manager's dashboard, the credit manager's and AR clerk's views, and
a drill-down from every figure to the documents behind it. Every table exports as CSV and XLSX
(?format=csv|xlsx, with ?table=... on pages with several tables)."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from o2c.core.exports import download
from o2c.core.pagination import keyset_page
from o2c.core.roles import any_permission

from . import charts, forecast, kpis, quality, selectors
from .forms import ReportFilterForm

EXPORT_FORMATS = ("csv", "xlsx")
READ_REPORTS = ("reporting.view_reports", "credit.decide_credit_hold", "receivables.view_journalentry")


def _filters(request) -> tuple[ReportFilterForm, dict]:
    segments, currencies = selectors.filter_choices()
    form = ReportFilterForm(request.GET or None, today=timezone.localdate(), segments=segments, currencies=currencies)
    if not request.GET:
        form = ReportFilterForm({"period": "90d"}, today=timezone.localdate(), segments=segments, currencies=currencies)
    values = form.resolved()
    scope = values["scope"]
    values["query"] = urlencode(
        {
            "start": values["start"].isoformat(),
            "end": values["end"].isoformat(),
            "period": "custom",
            "segment": scope.segment,
            "currency": scope.currency,
            "basis": values["basis"],
        }
    )
    values["currency"] = scope.currency or settings.O2C_DEFAULT_CURRENCY
    values["form"] = form
    return form, values


def _export(request, headers, rows, name: str):
    file_format = request.GET.get("format", "")
    if file_format not in EXPORT_FORMATS:
        return None
    return download(headers, rows, filename=name, file_format=file_format)


def _wants_export(request) -> bool:
    return request.GET.get("format", "") in EXPORT_FORMATS


def _kpi_rows(k: kpis.Kpis) -> list[tuple]:
    d = kpis.DEFINITIONS
    return [
        ("Receivables at period start", k.receivables_start, "", "open at the end of the day before the period"),
        ("Receivables at period end", k.receivables_end, "", "open on the last day, rebuilt from the ledger"),
        ("Current receivables at period end", k.current_end, "", "not yet due on the last day"),
        ("Credit sales", k.credit_sales, "", d["credit_sales"]),
        ("DSO", k.dso, "days", d["dso"]),
        ("Count-back DSO", k.countback_dso, "days", d["countback"]),
        ("Best possible DSO", k.best_possible_dso, "days", d["bpdso"]),
        ("Average days delinquent", k.average_days_delinquent, "days", d["add"]),
        ("Collection effectiveness index", k.cei, "%", d["cei"]),
        ("% current", k.current_share, "%", d["current_share"]),
    ]


def quality_definitions(days: int) -> dict:
    return quality.DEFINITIONS | {"dunning": quality.DEFINITIONS["dunning"].format(days=days)}


def _quality_rows(q: quality.Quality) -> list[tuple]:
    d = quality_definitions(q.window_days)
    rows = [
        ("Perfect order rate", q.perfect_orders.rate, "%", d["perfect_order"]),
        ("Invoice error rate", q.invoice_errors.rate, "%", d["invoice_errors"]),
    ]
    rows += [(f"Invoice errors: {r['label']}", r["rate"], "% of invoices", "") for r in q.invoice_errors.by_reason]
    rows += [
        ("Auto-match rate", q.auto_match.rate, "%", d["auto_match"]),
        ("Promise-kept rate", q.promises.rate, "%", d["promise_kept"]),
    ]
    rows += [
        (f"Dunning effectiveness, {r['procedure']} level {r['level']} ({r['name']})", r["rate"], "%", d["dunning"])
        for r in q.dunning
    ]
    return rows


def _aging_rows(buckets):
    return [(b["label"], b["amount"], b["count"]) for b in buckets]


def _trend_chart(snapshots):
    if len(snapshots) < 2:
        return None
    return charts.line_chart(
        labels=[s.taken_on.strftime("%-d %b") for s in snapshots],
        series=[
            ("Open", [s.open_total for s in snapshots], "var(--primary)"),
            ("Overdue", [s.overdue_total for s in snapshots], "#b45309"),
        ],
    )


@any_permission("reporting.view_reports")
def dashboard(request):
    """The finance manager's figures for a period: KPIs with their definitions, aging, credit,
    cash, orders and the AR trend; a fixed number of queries whatever the data size."""
    form, f = _filters(request)
    o = selectors.overview(start=f["start"], end=f["end"], scope=f["scope"], basis=f["basis"])
    if _wants_export(request):
        if request.GET.get("table") == "aging":
            return _export(request, ["Bucket", "Amount", "Invoices open today"], _aging_rows(o.aging), "aging")
        rows = [(name, value, unit, definition) for name, value, unit, definition in _kpi_rows(o.kpis)]
        rows += [("Credit hold rate", o.credit.hold_rate, "%", kpis.DEFINITIONS["hold_rate"])]
        rows += [("Cash received", o.cash_received, "", "payments by value date in the period")]
        rows += _quality_rows(o.quality)
        return _export(request, ["Figure", "Value", "Unit", "Definition"], rows, "kpis")
    context = {
        "o": o,
        "k": o.kpis,
        "f": f,
        "form": form,
        "currency": f["currency"],
        "definitions": kpis.DEFINITIONS,
        "basis_label": kpis.BASIS_LABELS[o.basis],
        "trend_chart": _trend_chart(o.trend),
        "quality": o.quality,
        "quality_definitions": quality_definitions(o.quality.window_days),
        "view_name": "reporting:dashboard",
    }
    return render(request, "reporting/dashboard.html", context)


@any_permission("reporting.view_reports", "credit.decide_credit_hold")
def credit_view(request):
    """The credit manager's view: hold rate and time on hold, aging by due date."""
    form, f = _filters(request)
    credit = kpis.credit_figures(start=f["start"], end=f["end"], scope=f["scope"])
    aging = kpis.aging(on=f["end"], basis="due", scope=f["scope"])
    if _wants_export(request):
        if request.GET.get("table") == "aging":
            return _export(request, ["Bucket", "Amount", "Invoices open today"], _aging_rows(aging), "aging")
        hist = [(b["label"], b["amount"]) for b in credit.time_on_hold["histogram"]]
        return _export(request, ["Time on hold", "Orders"], hist, "time-on-hold")
    context = {
        "credit": credit,
        "aging": aging,
        "aging_max": max((b["amount"] for b in aging), default=0),
        "f": f,
        "form": form,
        "currency": f["currency"],
        "definitions": kpis.DEFINITIONS,
        "view_name": "reporting:credit",
    }
    return render(request, "reporting/credit.html", context)


@any_permission("reporting.view_reports", "receivables.view_journalentry")
def receivables_view(request):
    """The AR clerk's view: aging by due date and by invoice date, % current, overdue."""
    form, f = _filters(request)
    by_due = kpis.aging(on=f["end"], basis="due", scope=f["scope"])
    by_invoice = kpis.aging(on=f["end"], basis="invoice", scope=f["scope"])
    totals = kpis.totals_of(by_due)
    if _wants_export(request):
        table = by_invoice if request.GET.get("table") == "invoice" else by_due
        return _export(request, ["Bucket", "Amount", "Invoices open today"], _aging_rows(table), "aging")
    share = (totals["current"] / totals["total"] * 100).quantize(kpis.ONE_DECIMAL) if totals["total"] else None
    context = {
        "by_due": by_due,
        "by_invoice": by_invoice,
        "max_due": max((b["amount"] for b in by_due), default=0),
        "max_invoice": max((b["amount"] for b in by_invoice), default=0),
        "totals": totals,
        "overdue": totals["total"] - totals["current"],
        "current_share": share,
        "f": f,
        "form": form,
        "currency": f["currency"],
        "definitions": kpis.DEFINITIONS,
        "view_name": "reporting:receivables",
    }
    return render(request, "reporting/receivables.html", context)


@any_permission("reporting.view_reports")
def cycle_times(request):
    """Order to ship, ship to invoice, invoice to cash, order to cash as distributions."""
    form, f = _filters(request)
    cycles = kpis.cycle_times(start=f["start"], end=f["end"], scope=f["scope"])
    if _wants_export(request):
        rows = [(c["label"], c["count"], c["median"], c["p90"], c["mean"], c["definition"]) for c in cycles]
        return _export(
            request,
            ["Measure", "Documents", "Median days", "90th percentile", "Mean", "Definition"],
            rows,
            "cycle-times",
        )
    context = {"cycles": cycles, "f": f, "form": form, "currency": f["currency"], "view_name": "reporting:cycles"}
    return render(request, "reporting/cycle_times.html", context)


@any_permission(*READ_REPORTS)
def cash_forecast(request):
    """Expected receipts per week for 13 weeks, and the last weeks' forecast against actuals."""
    form, f = _filters(request)
    today = timezone.localdate()
    weeks = forecast.cash_forecast(on=today, scope=f["scope"])
    past = forecast.forecast_against_actuals(on=today, scope=f["scope"])
    if _wants_export(request):
        if request.GET.get("table") == "actuals":
            rows = [(r["week_start"], r["currency"], r["forecast"], r["actual"], r["difference"]) for r in past]
            return _export(
                request, ["Week of", "Currency", "Forecast", "Received", "Difference"], rows, "forecast-vs-actual"
            )
        rows = [(r["week_start"] or "later", r["currency"], r["expected"], r["invoices"]) for r in weeks]
        return _export(request, ["Week of", "Currency", "Expected", "Invoices"], rows, "cash-forecast")
    context = {
        "weeks": weeks,
        "weeks_max": max((r["expected"] for r in weeks), default=0),
        "past": past,
        "definition": forecast.DEFINITION,
        "f": f,
        "form": form,
        "currency": f["currency"],
        "view_name": "reporting:forecast",
    }
    return render(request, "reporting/forecast.html", context)


# --- drill-downs ---------------------------------------------------------------------------------
def _bucket_title(basis: str, index: int | None) -> str:
    if index is None:
        return "All open receivables"
    return f"{kpis.aging_buckets()[index][0]} ({kpis.BASIS_LABELS[basis]})"


@any_permission(*READ_REPORTS)
def aging_invoices(request):
    """The invoices behind an aging bucket (?bucket=N, or all), open on the period's end day."""
    form, f = _filters(request)
    bucket = request.GET.get("bucket", "")
    buckets = kpis.aging_buckets()
    if bucket == "":
        index = None
    elif bucket.isdigit() and int(bucket) < len(buckets):
        index = int(bucket)
    else:
        raise Http404(f"No aging bucket {bucket!r}: choose 0 to {len(buckets) - 1}.")
    on, basis = f["end"], f["basis"]
    if index is None:
        rows = kpis.invoices_in_bucket(on=on, basis=basis, index=0, scope=f["scope"], every_bucket=True)
    else:
        rows = kpis.invoices_in_bucket(on=on, basis=basis, index=index, scope=f["scope"])
    if _wants_export(request):
        data = (
            (
                i.number,
                i.customer.name,
                i.customer.account_number,
                i.issue_date,
                i.due_date,
                i.currency,
                i.total,
                i.open_on,
            )
            for i in rows.iterator(chunk_size=2000)
        )
        headers = ["Invoice", "Customer", "Account", "Issued", "Due", "Currency", "Total", f"Open on {on.isoformat()}"]
        return _export(request, headers, data, f"aging-{bucket or 'all'}-{on.isoformat()}")
    page = keyset_page(request, rows, order=(kpis.BASES[basis], "id"))
    for invoice in page.rows:
        invoice.age = (on - getattr(invoice, kpis.BASES[basis])).days
    context = {
        "page": page,
        "title": _bucket_title(basis, index),
        "on": on,
        "basis": basis,
        "bucket": bucket,
        "f": f,
        "form": form,
        "currency": f["currency"],
        "view_name": "reporting:aging_invoices",
    }
    return render(request, "reporting/aging_invoices.html", context)


@any_permission(*READ_REPORTS)
def sales_invoices(request):
    """The invoices and credit notes behind the credit sales of the period."""
    form, f = _filters(request)
    rows = selectors.sales_in_period(start=f["start"], end=f["end"], scope=f["scope"])
    if _wants_export(request):
        data = (
            (i.number, i.get_kind_display(), i.customer.name, i.issue_date, i.due_date, i.currency, i.total)
            for i in rows.iterator(chunk_size=2000)
        )
        return _export(
            request, ["Document", "Kind", "Customer", "Issued", "Due", "Currency", "Total"], data, "credit-sales"
        )
    page = keyset_page(request, rows, order=("issue_date", "id"))
    context = {"page": page, "f": f, "form": form, "currency": f["currency"], "view_name": "reporting:sales"}
    return render(request, "reporting/sales_invoices.html", context)


@any_permission(*READ_REPORTS)
def payments(request):
    """The payments behind the cash received in the period."""
    form, f = _filters(request)
    rows = selectors.payments_in_period(start=f["start"], end=f["end"], scope=f["scope"])
    if _wants_export(request):
        data = (
            (p.pk, p.customer.name, p.value_date, p.currency, p.amount, p.get_status_display())
            for p in rows.iterator(chunk_size=2000)
        )
        return _export(
            request, ["Payment", "Customer", "Value date", "Currency", "Amount", "Status"], data, "cash-received"
        )
    page = keyset_page(request, rows, order=("-value_date", "-id"))
    context = {"page": page, "f": f, "form": form, "currency": f["currency"], "view_name": "reporting:payments"}
    return render(request, "reporting/payments.html", context)


@any_permission("reporting.view_reports")
def cycle_documents(request, measure: str):
    """The documents behind one cycle time, longest first (at most 5,000)."""
    if measure not in dict(kpis.CYCLES):
        raise Http404(f"No cycle time {measure!r}.")
    form, f = _filters(request)
    rows = kpis.cycle_samples(measure=measure, start=f["start"], end=f["end"], scope=f["scope"])
    if _wants_export(request):
        return _export(request, ["Document", "Customer", "Days"], rows, measure.replace("_", "-"))
    context = {
        "rows": rows,
        "measure": measure,
        "label": dict(kpis.CYCLES)[measure],
        "definition": kpis.DEFINITIONS[measure],
        "f": f,
        "form": form,
        "currency": f["currency"],
        "view_name": "reporting:cycles",
    }
    return render(request, "reporting/cycle_documents.html", context)


@any_permission("reporting.view_reports", "credit.decide_credit_hold")
def held_orders(request):
    """The orders held at their credit check in the period (the hold rate's numerator)."""
    form, f = _filters(request)
    rows = kpis.held_orders_in_period(start=f["start"], end=f["end"], scope=f["scope"])
    if _wants_export(request):
        data = (
            (
                d.order.number,
                d.order.customer.name,
                timezone.localtime(d.decided_at),
                d.order.get_status_display(),
                d.reasons,
            )
            for d in rows.iterator(chunk_size=2000)
        )
        return _export(request, ["Order", "Customer", "Held at", "Status now", "Reasons"], data, "credit-holds")
    context = {"rows": rows[:500], "f": f, "form": form, "currency": f["currency"], "view_name": "reporting:holds"}
    return render(request, "reporting/held_orders.html", context)


QUALITY_DRILLS = {
    "perfect-orders": (
        "Orders behind the perfect order rate",
        "perfect_order",
        [
            "Order",
            "Customer",
            "Requested",
            "Last shipped",
            "Shipments",
            "On time",
            "Complete",
            "Undamaged",
            "Invoiced right",
        ],
        quality.perfect_order_rows,
    ),
    "invoice-errors": (
        "Credit notes and disputes behind the invoice error rate",
        "invoice_errors",
        ["Document", "Kind", "Reason", "Invoice", "Customer", "Date", "Amount"],
        quality.invoice_error_rows,
    ),
    "auto-match": (
        "Incoming bank lines behind the auto-match rate",
        "auto_match",
        ["Booked", "Payer", "Amount", "Currency", "Matched", "Remittance"],
        quality.auto_match_rows,
    ),
    "promises": (
        "Promises to pay due in the period",
        "promise_kept",
        ["Promised for", "Customer", "Amount", "Currency", "Status", "Closed on", "Note"],
        quality.promise_rows,
    ),
    "dunning": (
        "Dunned items behind the dunning effectiveness",
        "dunning",
        ["Invoice", "Customer", "Level", "Letter sent", "Dunned", "Paid in the window", "Outcome"],
        quality.dunning_rows,
    ),
}


@any_permission("reporting.view_reports")
def quality_documents(request, measure: str):
    """The documents behind one quality KPI (at most 5,000 on the page; the export has the same)."""
    if measure not in QUALITY_DRILLS:
        raise Http404(f"No quality figure {measure!r}: choose one of {', '.join(QUALITY_DRILLS)}.")
    title, key, headers, read = QUALITY_DRILLS[measure]
    form, f = _filters(request)
    extra = {"on": timezone.localdate()} if measure == "dunning" else {}
    rows = read(start=f["start"], end=f["end"], scope=f["scope"], **extra)
    if _wants_export(request):
        return _export(request, headers, rows, measure)
    context = {
        "rows": rows,
        "headers": headers,
        "title": title,
        "definition": quality_definitions(quality.window_days())[key],
        "f": f,
        "form": form,
        "currency": f["currency"],
        "view_name": "reporting:dashboard",
    }
    return render(request, "reporting/quality_documents.html", context)
