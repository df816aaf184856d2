from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from orders.models import MONEY, Customer, SalesOrder


class CreditProfile(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="credit_profile")
    credit_limit = models.DecimalField(**MONEY, default=Decimal("0"), help_text="0 = every order is reviewed.")
    max_overdue_days = models.PositiveSmallIntegerField(
        default=30, help_text="An order is held when an invoice is more than this many days overdue."
    )
    reviewed_at = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="creditprofile_limit_not_negative")
        ]

    def __str__(self) -> str:
        return f"Credit profile of {self.customer.name}"


class CreditDecision(models.Model):
    """Every credit decision on an order: the automatic check at submit and a manager's
    release or rejection, with the figures it was based on."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved automatically"
        HELD = "held", "Held for review"
        RELEASED = "released", "Released by credit manager"
        REJECTED = "rejected", "Rejected by credit manager"

    order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="credit_decisions")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reasons = models.TextField(blank=True, help_text="One reason per line.")
    exposure = models.DecimalField(
        **MONEY, help_text="Open receivables + approved, uninvoiced orders, before this order."
    )
    credit_limit = models.DecimalField(**MONEY)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        permissions = [("decide_credit_hold", "Can release or reject orders on credit hold")]

    def __str__(self) -> str:
        return f"{self.order}: {self.get_outcome_display()}"

    @property
    def reason_list(self) -> list[str]:
        return [line for line in self.reasons.splitlines() if line.strip()]
