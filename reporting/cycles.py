"""The cycle times' per-document facts (reporting_cyclefact): how each is worked out from the documents,
which documents changed since a moment, and how a read puts the stored facts and the live ones together.

A fact is one document's figure for one measure (models.CycleFact): the day it counts in and its days.

- order to ship: per shipment that left, per currency of its orders: shipped day (local) - earliest
  order date; `main` marks the currency of the earliest order (the row counted without a currency filter)
- ship to invoice: per invoice issued (not a draft) for a shipment that left: issue date - shipped day
- invoice to cash: per invoice paid: paid on - issue date, where paid on is the value date of the last
  payment applied to it (reversed payments left out)
- order to cash: the same invoices that have an order: paid on - order date

kpis.cycle_times and kpis.cycle_samples read them; services.refresh_cycle_facts stores them.
"""

import datetime

from .models import CycleFact

REFRESH_MARGIN = datetime.timedelta(hours=1)  # a transaction still open at a refresh is caught by the next
MEASURES = {
    "order_to_ship": CycleFact.Measure.ORDER_TO_SHIP,
    "ship_to_invoice": CycleFact.Measure.SHIP_TO_INVOICE,
    "invoice_to_cash": CycleFact.Measure.INVOICE_TO_CASH,
    "order_to_cash": CycleFact.Measure.ORDER_TO_CASH,
}
KEYS = {code: key for key, code in MEASURES.items()}
SHIPMENT_MEASURES = (CycleFact.Measure.ORDER_TO_SHIP,)

# Documents touched at or after {since} whose facts may have changed. Shipments: one left. Invoices:
# issued, their shipment left, a payment applied (an allocation made), an allocation or a payment
# reversed, a credit note or a write-off that may have closed them. Each arm starts from an index.
# (A changed order date or a document deleted is caught by the weekly full refresh.)
_TOUCHED_SHIPMENTS = "SELECT id FROM fulfillment_shipment WHERE shipped_at IS NOT NULL AND shipped_at >= {since}"
_TOUCHED_INVOICES = """
    SELECT id FROM invoicing_invoice WHERE kind = 'invoice' AND issued_at >= {since}
    UNION
    SELECT i.id FROM invoicing_invoice i WHERE i.shipment_id IN (SELECT id FROM touched_shipments)
    UNION
    SELECT invoice_id FROM receivables_allocation WHERE created_at >= {since}
    UNION
    SELECT invoice_id FROM receivables_allocation WHERE reversed_at IS NOT NULL AND reversed_at >= {since}
    UNION
    SELECT a.invoice_id FROM receivables_payment p JOIN receivables_allocation a ON a.payment_id = p.id
    WHERE p.reversed_at IS NOT NULL AND p.reversed_at >= {since}
    UNION
    SELECT credited_invoice_id FROM invoicing_invoice
    WHERE kind = 'credit_note' AND issued_at >= {since} AND credited_invoice_id IS NOT NULL
    UNION
    SELECT invoice_id FROM receivables_writeoff WHERE decided_at IS NOT NULL AND decided_at >= {since}
"""
TOUCHED_CTES = f"""
touched_shipments AS ({_TOUCHED_SHIPMENTS.format(since="%(since)s")}),
touched_invoices AS ({_TOUCHED_INVOICES.format(since="%(since)s")})"""
# Every document (a full refresh).
ALL_CTES = """
touched_shipments AS (SELECT id FROM fulfillment_shipment WHERE shipped_at IS NOT NULL),
touched_invoices AS (SELECT id FROM invoicing_invoice WHERE kind = 'invoice')"""

_COLUMNS = "measure, document_id, currency, main, number, customer_id, day, days"
# The facts of the documents in touched_shipments and touched_invoices.
_FACTS = f"""
shipped AS (
    SELECT s.id, s.number, o.currency, MIN(o.customer_id) AS customer_id,
           (s.shipped_at AT TIME ZONE %(tz)s)::date AS shipped_on, MIN(o.order_date) AS order_date
    FROM touched_shipments t
    JOIN fulfillment_shipment s ON s.id = t.id
    JOIN fulfillment_shipmentline sl ON sl.shipment_id = s.id
    JOIN orders_salesorderline ol ON ol.id = sl.order_line_id
    JOIN orders_salesorder o ON o.id = ol.order_id
    WHERE s.shipped_at IS NOT NULL
    GROUP BY s.id, o.currency
), invoiced AS (
    SELECT i.id, i.number, i.customer_id, i.currency, i.status, i.issue_date, i.order_id, i.shipment_id
    FROM touched_invoices t JOIN invoicing_invoice i ON i.id = t.id
    WHERE i.kind = 'invoice' AND i.status <> 'draft'
), paid AS (
    SELECT a.invoice_id, MAX(p.value_date) AS paid_on
    FROM invoiced i
    JOIN receivables_allocation a ON a.invoice_id = i.id
    JOIN receivables_payment p ON p.id = a.payment_id
    WHERE i.status = 'paid' AND p.status <> 'reversed'
    GROUP BY a.invoice_id
), facts ({_COLUMNS}) AS (
    SELECT {CycleFact.Measure.ORDER_TO_SHIP}, id, currency,
           row_number() OVER (PARTITION BY id ORDER BY order_date, currency) = 1,
           number, customer_id, shipped_on, shipped_on - order_date
    FROM shipped
    UNION ALL
    SELECT {CycleFact.Measure.SHIP_TO_INVOICE}, i.id, i.currency, true, i.number, i.customer_id, i.issue_date,
           i.issue_date - (s.shipped_at AT TIME ZONE %(tz)s)::date
    FROM invoiced i JOIN fulfillment_shipment s ON s.id = i.shipment_id
    WHERE s.shipped_at IS NOT NULL AND i.issue_date IS NOT NULL
    UNION ALL
    SELECT {CycleFact.Measure.INVOICE_TO_CASH}, i.id, i.currency, true, i.number, i.customer_id, paid.paid_on,
           paid.paid_on - i.issue_date
    FROM invoiced i JOIN paid ON paid.invoice_id = i.id
    WHERE i.status = 'paid' AND paid.paid_on IS NOT NULL
    UNION ALL
    SELECT {CycleFact.Measure.ORDER_TO_CASH}, i.id, i.currency, true, i.number, i.customer_id, paid.paid_on,
           paid.paid_on - o.order_date
    FROM invoiced i JOIN paid ON paid.invoice_id = i.id JOIN orders_salesorder o ON o.id = i.order_id
    WHERE i.status = 'paid' AND paid.paid_on IS NOT NULL
)"""

# What a refresh writes: the touched documents' facts replace what the table had for them (a document
# that no longer counts, e.g. an invoice whose payment was reversed, loses its rows).
_DELETE_TOUCHED = f"""
DELETE FROM reporting_cyclefact f
WHERE (f.measure IN ({", ".join(str(m) for m in SHIPMENT_MEASURES)})
       AND f.document_id IN (SELECT id FROM touched_shipments))
   OR (f.measure NOT IN ({", ".join(str(m) for m in SHIPMENT_MEASURES)})
       AND f.document_id IN (SELECT id FROM touched_invoices))
"""
# Two statements, each finding the touched documents again: one touched between them is inserted over
# its old rows (ON CONFLICT), and the next refresh deletes what no longer counts.
REFRESH_DELETE_SQL = f"WITH {TOUCHED_CTES} {_DELETE_TOUCHED}"
REFRESH_INSERT_SQL = f"""
WITH {TOUCHED_CTES}, {_FACTS}
INSERT INTO reporting_cyclefact ({_COLUMNS}) SELECT {_COLUMNS} FROM facts
ON CONFLICT (measure, document_id, currency) DO UPDATE SET main = EXCLUDED.main, number = EXCLUDED.number,
    customer_id = EXCLUDED.customer_id, day = EXCLUDED.day, days = EXCLUDED.days
"""
FULL_SQL = f"""
WITH {ALL_CTES}, {_FACTS}
INSERT INTO reporting_cyclefact ({_COLUMNS}) SELECT {_COLUMNS} FROM facts ORDER BY measure, day
"""


def period_facts(*, measures, columns: str) -> str:
    """A `WITH ...` naming `scoped`: the facts of `measures` counted in [%(start)s, %(end)s] in the
    scope (%(segment)s, %(currency)s): the stored ones less those of documents touched since %(since)s,
    plus the touched ones worked out live. Each stored measure is one range of the period index."""
    stored = []
    for measure in measures:
        touched = "touched_shipments" if measure in SHIPMENT_MEASURES else "touched_invoices"
        stored.append(
            f"""SELECT {columns} FROM reporting_cyclefact f
    WHERE f.measure = {int(measure)} AND f.day BETWEEN %(start)s AND %(end)s
      AND NOT EXISTS (SELECT 1 FROM {touched} t WHERE t.id = f.document_id)"""
        )
    codes = ", ".join(str(int(m)) for m in measures)
    return f"""WITH {TOUCHED_CTES}, {_FACTS},
period AS (
    {" UNION ALL ".join(stored)}
    UNION ALL
    SELECT {columns} FROM facts f WHERE f.measure IN ({codes}) AND f.day BETWEEN %(start)s AND %(end)s
), scoped AS (
    SELECT * FROM period p
    WHERE (CASE WHEN %(currency)s = '' THEN p.main ELSE p.currency = %(currency)s END)
      AND (%(segment)s = '' OR p.customer_id IN (SELECT id FROM orders_customer WHERE segment = %(segment)s))
)
"""


def touched_since() -> datetime.datetime | None:
    """Documents touched from this moment on are worked out live on read: the last refresh's start less
    the margin. None before the first refresh (the table is empty: everything is read live)."""
    from .models import CycleFactsRefresh

    last = CycleFactsRefresh.objects.values_list("started_at", flat=True).first()
    return last - REFRESH_MARGIN if last else None
