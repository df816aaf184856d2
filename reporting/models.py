from django.db import models

from orders.models import MONEY


class ArSnapshot(models.Model):
    """The nightly picture of receivables, so trends have history."""

    taken_on = models.DateField(unique=True)
    open_total = models.DecimalField(**MONEY)
    overdue_total = models.DecimalField(**MONEY)
    open_invoices = models.PositiveIntegerField()
    current_total = models.DecimalField(**MONEY, default=0, help_text="Open and not yet due.")
    dso = models.DecimalField(
        "DSO", max_digits=7, decimal_places=1, null=True, blank=True, help_text="Over the 90 days up to the day."
    )
    aging = models.JSONField(default=list, blank=True, help_text="[{label, amount}] by days past due.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_on"]
        permissions = [("view_reports", "Can see reports and KPIs")]

    def __str__(self) -> str:
        return f"AR on {self.taken_on}"


class CashForecastWeek(models.Model):
    """One week of a cash forecast as it was made on `made_on`, kept so the forecast can later be
    set against the cash that actually came in that week."""

    made_on = models.DateField(db_index=True)
    week_start = models.DateField(help_text="The Monday the week starts on.")
    currency = models.CharField(max_length=3)
    expected = models.DecimalField(**MONEY)
    invoices = models.PositiveIntegerField(help_text="Open invoices expected to be paid that week.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-made_on", "week_start"]
        constraints = [
            models.UniqueConstraint(fields=["made_on", "week_start", "currency"], name="cashforecastweek_unique")
        ]

    def __str__(self) -> str:
        return f"Forecast of {self.made_on} for the week of {self.week_start}: {self.expected} {self.currency}"


class DailyTotal(models.Model):
    """Credit sales and cash received of one closed day, per customer segment and currency, so the
    dashboard reads a few hundred rows instead of a year of invoices and payments. Rebuilt in full
    every night (DailyTotalsRefresh), so a back-dated document or a reversed payment is counted
    from the next night on; days after the last refresh are always read live."""

    day = models.DateField()
    segment = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=3)
    sales = models.DecimalField(**MONEY, default=0, help_text="Invoices and charges issued that day (gross).")
    credit_notes = models.DecimalField(**MONEY, default=0, help_text="Credit notes issued that day (gross).")
    invoices = models.PositiveIntegerField(default=0, help_text="Invoices (not charges, not credit notes) issued.")
    cash = models.DecimalField(**MONEY, default=0, help_text="Payments by value date, reversed ones left out.")

    class Meta:
        ordering = ["day", "segment", "currency"]
        constraints = [models.UniqueConstraint(fields=["day", "segment", "currency"], name="dailytotal_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.segment or '-'} {self.currency}"


class DailyTotalsRefresh(models.Model):
    """One row per nightly rebuild of DailyTotal: the totals are complete through `through`."""

    through = models.DateField(unique=True)
    refreshed_at = models.DateTimeField(auto_now_add=True)
    days = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-through"]

    def __str__(self) -> str:
        return f"Daily totals through {self.through}"


class OrderQuality(models.Model):
    """One shipped order's four perfect-order checks, worked out once (quality.refresh_order_quality,
    every few minutes by beat) so the perfect order rate sums a column instead of walking shipments,
    proofs of delivery, credit notes and disputes at read time. Orders touched since the last refresh
    (shipped, a discrepancy, a credit note, a dispute) are worked out live on read, so the figure is
    never stale. Currency is the order's; the customer's segment is joined on read."""

    order = models.OneToOneField("orders.SalesOrder", on_delete=models.CASCADE, primary_key=True, related_name="+")
    customer = models.ForeignKey("orders.Customer", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    first_shipped = models.DateField(help_text="The day its first shipment left: the period it counts in.")
    last_shipped = models.DateField()
    shipments = models.PositiveIntegerField()
    on_time = models.BooleanField()
    complete = models.BooleanField()
    undamaged = models.BooleanField()
    invoiced_right = models.BooleanField()

    class Meta:
        indexes = [
            models.Index(
                fields=["first_shipped"],
                include=["order", "customer", "currency", "on_time", "complete", "undamaged", "invoiced_right"],
                name="orderquality_period",
            )
        ]

    def __str__(self) -> str:
        return f"Order #{self.order_id} first shipped {self.first_shipped}"


class OrderQualityRefresh(models.Model):
    """One row per refresh of OrderQuality: every order touched before `started_at` (less a margin
    for transactions that were still open then) is in the table."""

    started_at = models.DateTimeField(db_index=True)
    orders = models.PositiveIntegerField(default=0, help_text="Orders worked out by this refresh.")
    full = models.BooleanField(default=False, help_text="Every shipped order, not only those touched since.")

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"Order quality as of {self.started_at:%Y-%m-%d %H:%M}"


class CycleFact(models.Model):
    """One document's figure for one cycle time, worked out once (services.refresh_cycle_facts, every few
    minutes by beat) so the cycle-times page reads one index range per measure instead of joining
    shipments, order lines, orders, invoices, allocations and payments at read time. Documents touched
    since the last refresh (shipped, issued, paid, a payment or allocation reversed, a credit note or
    write-off) are worked out live on read, so the figures are never stale.

    Order to ship: one row per shipment and order currency (a shipment of one customer's orders in two
    currencies has two; `main` marks the one with the earliest order, the one counted without a currency
    filter). The other three: one row per invoice, `main` always true. `day` is the day the document
    counts in (shipped, issued, paid) and `days` its cycle time."""

    class Measure(models.IntegerChoices):
        ORDER_TO_SHIP = 1, "Order to ship"
        SHIP_TO_INVOICE = 2, "Ship to invoice"
        INVOICE_TO_CASH = 3, "Invoice to cash"
        ORDER_TO_CASH = 4, "Order to cash"

    pk = models.CompositePrimaryKey("measure", "document_id", "currency")
    measure = models.PositiveSmallIntegerField(choices=Measure.choices)
    document_id = models.BigIntegerField(help_text="The shipment (order to ship) or the invoice (the others).")
    currency = models.CharField(max_length=3)
    main = models.BooleanField(default=True, help_text="Counted when no currency is chosen.")
    number = models.CharField(max_length=20, help_text="The document's number, for the drill-down.")
    customer = models.ForeignKey("orders.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField(help_text="The day it counts in: shipped (order to ship), issued, or paid.")
    days = models.IntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["measure", "day"],
                include=["days", "main", "currency", "customer", "document_id"],
                name="cyclefact_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_measure_display()} of #{self.document_id} ({self.currency}): {self.days} days"


class CycleFactsRefresh(models.Model):
    """One row per refresh of CycleFact: every document touched before `started_at` (less a margin for
    transactions that were still open then) is in the table."""

    started_at = models.DateTimeField(db_index=True)
    documents = models.PositiveIntegerField(default=0, help_text="Fact rows written by this refresh.")
    full = models.BooleanField(default=False, help_text="Every document, not only those touched since.")

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"Cycle facts as of {self.started_at:%Y-%m-%d %H:%M}"
