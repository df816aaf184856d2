from django.db import models

from orders.models import MONEY


class ArSnapshot(models.Model):
    """The nightly picture of receivables, so trends have history."""

    taken_on = models.DateField(unique=True)
    open_total = models.DecimalField(**MONEY)
    overdue_total = models.DecimalField(**MONEY)
    open_invoices = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_on"]
        permissions = [("view_reports", "Can see reports and KPIs")]

    def __str__(self) -> str:
        return f"AR on {self.taken_on}"
