from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from orders.models import MONEY, Customer, SalesOrder

RATE = {"max_digits": 18, "decimal_places": 8}


class CreditPolicy(models.Model):
    """The rules of the automatic credit check. Versioned: an edit by a finance manager adds
    a new version row (credit.services.publish_policy); rows are never updated, so every
    decision can name the exact rules it was made under. The newest version is in force."""

    version = models.PositiveIntegerField(unique=True)
    currency = models.CharField(max_length=3, default="EUR", help_text="Currency of the amounts below.")
    max_days_overdue = models.PositiveSmallIntegerField(
        "no invoice overdue more than (days)",
        default=30,
        help_text="Hold when any open invoice is more days past due (a profile may override it).",
    )
    max_overdue_amount = models.DecimalField(
        "overdue amount below",
        **MONEY,
        default=Decimal("10000.00"),
        help_text="Hold when the customer's past-due amount (any age) reaches this.",
    )
    require_current_approval = models.BooleanField(
        "approval must be current", default=True, help_text="Hold when the profile's approved-until date has passed."
    )
    check_group = models.BooleanField(
        "check the group limit", default=True, help_text="Also check the parent account's limit for the whole group."
    )
    four_eyes_threshold = models.DecimalField(
        "second approval above",
        **MONEY,
        default=Decimal("50000.00"),
        help_text="A limit raised by more than this waits for a second person's approval.",
    )
    review_interval_days = models.PositiveSmallIntegerField(
        default=365, help_text="A profile is due for review this long after its last review."
    )
    note = models.CharField("why this version", max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "credit policies"
        ordering = ["-version"]
        permissions = [("publish_creditpolicy", "Can publish a new credit policy version")]
        constraints = [
            models.CheckConstraint(condition=Q(max_overdue_amount__gte=0), name="creditpolicy_overdue_not_negative"),
            models.CheckConstraint(condition=Q(four_eyes_threshold__gte=0), name="creditpolicy_threshold_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Credit policy v{self.version}"


class ExchangeRate(models.Model):
    """1 unit of `from_currency` = `rate` units of `to_currency`, from `valid_from` on."""

    from_currency = models.CharField(max_length=3)
    to_currency = models.CharField(max_length=3)
    rate = models.DecimalField(**RATE)
    valid_from = models.DateField()

    class Meta:
        ordering = ["from_currency", "to_currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_currency", "to_currency", "valid_from"], name="exchangerate_unique_per_day"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.from_currency} = {self.rate} {self.to_currency} from {self.valid_from}"


class CreditProfile(models.Model):
    """A customer's credit: its limit (in the limit's currency), how long the approval runs,
    its risk class and the payment behaviour figures the nightly task recomputes. A parent
    account's profile is also the limit of its whole group."""

    class RiskClass(models.TextChoices):
        A = "A", "A - excellent"
        B = "B", "B - good"
        C = "C", "C - watch"
        D = "D", "D - poor"
        E = "E", "E - high risk"

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="credit_profile")
    credit_limit = models.DecimalField(**MONEY, default=Decimal("0"), help_text="0 = every order is reviewed.")
    currency = models.CharField("limit currency", max_length=3, default="EUR")
    approved_until = models.DateField(
        null=True, blank=True, help_text="Orders go straight through while the approval is current; empty = no expiry."
    )
    temporary_increase = models.DecimalField(**MONEY, default=Decimal("0"))
    temporary_until = models.DateField(null=True, blank=True, help_text="The temporary increase ends after this day.")
    max_overdue_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=None,
        help_text="Overrides the policy's days overdue for this customer; empty = the policy's.",
    )
    risk_class = models.CharField(max_length=1, choices=RiskClass.choices, default=RiskClass.B)
    reviewed_risk_class = models.CharField(
        max_length=1, choices=RiskClass.choices, blank=True, help_text="The risk class at the last review."
    )
    # Payment behaviour, recomputed nightly from receivables (credit.services.recompute_behaviour)
    average_days_to_pay = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    average_days_beyond_terms = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    average_days_late = models.DecimalField(
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Value date of the last payment − due date, early payments negative, over the invoices paid "
        "in the last 365 days; the cash forecast moves the customer's open items by it.",
    )
    percent_paid_late = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    nsf_count = models.PositiveIntegerField("returned payments (NSF)", default=0)
    open_disputes = models.PositiveIntegerField(default=0)
    behaviour_computed_at = models.DateTimeField(null=True, blank=True)
    # External rating
    external_rating = models.CharField(max_length=20, blank=True)
    external_rating_agency = models.CharField(max_length=60, blank=True)
    external_rating_date = models.DateField(null=True, blank=True)
    reviewed_at = models.DateField(null=True, blank=True)
    review_due = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="creditprofile_limit_not_negative"),
            models.CheckConstraint(condition=Q(temporary_increase__gte=0), name="creditprofile_temporary_not_negative"),
        ]
        permissions = [
            ("change_credit_limit", "Can change credit limits"),
            ("approve_limit_change", "Can approve another person's credit limit change"),
        ]

    def __str__(self) -> str:
        return f"Credit profile of {self.customer.name}"

    def effective_limit(self, on) -> Decimal:
        """The limit plus a temporary increase that has not expired on `on`."""
        if self.temporary_increase and self.temporary_until and self.temporary_until >= on:
            return self.credit_limit + self.temporary_increase
        return self.credit_limit


class CreditDecision(models.Model):
    """Every credit decision on an order: the automatic check at submit and a manager's
    release or rejection, with the figures it was based on and the policy version used."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved automatically"
        HELD = "held", "Held for review"
        RELEASED = "released", "Released by credit manager"
        REJECTED = "rejected", "Rejected by credit manager"

    order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="credit_decisions")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reasons = models.TextField(blank=True, help_text="One reason per line.")
    failed_rules = models.CharField(max_length=200, blank=True, help_text="Codes of the rules that failed.")
    policy = models.ForeignKey(CreditPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions")
    currency = models.CharField("limit currency", max_length=3, default="EUR")
    exposure = models.DecimalField(**MONEY, help_text="Exposure before this order, in the limit's currency.")
    open_receivables = models.DecimalField(**MONEY, default=Decimal("0"))
    shipped_not_invoiced = models.DecimalField(**MONEY, default=Decimal("0"))
    approved_not_shipped = models.DecimalField(**MONEY, default=Decimal("0"))
    unapplied_cash = models.DecimalField(**MONEY, default=Decimal("0"))
    overdue_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    oldest_overdue_days = models.IntegerField(default=0)
    order_amount = models.DecimalField(**MONEY, default=Decimal("0"), help_text="This order, in the limit's currency.")
    credit_limit = models.DecimalField(**MONEY)
    group_exposure = models.DecimalField(**MONEY, null=True, blank=True)
    group_limit = models.DecimalField(**MONEY, null=True, blank=True)
    temporary_increase = models.DecimalField(**MONEY, default=Decimal("0"))
    temporary_until = models.DateField(null=True, blank=True)
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


class CreditLimitChange(models.Model):
    """The history of a profile's limit: who asked, when, old and new, why, and - above the
    policy's threshold - who else approved it (four eyes; never the requester)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second approval"
        APPLIED = "applied", "Applied"
        REFUSED = "refused", "Refused"

    profile = models.ForeignKey(CreditProfile, on_delete=models.PROTECT, related_name="limit_changes")
    old_limit = models.DecimalField(**MONEY)
    new_limit = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_limit_requests"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_limit_approvals",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(new_limit__gte=0), name="creditlimitchange_new_not_negative"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("requested_by")),
                name="creditlimitchange_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile.customer.name}: {self.old_limit} -> {self.new_limit} {self.currency}"


def application_upload_to(instance, filename: str) -> str:
    # Server-generated name: the uploader's file name is never used as a path (ASVS 5.3.2).
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"credit/applications/{instance.customer_id}/{instance.document_kind}-{instance.submitted_at:%Y%m%d%H%M%S}.{extension}"


class CreditApplication(models.Model):
    """A first-time customer's request for credit, decided by a credit manager. Orders of an
    applicant wait on credit hold until the application is decided."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_applications")
    requested_limit = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="EUR")
    trade_references = models.TextField(help_text="One reference per line: company, contact, phone or email.")
    bank_name = models.CharField(max_length=100)
    bank_account = models.CharField("bank account (IBAN)", max_length=34, blank=True)
    annual_revenue = models.DecimalField(**MONEY, null=True, blank=True)
    net_income = models.DecimalField(**MONEY, null=True, blank=True)
    years_in_business = models.PositiveSmallIntegerField(null=True, blank=True)
    document = models.FileField(upload_to=application_upload_to, blank=True)
    document_kind = models.CharField(max_length=20, blank=True, help_text="e.g. financials")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField()
    approved_limit = models.DecimalField(**MONEY, null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        permissions = [("decide_creditapplication", "Can decide credit applications")]
        constraints = [
            models.CheckConstraint(condition=Q(requested_limit__gt=0), name="creditapplication_limit_positive"),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="pending"), name="creditapplication_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"Credit application of {self.customer.name} ({self.get_status_display().lower()})"


class ReviewItem(models.Model):
    """The credit manager's review queue, filled weekly: profiles due for review and customers
    whose payment behaviour worsened (risk class went down)."""

    class Kind(models.TextChoices):
        DUE = "due", "Review due"
        WORSENED = "worsened", "Payment behaviour worsened"

    profile = models.ForeignKey(CreditProfile, on_delete=models.PROTECT, related_name="review_items")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    detail = models.CharField(max_length=300)
    listed_on = models.DateField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["listed_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "kind"], condition=Q(resolved_at__isnull=True), name="reviewitem_one_open_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.profile.customer.name}: {self.get_kind_display()}"
