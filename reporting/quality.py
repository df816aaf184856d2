"""The quality KPIs: perfect order rate, invoice error rate by reason, auto-match rate of cash
application, promise-kept rate and dunning effectiveness. Each is one SQL statement returning one
JSON value of counts (the database counts; Python only divides), so the dashboard can fetch all of
them in a single round trip (`quality_figures`). Each has a drill-down to the documents behind it.

Definitions (DEFINITIONS, printed beside each figure):

- Perfect order: orders whose first shipment left in the period; perfect when all four hold:
  on time  = shipped (last shipment) on or before the requested delivery date (no date asked: on time);
  complete = one shipment carried every line's full ordered quantity;
  undamaged = no delivery discrepancy (short, damaged, refused) on the proof of delivery;
  invoiced right = no credit note and no dispute on any of the order's invoices.
- Invoice error rate: invoices issued in the period with at least one credit note or dispute ÷
  invoices issued. By reason: disputes by their reason code, credit notes by their reason text
  (a credit note that resolved a dispute is counted once, as the dispute).
- Auto-match rate: incoming statement lines booked in the period that the matching engine applied
  on its own (matched, nobody confirmed) ÷ incoming lines; lines ignored as not customer cash are
  left out of both.
- Promise-kept rate: promises to pay due in the period that were kept ÷ those kept or broken (open
  and cancelled promises are not decided yet / not counted).
- Dunning effectiveness (per level): items on letters sent in the period whose dunned amount was
  paid within N days of the letter (cash, discount and write-offs applied to the invoice from
  payments with a value date from the letter's day to N days after) ÷ items whose N days are over.
"""

import datetime
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection

from .kpis import EVERYTHING, Scope

ONE_DECIMAL = Decimal("0.1")
DUNNING_WINDOW_DAYS = 14  # settings.O2C_DUNNING_EFFECTIVENESS_DAYS overrides

DEFINITIONS = {
    "perfect_order": (
        "Perfect order rate = orders on time, complete, undamaged and invoiced right ÷ orders first shipped in the "
        "period × 100. On time: last shipment on or before the requested delivery date; complete: one shipment "
        "with every line's full quantity; undamaged: no delivery discrepancy; invoiced right: no credit note or "
        "dispute on its invoices"
    ),
    "invoice_errors": (
        "Invoice error rate = invoices issued in the period with a credit note or a dispute ÷ invoices issued × 100; "
        "by reason: disputes by reason code, credit notes by their reason (one resolving a dispute counts once)"
    ),
    "auto_match": (
        "Auto-match rate = incoming bank statement lines of the period matched and applied without a person ÷ "
        "incoming lines × 100 (lines ignored as not customer cash left out)"
    ),
    "promise_kept": "Promise-kept rate = promises to pay due in the period kept ÷ (kept + broken) × 100",
    "dunning": (
        "Dunning effectiveness, per level = items on letters sent in the period paid in full within {days} days of "
        "the letter ÷ items whose {days} days are over × 100"
    ),
}


def window_days() -> int:
    return int(getattr(settings, "O2C_DUNNING_EFFECTIVENESS_DAYS", DUNNING_WINDOW_DAYS))


def rate(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / whole * 100).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP) if whole else None


def _params(*, start, end, scope: Scope, on: datetime.date | None = None) -> dict:
    return {
        "start": start,
        "end": end,
        "segment": scope.segment,
        "currency": scope.currency,
        "tz": settings.TIME_ZONE,
        "days": window_days(),
        "on": on or datetime.date.today(),
    }


# --- perfect order -----------------------------------------------------------------------------------
# Each shipped order's four checks are worked out once into reporting_orderquality (refresh_order_quality,
# by beat every few minutes); a read sums that table for the period and works out live only the orders
# touched since the last refresh, so the figure is as fresh as the documents.
REFRESH_MARGIN = datetime.timedelta(hours=1)  # a transaction still open at a refresh is caught by the next
# Orders touched at or after {since}: a shipment left, a proof of delivery with a discrepancy came back,
# or one of their invoices got a credit note or a dispute. Each arm starts from an index or a small table.
_TOUCHED = """
    SELECT ol.order_id FROM fulfillment_shipment s
    JOIN fulfillment_shipmentline sl ON sl.shipment_id = s.id
    JOIN orders_salesorderline ol ON ol.id = sl.order_line_id
    WHERE s.shipped_at IS NOT NULL AND s.shipped_at >= {since}
    UNION
    SELECT ol.order_id FROM fulfillment_deliverydiscrepancy d
    JOIN fulfillment_proofofdelivery p ON p.id = d.proof_id
    JOIN fulfillment_shipmentline sl ON sl.id = d.shipment_line_id
    JOIN orders_salesorderline ol ON ol.id = sl.order_line_id
    WHERE p.recorded_at >= {since}
    UNION
    SELECT i.order_id FROM invoicing_invoice cn JOIN invoicing_invoice i ON i.id = cn.credited_invoice_id
    WHERE cn.kind = 'credit_note' AND cn.issued_at >= {since} AND i.order_id IS NOT NULL
    UNION
    SELECT i.order_id FROM receivables_dispute d JOIN invoicing_invoice i ON i.id = d.invoice_id
    WHERE d.opened_at >= {since} AND i.order_id IS NOT NULL
"""
# The four checks of the touched orders, each found from them through an index (damaged: a discrepancy
# on one of their shipment lines; misinvoiced: a credit note or a dispute on one of their invoices).
_FLAGS = """
shipped_lines AS (
    SELECT ol.order_id, sl.id AS shipment_line_id, sl.order_line_id, sl.quantity, s.id AS shipment_id,
           (s.shipped_at AT TIME ZONE %(tz)s)::date AS shipped_on
    FROM touched k
    JOIN orders_salesorderline ol ON ol.order_id = k.order_id
    JOIN fulfillment_shipmentline sl ON sl.order_line_id = ol.id
    JOIN fulfillment_shipment s ON s.id = sl.shipment_id
    WHERE s.shipped_at IS NOT NULL
), line_shipped AS (  -- per order line, what left in any shipment
    SELECT order_line_id, SUM(quantity) AS quantity FROM shipped_lines GROUP BY order_line_id
), order_complete AS (  -- per order: every line shipped in full
    SELECT ol.order_id, bool_and(ol.quantity <= COALESCE(ls.quantity, 0)) AS all_shipped
    FROM touched k
    JOIN orders_salesorderline ol ON ol.order_id = k.order_id
    LEFT JOIN line_shipped ls ON ls.order_line_id = ol.id
    GROUP BY ol.order_id
), damaged AS (
    SELECT DISTINCT x.order_id FROM shipped_lines x
    JOIN fulfillment_deliverydiscrepancy d ON d.shipment_line_id = x.shipment_line_id
), misinvoiced AS (
    SELECT DISTINCT i.order_id FROM touched k
    JOIN invoicing_invoice i ON i.order_id = k.order_id AND i.kind = 'invoice'
    WHERE EXISTS (SELECT 1 FROM invoicing_invoice cn WHERE cn.credited_invoice_id = i.id
                  AND cn.kind = 'credit_note' AND cn.status <> 'draft')
       OR EXISTS (SELECT 1 FROM receivables_dispute d WHERE d.invoice_id = i.id)
), shipped_orders AS (
    SELECT o.id, o.customer_id, o.currency, o.requested_date,
           MIN(x.shipped_on) AS first_shipped, MAX(x.shipped_on) AS last_shipped,
           COUNT(DISTINCT x.shipment_id) AS shipments
    FROM shipped_lines x JOIN orders_salesorder o ON o.id = x.order_id
    GROUP BY o.id
), flagged AS (
    SELECT so.id AS order_id, so.customer_id, so.currency, so.first_shipped, so.last_shipped, so.shipments,
        (so.requested_date IS NULL OR so.last_shipped <= so.requested_date) AS on_time,
        (so.shipments = 1 AND oc.all_shipped) AS complete,
        (dm.order_id IS NULL) AS undamaged,
        (mi.order_id IS NULL) AS invoiced_right
    FROM shipped_orders so
    JOIN order_complete oc ON oc.order_id = so.id
    LEFT JOIN damaged dm ON dm.order_id = so.id
    LEFT JOIN misinvoiced mi ON mi.order_id = so.id
)
"""
_COUNTED = "order_id, customer_id, currency, on_time, complete, undamaged, invoiced_right"
_COLUMNS = f"{_COUNTED}, first_shipped, last_shipped, shipments"
# What refresh_order_quality writes: the touched orders' checks, replacing what the table had for them.
REFRESH_SQL = f"""
WITH touched AS ({_TOUCHED.format(since="%(since)s")}), {_FLAGS}
INSERT INTO reporting_orderquality ({_COLUMNS}) SELECT {_COLUMNS} FROM flagged
ON CONFLICT (order_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, currency = EXCLUDED.currency,
    first_shipped = EXCLUDED.first_shipped, last_shipped = EXCLUDED.last_shipped, shipments = EXCLUDED.shipments,
    on_time = EXCLUDED.on_time, complete = EXCLUDED.complete, undamaged = EXCLUDED.undamaged,
    invoiced_right = EXCLUDED.invoiced_right
"""
# The period's orders: the table's, less those touched since its refresh, plus those worked out live.
_ORDERS_CTE = f"""
WITH touched AS ({_TOUCHED.format(since="%(since)s")}), {_FLAGS},
period_orders AS (
    SELECT {{columns}} FROM reporting_orderquality q
    WHERE q.first_shipped BETWEEN %(start)s AND %(end)s
      AND NOT EXISTS (SELECT 1 FROM touched t WHERE t.order_id = q.order_id)
    UNION ALL
    SELECT {{columns}} FROM flagged WHERE first_shipped BETWEEN %(start)s AND %(end)s
), scoped AS (
    SELECT * FROM period_orders p
    WHERE (%(currency)s = '' OR p.currency = %(currency)s)
      AND (%(segment)s = '' OR p.customer_id IN (SELECT id FROM orders_customer WHERE segment = %(segment)s))
)
"""
# The figure reads only what the covering index holds; the drill-down every column.
_PERFECT_SQL = (
    _ORDERS_CTE.format(columns=_COUNTED)
    + """SELECT json_build_object(
    'orders', COUNT(*),
    'on_time', COUNT(*) FILTER (WHERE on_time),
    'complete', COUNT(*) FILTER (WHERE complete),
    'undamaged', COUNT(*) FILTER (WHERE undamaged),
    'invoiced_right', COUNT(*) FILTER (WHERE invoiced_right),
    'perfect', COUNT(*) FILTER (WHERE on_time AND complete AND undamaged AND invoiced_right)
) FROM scoped"""
)


@dataclass
class PerfectOrders:
    orders: int
    on_time: int
    complete: int
    undamaged: int
    invoiced_right: int
    perfect: int

    @property
    def rate(self) -> Decimal | None:
        return rate(self.perfect, self.orders)

    def share(self, part: str) -> Decimal | None:
        return rate(getattr(self, part), self.orders)

    @property
    def parts(self) -> list[tuple[str, int, Decimal | None]]:
        return [
            ("On time", self.on_time, self.share("on_time")),
            ("Complete", self.complete, self.share("complete")),
            ("Undamaged", self.undamaged, self.share("undamaged")),
            ("Invoiced right", self.invoiced_right, self.share("invoiced_right")),
        ]


def touched_since() -> datetime.datetime:
    """Orders touched from this moment on are worked out live on read: the last refresh's start less the
    margin (before any refresh, every shipped order). Read first, as a value, so the planner sees how few
    orders that is."""
    from .models import OrderQualityRefresh

    last = OrderQualityRefresh.objects.values_list("started_at", flat=True).first()
    return last - REFRESH_MARGIN if last else datetime.datetime.min.replace(tzinfo=datetime.UTC)


def _perfect_params(**kwargs) -> dict:
    return _params(**kwargs) | {"since": touched_since()}


def perfect_orders(*, start, end, scope: Scope = EVERYTHING) -> PerfectOrders:
    return PerfectOrders(**_one(_PERFECT_SQL, _perfect_params(start=start, end=end, scope=scope)))


def perfect_order_rows(*, start, end, scope: Scope = EVERYTHING) -> list[tuple]:
    """Drill-down: every order of the period with its four checks, imperfect ones first."""
    sql = (
        _ORDERS_CTE.format(columns=_COLUMNS)
        + """SELECT o.number, c.name, o.requested_date, s.last_shipped, s.shipments, s.on_time, s.complete,
        s.undamaged, s.invoiced_right
        FROM scoped s JOIN orders_salesorder o ON o.id = s.order_id JOIN orders_customer c ON c.id = s.customer_id
        ORDER BY (s.on_time AND s.complete AND s.undamaged AND s.invoiced_right), s.first_shipped, o.number
        LIMIT 5000"""
    )
    return _rows(sql, _perfect_params(start=start, end=end, scope=scope))


# --- invoice errors ----------------------------------------------------------------------------------
_ISSUED_IN_SCOPE = """i.kind = 'invoice' AND i.status <> 'draft' AND i.issue_date BETWEEN %(start)s AND %(end)s
      AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR i.currency = %(currency)s)"""
# From the credit notes and disputes (few) to their invoices, never through all invoices of the period. Both
# come after their invoice: only those issued or opened from the period's first day on are read.
_ERRORS_CTE = f"""
WITH errors AS (
    SELECT 'credit_note' AS source, COALESCE(NULLIF(cn.reason, ''), '(no reason given)') AS reason,
           i.id AS invoice_id, i.number AS invoice, c.name AS customer, cn.number AS document,
           cn.issue_date AS on_date, cn.total AS amount
    FROM invoicing_invoice cn
    JOIN invoicing_invoice i ON i.id = cn.credited_invoice_id
    JOIN orders_customer c ON c.id = i.customer_id
    WHERE cn.kind = 'credit_note' AND cn.status <> 'draft' AND cn.issue_date >= %(start)s AND {_ISSUED_IN_SCOPE}
      AND NOT EXISTS (SELECT 1 FROM receivables_dispute d WHERE d.credit_note_id = cn.id)
    UNION ALL
    SELECT 'dispute', d.reason, i.id, i.number, c.name, 'Dispute #' || d.id,
           (d.opened_at AT TIME ZONE %(tz)s)::date, d.amount
    FROM receivables_dispute d
    JOIN invoicing_invoice i ON i.id = d.invoice_id
    JOIN orders_customer c ON c.id = i.customer_id
    WHERE d.opened_at >= %(start)s::date - 1 AND {_ISSUED_IN_SCOPE}
)
"""
_INVOICES_ISSUED = f"""(SELECT COUNT(*) FROM invoicing_invoice i JOIN orders_customer c ON c.id = i.customer_id
    WHERE {_ISSUED_IN_SCOPE})"""


def _errors_sql(invoices_count: str) -> str:
    return (
        _ERRORS_CTE
        + f"""SELECT json_build_object(
    'invoices', {invoices_count},
    'with_errors', (SELECT COUNT(DISTINCT invoice_id) FROM errors),
    'errors', (SELECT COUNT(*) FROM errors),
    'by_reason', (SELECT COALESCE(json_agg(json_build_object('source', source, 'reason', reason, 'count', n,
                 'invoices', invoices) ORDER BY n DESC, source, reason), '[]')
                 FROM (SELECT source, reason, COUNT(*) AS n, COUNT(DISTINCT invoice_id) AS invoices
                       FROM errors GROUP BY source, reason) r)
)"""
    )


_ERRORS_SQL = _errors_sql(_INVOICES_ISSUED)
_ERRORS_ONLY_SQL = _errors_sql("0")  # the dashboard counts the invoices with the sales (kpis.period_totals)


@dataclass
class InvoiceErrors:
    invoices: int
    with_errors: int
    errors: int
    by_reason: list = field(default_factory=list)

    @property
    def rate(self) -> Decimal | None:
        return rate(self.with_errors, self.invoices)

    @property
    def per_invoice(self) -> Decimal | None:
        """Credit notes and disputes per 100 invoices."""
        return rate(self.errors, self.invoices)


def _reason_label(source: str, reason: str) -> str:
    from receivables.models import Dispute

    if source == "dispute":
        return f"Dispute: {dict(Dispute.Reason.choices).get(reason, reason)}"
    return f"Credit note: {reason}"


def _invoice_errors(data: dict) -> InvoiceErrors:
    result = InvoiceErrors(**data)
    result.by_reason = [
        {
            "label": _reason_label(r["source"], r["reason"]),
            "count": r["count"],
            "invoices": r["invoices"],
            "rate": rate(r["count"], result.invoices),
            "source": r["source"],
            "reason": r["reason"],
        }
        for r in data["by_reason"]
    ]
    return result


def invoice_errors(*, start, end, scope: Scope = EVERYTHING) -> InvoiceErrors:
    return _invoice_errors(_one(_ERRORS_SQL, _params(start=start, end=end, scope=scope)))


def invoice_error_rows(*, start, end, scope: Scope = EVERYTHING) -> list[tuple]:
    """Drill-down: the credit notes and disputes behind the error rate, with their invoices."""
    sql = (
        _ERRORS_CTE
        + """SELECT document, source, reason, invoice, customer, on_date, amount
        FROM errors ORDER BY on_date, document LIMIT 5000"""
    )
    return _rows(sql, _params(start=start, end=end, scope=scope))


# --- auto-match ---------------------------------------------------------------------------------------
_MATCH_WHERE = """
FROM receivables_statementline l LEFT JOIN orders_customer c ON c.id = l.customer_id
WHERE l.amount > 0 AND l.status <> 'ignored' AND l.booking_date BETWEEN %(start)s AND %(end)s
  AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR l.currency = %(currency)s)
"""
_MATCH_SQL = (
    """SELECT json_build_object(
    'lines', COUNT(*),
    'automatic', COUNT(*) FILTER (WHERE l.status = 'matched' AND l.matched_by_id IS NULL),
    'by_person', COUNT(*) FILTER (WHERE l.status = 'matched' AND l.matched_by_id IS NOT NULL),
    'open', COUNT(*) FILTER (WHERE l.status IN ('unmatched', 'suggested'))
) """
    + _MATCH_WHERE
)


@dataclass
class AutoMatch:
    lines: int
    automatic: int
    by_person: int
    open: int

    @property
    def rate(self) -> Decimal | None:
        return rate(self.automatic, self.lines)


def auto_match(*, start, end, scope: Scope = EVERYTHING) -> AutoMatch:
    return AutoMatch(**_one(_MATCH_SQL, _params(start=start, end=end, scope=scope)))


def auto_match_rows(*, start, end, scope: Scope = EVERYTHING) -> list[tuple]:
    sql = (
        """SELECT l.booking_date, l.counterparty_name, l.amount, l.currency,
        CASE WHEN l.status = 'matched' AND l.matched_by_id IS NULL THEN 'automatic'
             WHEN l.status = 'matched' THEN 'by a person' ELSE l.status END, l.remittance """
        + _MATCH_WHERE
        + " ORDER BY l.booking_date, l.id LIMIT 5000"
    )
    return _rows(sql, _params(start=start, end=end, scope=scope))


# --- promises -----------------------------------------------------------------------------------------
_PROMISE_WHERE = """
FROM receivables_promisetopay p JOIN orders_customer c ON c.id = p.customer_id
WHERE p.promised_date BETWEEN %(start)s AND %(end)s
  AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR p.currency = %(currency)s)
"""
_PROMISE_SQL = (
    """SELECT json_build_object(
    'kept', COUNT(*) FILTER (WHERE p.status = 'kept'),
    'broken', COUNT(*) FILTER (WHERE p.status = 'broken'),
    'open', COUNT(*) FILTER (WHERE p.status = 'open')
) """
    + _PROMISE_WHERE
)


@dataclass
class Promises:
    kept: int
    broken: int
    open: int

    @property
    def rate(self) -> Decimal | None:
        return rate(self.kept, self.kept + self.broken)


def promises(*, start, end, scope: Scope = EVERYTHING) -> Promises:
    return Promises(**_one(_PROMISE_SQL, _params(start=start, end=end, scope=scope)))


def promise_rows(*, start, end, scope: Scope = EVERYTHING) -> list[tuple]:
    sql = (
        "SELECT p.promised_date, c.name, p.amount, p.currency, p.status, p.closed_on, p.note "
        + _PROMISE_WHERE
        + " ORDER BY p.promised_date, p.id LIMIT 5000"
    )
    return _rows(sql, _params(start=start, end=end, scope=scope))


# --- dunning effectiveness ------------------------------------------------------------------------------
_DUNNING_CTE = """
WITH dunned AS (
    SELECT di.id, di.invoice_id, di.amount, di.level_id, i.number, c.name AS customer,
           (dl.sent_at AT TIME ZONE %(tz)s)::date AS sent_on
    FROM receivables_dunningitem di
    JOIN receivables_dunningletter dl ON dl.id = di.letter_id
    JOIN invoicing_invoice i ON i.id = di.invoice_id
    JOIN orders_customer c ON c.id = i.customer_id
    WHERE dl.sent_at IS NOT NULL AND (dl.sent_at AT TIME ZONE %(tz)s)::date BETWEEN %(start)s AND %(end)s
      AND (%(segment)s = '' OR c.segment = %(segment)s) AND (%(currency)s = '' OR i.currency = %(currency)s)
), settled AS (
    SELECT d.*, d.sent_on + %(days)s::int AS window_end, COALESCE((
        SELECT SUM(a.amount + a.discount_amount + a.write_off_amount)
        FROM receivables_allocation a JOIN receivables_payment p ON p.id = a.payment_id
        WHERE a.invoice_id = d.invoice_id AND a.reversed_at IS NULL AND p.status <> 'reversed'
          AND p.value_date BETWEEN d.sent_on AND d.sent_on + %(days)s::int
    ), 0) AS paid
    FROM dunned d
)
"""
_DUNNING_SQL = (
    _DUNNING_CTE
    + """SELECT COALESCE(json_agg(json_build_object('level', lv.level, 'name', lv.name, 'procedure', pr.code,
        'items', r.items, 'paid', r.paid, 'waiting', r.waiting) ORDER BY pr.code, lv.level), '[]')
    FROM (SELECT level_id,
                 COUNT(*) FILTER (WHERE window_end < %(on)s) AS items,
                 COUNT(*) FILTER (WHERE window_end < %(on)s AND paid >= amount) AS paid,
                 COUNT(*) FILTER (WHERE window_end >= %(on)s) AS waiting
          FROM settled GROUP BY level_id) r
    JOIN receivables_dunninglevel lv ON lv.id = r.level_id
    JOIN receivables_dunningprocedure pr ON pr.id = lv.procedure_id"""
)


def _dunning(rows: list) -> list[dict]:
    return [row | {"rate": rate(row["paid"], row["items"])} for row in rows]


def dunning_effectiveness(*, start, end, on: datetime.date, scope: Scope = EVERYTHING) -> list[dict]:
    """Per dunning level: items whose window is over on `on`, those paid within it, the rate, and
    the items still inside their window (`waiting`, not counted yet)."""
    return _dunning(_one(_DUNNING_SQL, _params(start=start, end=end, scope=scope, on=on)))


def dunning_rows(*, start, end, on: datetime.date, scope: Scope = EVERYTHING) -> list[tuple]:
    sql = (
        _DUNNING_CTE
        + """SELECT s.number, s.customer, pr.code || ' ' || lv.level || ': ' || lv.name, s.sent_on, s.amount, s.paid,
        CASE WHEN s.window_end >= %(on)s THEN 'within the window' WHEN s.paid >= s.amount THEN 'paid in time'
             ELSE 'not paid in time' END
        FROM settled s JOIN receivables_dunninglevel lv ON lv.id = s.level_id
        JOIN receivables_dunningprocedure pr ON pr.id = lv.procedure_id
        ORDER BY s.sent_on, s.number LIMIT 5000"""
    )
    return _rows(sql, _params(start=start, end=end, scope=scope, on=on))


# --- all at once ------------------------------------------------------------------------------------------
@dataclass
class Quality:
    perfect_orders: PerfectOrders
    invoice_errors: InvoiceErrors
    auto_match: AutoMatch
    promises: Promises
    dunning: list[dict]
    window_days: int


def _strip_with(sql: str) -> str:
    """A statement as a scalar subquery: `(WITH ... SELECT ...)`."""
    return f"({sql.strip()})"


def quality_figures(*, start, end, on: datetime.date, invoices_issued: int, scope: Scope = EVERYTHING) -> Quality:
    """The five quality KPIs in one query (one round trip for the dashboard). The invoices issued
    in the period (the error rate's denominator) come from the caller: kpis.period_totals counts
    them with the sales."""
    parts = [_PERFECT_SQL, _ERRORS_ONLY_SQL, _MATCH_SQL, _PROMISE_SQL, _DUNNING_SQL]
    sql = "SELECT " + ", ".join(_strip_with(part) for part in parts)
    with connection.cursor() as cursor:
        cursor.execute(sql, _perfect_params(start=start, end=end, scope=scope, on=on))
        perfect, errors, match, promise, dunning = (_json(v) for v in cursor.fetchone())
    return Quality(
        perfect_orders=PerfectOrders(**perfect),
        invoice_errors=_invoice_errors(errors | {"invoices": invoices_issued}),
        auto_match=AutoMatch(**match),
        promises=Promises(**promise),
        dunning=_dunning(dunning),
        window_days=window_days(),
    )


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _one(sql: str, params: dict):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _json(cursor.fetchone()[0])


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
