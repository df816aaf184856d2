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
