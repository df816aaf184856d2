"""The KPIs a finance manager steers by, each computed by the database and each with the
definition printed beside it on the page (DEFINITIONS).

Receivables on a past day are rebuilt from the ledger, never read from today's `amount_open`:

    open on day D = open today  +  what the receivables account moved after D, reversed

i.e. today's open items plus, for every journal line on account 1200 of an invoice with an
effective date after D, (credit - debit). An invoice issued after D is taken out again by its own
invoice posting (debit) and payments applied after D are put back (credit). Both terms are one
aggregate each: the open items through the partial open-items index, the ledger lines through the
effective-date index of journal entries (only the days after D are read).
"""

import calendar
import datetime
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from credit.models import CreditDecision
from invoicing.models import Invoice
from receivables.models import Account, JournalLine

from . import cycles

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY_FIELD)
D0 = Decimal("0.00")
ONE_DECIMAL = Decimal("0.1")

# Aging buckets: (label, lowest day, highest day) of age in days; None = open-ended. Age is days
# past the due date (or since the invoice date); "Current" takes everything not yet due (age <= 0).
# Override with settings.O2C_AGING_BUCKETS in the same shape.
DEFAULT_AGING_BUCKETS = [
    ("Current", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    (">120", 121, None),
]
BASES = {"due": "due_date", "invoice": "issue_date"}
BASIS_LABELS = {"due": "days past the due date", "invoice": "days since the invoice date"}

DEFINITIONS = {
    "dso": "DSO = receivables at period end ÷ credit sales in the period × days in the period",
    "countback": (
        "Count-back DSO = receivables at period end are matched against each month's credit sales, latest "
        "month first: whole months count their days, the last month counts its share "
        "(remaining receivables ÷ that month's sales × its days)"
    ),
    "bpdso": "Best possible DSO = current (not yet due) receivables at period end ÷ credit sales × days",
    "add": "Average days delinquent = DSO − best possible DSO",
    "cei": (
        "CEI = (receivables at start + credit sales − receivables at end) ÷ "
        "(receivables at start + credit sales − current receivables at end) × 100"
    ),
    "current_share": "% current = current (not yet due) receivables ÷ all receivables × 100",
    "credit_sales": "Credit sales = invoices issued in the period − credit notes issued in the period (gross)",
    "hold_rate": "Credit hold rate = orders held at their credit check ÷ orders credit-checked in the period × 100",
    "time_on_hold": "Time on hold = hours from the hold to the credit manager's release or rejection",
    "order_to_ship": "Order to ship = ship date − order date, per shipment shipped in the period",
    "ship_to_invoice": "Ship to invoice = invoice date − ship date, per invoice issued in the period",
    "invoice_to_cash": "Invoice to cash = value date of the last payment − invoice date, per invoice paid in the period",
    "order_to_cash": "Order to cash = value date of the last payment − order date, per invoice paid in the period",
}


def aging_buckets() -> list[tuple[str, int | None, int | None]]:
    return list(getattr(settings, "O2C_AGING_BUCKETS", DEFAULT_AGING_BUCKETS))


def bucket_index(label: str) -> int | None:
    for index, (name, _, _) in enumerate(aging_buckets()):
        if name == label:
            return index
    return None


@dataclass(frozen=True)
class Scope:
    """Filters every report takes: the customer segment and the currency ("" = all)."""

    segment: str = ""
    currency: str = ""

    def invoices(self, prefix: str = "") -> Q:
        q = Q()
        if self.segment:
            q &= Q(**{f"{prefix}customer__segment": self.segment})
        if self.currency:
            q &= Q(**{f"{prefix}currency": self.currency})
        return q


EVERYTHING = Scope()


def _bucket_q(field_path: str, low: int | None, high: int | None, on: datetime.date) -> Q:
    """Age = on - date; low <= age <= high written on the date so the index can be used."""
    q = Q()
    if low is not None:
        q &= Q(**{f"{field_path}__lte": on - datetime.timedelta(days=low)})
    if high is not None:
        q &= Q(**{f"{field_path}__gte": on - datetime.timedelta(days=high)})
    return q


def open_invoices(scope: Scope = EVERYTHING):
    """Invoices open today (the live state the ledger postings keep)."""
    return Invoice.objects.filter(
        scope.invoices(), kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED, amount_open__gt=0
    )


def ledger_after(on: datetime.date, scope: Scope = EVERYTHING):
    """Receivables-account lines of invoices posted after `on`: what must be reversed to see `on`."""
    return JournalLine.objects.filter(
        scope.invoices("entry__invoice__"),
        account=Account.RECEIVABLES,
        entry__effective_date__gt=on,
        entry__invoice__kind=Invoice.Kind.INVOICE,
    )


def _bucket_filters(column: str, buckets, on: datetime.date) -> tuple[list[str], dict]:
    """SQL conditions "low <= on - column <= high" per bucket, written on the date (index-friendly)."""
    conditions, params = [], {}
    for index, (_, low, high) in enumerate(buckets):
        parts = []
        if low is not None:
            params[f"lo{index}"] = on - datetime.timedelta(days=low)
            parts.append(f"{column} <= %(lo{index})s")
        if high is not None:
            params[f"hi{index}"] = on - datetime.timedelta(days=high)
            parts.append(f"{column} >= %(hi{index})s")
        conditions.append(" AND ".join(parts) or "TRUE")
    return conditions, params


def _aging_totals(*, on: datetime.date, basis: str, scope: Scope, buckets) -> list[tuple[Decimal, int]]:
    """(amount open on `on`, invoices open today) per bucket, in one statement: today's open items
    UNION ALL the receivables lines after `on` reversed, each row carrying its invoice's date."""
    column = BASES[basis]
    conditions, params = _bucket_filters("d", buckets, on)
    params |= {"on": on, "segment": scope.segment, "currency": scope.currency}
    customer_join = "JOIN orders_customer c ON c.id = i.customer_id" if scope.segment else ""
    scope_sql = (" AND c.segment = %(segment)s" if scope.segment else "") + (
        " AND i.currency = %(currency)s" if scope.currency else ""
    )
    sums = ", ".join(
        f"COALESCE(SUM(amount) FILTER (WHERE {c}), 0), COUNT(*) FILTER (WHERE counted AND {c})" for c in conditions
    )
    sql = f"""
        SELECT {sums} FROM (
            SELECT i.{column} AS d, i.amount_open AS amount, TRUE AS counted
            FROM invoicing_invoice i {customer_join}
            WHERE i.kind = 'invoice' AND i.status = 'issued' AND i.amount_open > 0{scope_sql}
            UNION ALL
            SELECT i.{column}, l.credit - l.debit, FALSE
            FROM receivables_journalentry e
            JOIN receivables_journalline l ON l.entry_id = e.id AND l.account = '{Account.RECEIVABLES.value}'
            JOIN invoicing_invoice i ON i.id = e.invoice_id {customer_join}
            WHERE e.effective_date > %(on)s AND i.kind = 'invoice'{scope_sql}
        ) items
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return [(Decimal(row[2 * i]).quantize(Decimal("0.01")), row[2 * i + 1]) for i in range(len(buckets))]


def aging(*, on: datetime.date, basis: str = "due", scope: Scope = EVERYTHING) -> list[dict]:
    """Receivables open on `on` per aging bucket: [{"index", "label", "amount", "count"}], one
    query (open items today + the ledger after `on` reversed, per bucket). `count` is the number
    of invoices open today in the bucket: exact for today, a guide for past days."""
    buckets = aging_buckets()
    totals = _aging_totals(on=on, basis=basis, scope=scope, buckets=buckets)
    return [
        {"index": index, "label": label, "amount": amount, "count": count}
        for index, ((label, _, _), (amount, count)) in enumerate(zip(buckets, totals, strict=True))
    ]


def invoices_in_bucket(
    *, on: datetime.date, basis: str, index: int, scope: Scope = EVERYTHING, every_bucket: bool = False
):
    """The invoices behind one aging bucket on `on` (the drill-down): open today, or touched by
    the ledger after `on`, and in the bucket's age range; annotated with `open_on` (the amount open
    on that day, rebuilt from the ledger). Rows with nothing open on `on` are left out."""
    _, low, high = (None, None, None) if every_bucket else aging_buckets()[index]
    date_field = BASES[basis]
    moved = (
        JournalLine.objects.filter(
            account=Account.RECEIVABLES, entry__effective_date__gt=on, entry__invoice_id=OuterRef("pk")
        )
        .order_by()
        .values("entry__invoice_id")
        .annotate(t=Sum(F("credit") - F("debit")))
        .values("t")
    )
    touched = ledger_after(on, scope).values("entry__invoice_id")
    return (
        Invoice.objects.filter(
            scope.invoices(), _bucket_q(date_field, low, high, on), kind=Invoice.Kind.INVOICE, issue_date__lte=on
        )
        .filter(Q(status=Invoice.Status.ISSUED, amount_open__gt=0) | Q(pk__in=touched))
        .annotate(
            open_on=F("amount_open")
            + Coalesce(Subquery(moved, output_field=DecimalField(max_digits=14, decimal_places=2)), ZERO)
        )
        .filter(open_on__gt=0)
        .select_related("customer")
        .only(
            "number",
            "issue_date",
            "due_date",
            "total",
            "amount_open",
            "currency",
            "customer__name",
            "customer__account_number",
            "customer__segment",
        )
        .order_by(date_field, "id")
    )


def receivables_on(*, on: datetime.date, scope: Scope = EVERYTHING) -> dict[str, Decimal]:
    """Total and current (not yet due) receivables open on `on`, rebuilt from the ledger: one query."""
    (current, _), (overdue, _) = _aging_totals(
        on=on, basis="due", scope=scope, buckets=[("current", None, 0), ("overdue", 1, None)]
    )
    return {"total": current + overdue, "current": current}


def totals_of(buckets: list[dict]) -> dict[str, Decimal]:
    """Total and current receivables from an aging by due date (current = the buckets not yet due)."""
    current_labels = {label for label, _, high in aging_buckets() if high is not None and high <= 0}
    return {
        "total": sum((b["amount"] for b in buckets), D0),
        "current": sum((b["amount"] for b in buckets if b["label"] in current_labels), D0),
    }


COUNT_BACK_MONTHS = 12  # count-back looks at most this many months back (then: not measurable)


def totals_through() -> datetime.date | None:
    """The last day the nightly DailyTotal rebuild covers (None: never rebuilt, read everything live)."""
    from .models import DailyTotalsRefresh

    return DailyTotalsRefresh.objects.order_by("-through").values_list("through", flat=True).first()


@dataclass
class PeriodTotals:
    credit_sales: Decimal  # invoices + charges - credit notes issued in [start, end], gross
    monthly_sales: dict  # {first day of month: credit sales} over COUNT_BACK_MONTHS up to `end`
    invoices_issued: int  # invoices (not charges or credit notes) issued in [start, end]
    cash_received: Decimal  # payments by value date in [start, end], reversed ones left out


_TOTALS_SQL = """
WITH days AS (
    SELECT t.day, t.sales - t.credit_notes AS sales, t.invoices, t.cash FROM reporting_dailytotal t
    WHERE t.day BETWEEN %(history_start)s AND %(end)s AND t.day <= %(through)s
      AND (%(segment)s = '' OR t.segment = %(segment)s) AND (%(currency)s = '' OR t.currency = %(currency)s)
    UNION ALL
    SELECT i.issue_date, CASE WHEN i.kind = 'credit_note' THEN -i.total ELSE i.total END,
           CASE WHEN i.kind = 'invoice' THEN 1 ELSE 0 END, 0
    FROM invoicing_invoice i {invoice_customer}
    WHERE i.status <> 'draft' AND i.issue_date BETWEEN %(history_start)s AND %(end)s AND i.issue_date > %(through)s
      {invoice_scope}
    UNION ALL
    SELECT p.value_date, 0, 0, p.amount
    FROM receivables_payment p {payment_customer}
    WHERE p.status <> 'reversed' AND p.value_date BETWEEN %(start)s AND %(end)s AND p.value_date > %(through)s
      {payment_scope}
)
SELECT EXTRACT(YEAR FROM day)::int, EXTRACT(MONTH FROM day)::int, COALESCE(SUM(sales), 0),
       COALESCE(SUM(sales) FILTER (WHERE day >= %(start)s), 0),
       COALESCE(SUM(invoices) FILTER (WHERE day >= %(start)s), 0),
       COALESCE(SUM(cash) FILTER (WHERE day >= %(start)s), 0)
FROM days GROUP BY 1, 2
"""


def period_totals(
    *, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING, through: datetime.date | None = None
) -> PeriodTotals:
    """Credit sales (the period's and each month's for count-back), invoices issued and cash received,
    in one query: closed days up to `through` from the nightly DailyTotal rows, the days after it
    live from invoices and payments (through their date indexes). `through` None: all live."""
    history_start = min(start, _months_back(_month_start(end), COUNT_BACK_MONTHS - 1))
    join = "JOIN orders_customer c ON c.id = {}.customer_id" if scope.segment else ""
    sql = _TOTALS_SQL.format(
        invoice_customer=join.format("i"),
        payment_customer=join.format("p"),
        invoice_scope=(" AND c.segment = %(segment)s" if scope.segment else "")
        + (" AND i.currency = %(currency)s" if scope.currency else ""),
        payment_scope=(" AND c.segment = %(segment)s" if scope.segment else "")
        + (" AND p.currency = %(currency)s" if scope.currency else ""),
    )
    params = {
        "start": start,
        "end": end,
        "history_start": history_start,
        "through": through or datetime.date(1, 1, 1),
        "segment": scope.segment,
        "currency": scope.currency,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    monthly, period, invoices, cash = {}, D0, 0, D0
    for year, month, sales, in_period, issued, received in rows:  # one row per month, at most a few dozen
        monthly[datetime.date(year, month, 1)] = Decimal(sales)
        period += Decimal(in_period)
        invoices += int(issued)
        cash += Decimal(received)
    return PeriodTotals(
        credit_sales=period, monthly_sales=monthly, invoices_issued=invoices, cash_received=cash.quantize(D0)
    )


def credit_sales(*, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING) -> tuple[Decimal, dict]:
    """Credit sales (invoices - credit notes, gross, by issue date) of the period [start, end],
    and per calendar month over the COUNT_BACK_MONTHS months up to `end` (for count-back), read
    live. Returns (period sales, {month's first day: sales})."""
    totals = period_totals(start=start, end=end, scope=scope)
    return totals.credit_sales, totals.monthly_sales


def _months_back(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _days(value: Decimal) -> Decimal:
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _previous_month(month: datetime.date) -> datetime.date:
    return (month - datetime.timedelta(days=1)).replace(day=1)


def count_back_dso(*, receivables: Decimal, end: datetime.date, monthly_sales: dict) -> Decimal | None:
    """Count-back DSO: walk back month by month from the month of `end` (that month counted up to
    `end`) over the monthly sales aggregates. None when the sales never cover the receivables
    (more than the months given are outstanding) or nothing is owed."""
    if receivables <= 0:
        return Decimal("0.0") if receivables == 0 else None
    remaining = receivables
    days = Decimal("0")
    month = _month_start(end)
    oldest = min(monthly_sales, default=month)
    first = True
    while month >= oldest:
        days_in = end.day if first else calendar.monthrange(month.year, month.month)[1]
        sales = monthly_sales.get(month, D0)
        if sales > 0 and remaining <= sales:
            return _days(days + remaining / sales * days_in)
        remaining -= max(sales, D0)
        days += days_in
        month = _previous_month(month)
        first = False
    return None


@dataclass
class Kpis:
    start: datetime.date
    end: datetime.date
    receivables_start: Decimal  # open at the end of the day before `start`
    receivables_end: Decimal
    current_end: Decimal
    credit_sales: Decimal
    dso: Decimal | None
    countback_dso: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None
    current_share: Decimal | None
    monthly_sales: dict = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def overdue_end(self) -> Decimal:
        return self.receivables_end - self.current_end

    @property
    def cei_collected(self) -> Decimal:
        return self.receivables_start + self.credit_sales - self.receivables_end

    @property
    def cei_collectible(self) -> Decimal:
        return self.receivables_start + self.credit_sales - self.current_end


def kpis(
    *,
    start: datetime.date,
    end: datetime.date,
    scope: Scope = EVERYTHING,
    aging_at_end: list[dict] | None = None,
    receivables_before_start: Decimal | None = None,
    totals: PeriodTotals | None = None,
) -> Kpis:
    """DSO (standard and count-back), BPDSO, ADD, CEI and % current for the period [start, end]:
    three queries (receivables at the end, at the start, the sales). `aging_at_end` (the aging by
    due date on `end`, when the caller has it already) saves the first; `receivables_before_start`
    (open at the end of the day before `start`, from that day's nightly snapshot) the second;
    `totals` (period_totals, when the caller has them) the third."""
    at_end = totals_of(aging_at_end) if aging_at_end is not None else receivables_on(on=end, scope=scope)
    if receivables_before_start is not None:
        at_start = {"total": receivables_before_start}
    else:
        at_start = receivables_on(on=start - datetime.timedelta(days=1), scope=scope)
    if totals is not None:
        sales, monthly = totals.credit_sales, totals.monthly_sales
    else:
        sales, monthly = credit_sales(start=start, end=end, scope=scope)
    days = (end - start).days + 1
    ar, current = at_end["total"], at_end["current"]
    dso = _days(ar / sales * days) if sales > 0 else None
    bpdso = _days(current / sales * days) if sales > 0 else None
    collectible = at_start["total"] + sales - current
    return Kpis(
        start=start,
        end=end,
        receivables_start=at_start["total"],
        receivables_end=ar,
        current_end=current,
        credit_sales=sales,
        dso=dso,
        countback_dso=count_back_dso(receivables=ar, end=end, monthly_sales=monthly),
        best_possible_dso=bpdso,
        average_days_delinquent=(dso - bpdso) if dso is not None else None,
        cei=_days((at_start["total"] + sales - ar) / collectible * 100) if collectible > 0 else None,
        current_share=_days(current / ar * 100) if ar > 0 else None,
        monthly_sales=monthly,
    )


# --- distributions: cycle times and time on hold (PostgreSQL: percentile_cont) -------------------
HISTOGRAM_BINS = [("0", None, 0), ("1-2", 1, 2), ("3-7", 3, 7), ("8-14", 8, 14), ("15-30", 15, 30), ("31-60", 31, 60)]
HISTOGRAM_BINS += [("61-90", 61, 90), (">90", 91, None)]
CYCLES = [
    ("order_to_ship", "Order to ship"),
    ("ship_to_invoice", "Ship to invoice"),
    ("invoice_to_cash", "Invoice to cash"),
    ("order_to_cash", "Order to cash"),
]

# Each measure starts from its period through an index (shipments by shipped_at, invoices by issue date,
# payments by value date), never from every shipment or allocation ever made.
_SHIPPED_CTE = """
shipped AS (
    SELECT s.id, s.number, (s.shipped_at AT TIME ZONE %(tz)s)::date AS shipped_on,
           MIN(o.order_date) AS order_date, MIN(c.name) AS customer, MIN(o.currency) AS currency
    FROM fulfillment_shipment s
    JOIN fulfillment_shipmentline sl ON sl.shipment_id = s.id
    JOIN orders_salesorderline ol ON ol.id = sl.order_line_id
    JOIN orders_salesorder o ON o.id = ol.order_id
    JOIN orders_customer c ON c.id = o.customer_id
    WHERE s.shipped_at IS NOT NULL AND s.shipped_at >= %(start)s::date - 1 AND s.shipped_at < %(end)s::date + 2
      AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR o.currency = %(currency)s)
    GROUP BY s.id
)"""
# Paid on the value date of the last payment applied; an invoice paid in the period had one of its
# payments in it, so only those invoices are looked at.
_PAID_CTE = """
paid AS (
    SELECT a.invoice_id, MAX(p.value_date) AS paid_on
    FROM receivables_allocation a JOIN receivables_payment p ON p.id = a.payment_id
    WHERE p.status <> 'reversed' AND a.invoice_id IN (
        SELECT pa.invoice_id FROM receivables_payment pp JOIN receivables_allocation pa ON pa.payment_id = pp.id
        WHERE pp.value_date BETWEEN %(start)s AND %(end)s AND pp.status <> 'reversed')
    GROUP BY a.invoice_id
)"""
_SAMPLE_SELECTS = {
    "order_to_ship": "SELECT number, customer, shipped_on - order_date FROM shipped "
    "WHERE shipped_on BETWEEN %(start)s AND %(end)s",
    "ship_to_invoice": "SELECT i.number, c.name, i.issue_date - (s.shipped_at AT TIME ZONE %(tz)s)::date "
    "FROM invoicing_invoice i JOIN fulfillment_shipment s ON s.id = i.shipment_id "
    "JOIN orders_customer c ON c.id = i.customer_id "
    "WHERE i.kind = 'invoice' AND i.status <> 'draft' AND i.issue_date BETWEEN %(start)s AND %(end)s "
    "AND s.shipped_at IS NOT NULL "
    "AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR i.currency = %(currency)s)",
    "invoice_to_cash": "SELECT i.number, c.name, paid.paid_on - i.issue_date "
    "FROM invoicing_invoice i JOIN paid ON paid.invoice_id = i.id JOIN orders_customer c ON c.id = i.customer_id "
    "WHERE i.kind = 'invoice' AND i.status = 'paid' AND paid.paid_on BETWEEN %(start)s AND %(end)s "
    "AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR i.currency = %(currency)s)",
    "order_to_cash": "SELECT i.number, c.name, paid.paid_on - o.order_date "
    "FROM invoicing_invoice i JOIN paid ON paid.invoice_id = i.id JOIN orders_salesorder o ON o.id = i.order_id "
    "JOIN orders_customer c ON c.id = i.customer_id "
    "WHERE i.kind = 'invoice' AND i.status = 'paid' AND paid.paid_on BETWEEN %(start)s AND %(end)s "
    "AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR i.currency = %(currency)s)",
}
_WITH = "WITH" + _SHIPPED_CTE + "," + _PAID_CTE
_SAMPLES_SQL = (
    _WITH
    + ", samples(measure, number, customer, days) AS ("
    + " UNION ALL ".join(f"SELECT '{key}', * FROM ({sql}) AS {key}" for key, sql in _SAMPLE_SELECTS.items())
    + ")"
)


def _distribution_select(value: str, bins) -> str:
    parts = [
        "COUNT(*)",
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {value})",
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {value})",
        f"AVG({value})",
    ]
    for _, low, high in bins:
        cond = []
        if low is not None:
            cond.append(f"{value} >= {low}")
        if high is not None:
            cond.append(f"{value} <= {high}")
        parts.append(f"COUNT(*) FILTER (WHERE {' AND '.join(cond)})")
    return ", ".join(parts)


def _distribution(row, bins) -> dict:
    count, median, p90, mean, *histogram = row
    as_decimal = lambda v: None if v is None else Decimal(str(v)).quantize(ONE_DECIMAL)  # noqa: E731
    return {
        "count": count,
        "median": as_decimal(median),
        "p90": as_decimal(p90),
        "mean": as_decimal(mean),
        "histogram": [{"label": label, "amount": n} for (label, _, _), n in zip(bins, histogram, strict=True)],
        "max": max(histogram, default=0),
    }


def _cycle_params(*, start, end, scope: Scope) -> dict:
    return {"tz": settings.TIME_ZONE, "start": start, "end": end, "segment": scope.segment, "currency": scope.currency}


# The figures read the stored facts (cycles.period_facts: one index range per measure, the documents touched
# since the last refresh worked out live) as counts per number of days, and the distribution is worked out
# from those counts here, exactly as the database's aggregates would over every row (_distribution_of_counts);
# before the first refresh, from the documents themselves (_SAMPLES_SQL).
_FACT_COLUMNS = "measure, days, main, currency, customer_id, document_id"
_CYCLES_FROM_FACTS = cycles.period_facts(measures=list(cycles.MEASURES.values()), columns=_FACT_COLUMNS) + (
    "SELECT measure, days, COUNT(*) FROM scoped GROUP BY measure, days"
)


def _percentile_cont(counts: list[tuple[int, int]], n: int, fraction: float) -> float | None:
    """PostgreSQL's percentile_cont over n values given as sorted (value, how many): the same float8
    arithmetic (position fraction x (n - 1), linear between the two values around it)."""
    if not n:
        return None
    position = fraction * (n - 1)
    first, second = math.floor(position), math.ceil(position)
    low = high = None
    seen = 0
    for value, count in counts:
        if low is None and first < seen + count:
            low = float(value)
        if second < seen + count:
            high = float(value)
            break
        seen += count
    return low if first == second else low + (position - first) * (high - low)


def _distribution_of_counts(counts: dict[int | None, int], bins) -> tuple:
    """(count, median, p90, mean, *histogram) as _distribution_select computes them, from how many
    documents took each number of days (None: days unknown, counted but in no figure)."""
    values = sorted((days, n) for days, n in counts.items() if days is not None)
    known = sum(n for _, n in values)
    mean = Decimal(sum(days * n for days, n in values)) / known if known else None
    histogram = [
        sum(n for days, n in values if (low is None or days >= low) and (high is None or days <= high))
        for _, low, high in bins
    ]
    median, p90 = _percentile_cont(values, known, 0.5), _percentile_cont(values, known, 0.9)
    return (sum(counts.values()), median, p90, mean, *histogram)


def cycle_times(*, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING) -> list[dict]:
    """Order to ship, ship to invoice, invoice to cash, order to cash in days, as distributions
    (count, median, p90, mean, histogram) over the documents completed in [start, end]: one query."""
    params = _cycle_params(start=start, end=end, scope=scope)
    since = cycles.touched_since()
    with connection.cursor() as cursor:
        if since is None:
            sql = _SAMPLES_SQL + f"SELECT measure, {_distribution_select('days', HISTOGRAM_BINS)} FROM samples"
            cursor.execute(sql + " GROUP BY measure", params)
            found = {row[0]: _distribution(row[1:], HISTOGRAM_BINS) for row in cursor.fetchall()}
        else:
            cursor.execute(_CYCLES_FROM_FACTS, params | {"since": since})
            counts = {}
            for measure, days, n in cursor.fetchall():
                counts.setdefault(cycles.KEYS[measure], {})[days] = n
            found = {
                key: _distribution(_distribution_of_counts(c, HISTOGRAM_BINS), HISTOGRAM_BINS)
                for key, c in counts.items()
            }
    empty = _distribution((0, None, None, None, *[0] * len(HISTOGRAM_BINS)), HISTOGRAM_BINS)
    return [
        {"key": key, "label": label, "definition": DEFINITIONS[key], **found.get(key, empty)} for key, label in CYCLES
    ]


def cycle_samples(*, measure: str, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING):
    """The documents behind a cycle time (drill-down): (document number, customer, days)."""
    params = _cycle_params(start=start, end=end, scope=scope)
    since = cycles.touched_since()
    if since is None:
        sql = f"{_WITH} {_SAMPLE_SELECTS[measure]} ORDER BY 3 DESC, 1 LIMIT 5000"
    else:
        sql = cycles.period_facts(measures=[cycles.MEASURES[measure]], columns=f"{_FACT_COLUMNS}, number") + (
            "SELECT s.number, c.name, s.days FROM (SELECT number, customer_id, days FROM scoped "
            "ORDER BY days DESC, number LIMIT 5000) s JOIN orders_customer c ON c.id = s.customer_id "
            "ORDER BY s.days DESC, s.number"
        )
        params |= {"since": since}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass
class CreditFigures:
    checked: int
    held: int
    hold_rate: Decimal | None
    on_hold_now: int
    time_on_hold: dict  # distribution in hours


HOLD_BINS = [("<1 h", None, 0.999), ("1-4 h", 1, 3.999), ("4-24 h", 4, 23.999), ("1-3 days", 24, 71.999)]
HOLD_BINS += [(">3 days", 72, None)]


def credit_figures(*, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING) -> CreditFigures:
    """Credit hold rate (orders held at the check ÷ orders checked in the period) and time on hold
    (hours from hold to decision), in one query."""
    sql = f"""
    WITH checks AS (
        SELECT d.order_id, d.outcome, d.decided_at FROM credit_creditdecision d
        JOIN orders_salesorder o ON o.id = d.order_id JOIN orders_customer c ON c.id = o.customer_id
        WHERE (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR o.currency = %(currency)s)
    ), first_check AS (
        SELECT DISTINCT ON (order_id) order_id, outcome, decided_at FROM checks
        WHERE outcome IN ('approved', 'held') ORDER BY order_id, decided_at, outcome
    ), holds AS (
        SELECT f.order_id, f.decided_at AS held_at, (
            SELECT MIN(x.decided_at) FROM checks x
            WHERE x.order_id = f.order_id AND x.outcome IN ('released', 'rejected') AND x.decided_at >= f.decided_at
        ) AS decided_at
        FROM first_check f WHERE f.outcome = 'held'
    ), in_period AS (
        SELECT * FROM first_check WHERE (decided_at AT TIME ZONE %(tz)s)::date BETWEEN %(start)s AND %(end)s
    ), hours AS (
        SELECT EXTRACT(EPOCH FROM (decided_at - held_at)) / 3600 AS h FROM holds
        WHERE decided_at IS NOT NULL AND (decided_at AT TIME ZONE %(tz)s)::date BETWEEN %(start)s AND %(end)s
    )
    SELECT (SELECT COUNT(*) FROM in_period), (SELECT COUNT(*) FROM in_period WHERE outcome = 'held'),
           (SELECT COUNT(*) FROM holds WHERE decided_at IS NULL),
           {_distribution_select("h", HOLD_BINS)}
    FROM hours
    """
    params = {"tz": settings.TIME_ZONE, "start": start, "end": end, "segment": scope.segment}
    params["currency"] = scope.currency
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        checked, held, on_hold_now, *rest = cursor.fetchone()
    return CreditFigures(
        checked=checked,
        held=held,
        hold_rate=_days(Decimal(held) / checked * 100) if checked else None,
        on_hold_now=on_hold_now,
        time_on_hold=_distribution(rest, HOLD_BINS),
    )


def held_orders_in_period(*, start: datetime.date, end: datetime.date, scope: Scope = EVERYTHING):
    """Drill-down of the hold rate: the held credit checks of the period, with their orders."""
    return (
        CreditDecision.objects.filter(
            scope.invoices("order__"),
            outcome=CreditDecision.Outcome.HELD,
            decided_at__date__gte=start,
            decided_at__date__lte=end,
        )
        .select_related("order__customer")
        .order_by("decided_at", "id")
    )
