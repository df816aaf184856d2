from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Round

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}


class PaymentTerms(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=80)
    net_days = models.PositiveSmallIntegerField(help_text="Days from the invoice date (or month end) to the due date.")
    end_of_month = models.BooleanField(
        "from end of month", default=False, help_text="Count the days from the end of the invoice's month."
    )
    discount_percent = models.DecimalField(
        "early-payment discount %", max_digits=5, decimal_places=2, default=Decimal("0")
    )
    discount_days = models.PositiveSmallIntegerField(
        default=0, help_text="The discount applies when paid within this many days of the invoice date."
    )

    class Meta:
        verbose_name_plural = "payment terms"
        ordering = ["net_days"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    class TaxTreatment(models.TextChoices):
        DOMESTIC = "domestic", "Domestic"
        INTRA_EU = "intra_eu", "Intra-EU (reverse charge)"
        EXPORT = "export", "Export (outside the EU)"

    account_number = models.CharField(max_length=20, unique=True)
    name = models.CharField("legal name", max_length=200, db_index=True)
    email = models.EmailField("invoice email")
    phone = models.CharField(max_length=40, blank=True)
    tax_id = models.CharField("tax id", max_length=30, blank=True)
    address_line = models.CharField("street and number", max_length=200)
    postal_code = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=2, default="BE", help_text="ISO 3166 two-letter code.")
    currency = models.CharField(max_length=3, default="EUR")
    language = models.CharField(max_length=2, default="en", help_text="ISO 639-1; documents and emails use it.")
    tax_treatment = models.CharField(max_length=10, choices=TaxTreatment.choices, default=TaxTreatment.DOMESTIC)
    segment = models.CharField(max_length=30, blank=True, db_index=True, help_text="Customer group for reports.")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subsidiaries",
        help_text="Group parent; credit exposure is also checked for the whole group.",
    )
    payment_terms = models.ForeignKey(PaymentTerms, on_delete=models.PROTECT)
    is_active = models.BooleanField("active", default=True)
    blocked_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"

    @property
    def address_lines(self) -> list[str]:
        return [self.address_line, f"{self.postal_code} {self.city}", self.country]


class Product(models.Model):
    class TaxCategory(models.TextChoices):
        # EN 16931 / UNCL5305 VAT category codes
        STANDARD = "S", "Standard rate"
        ZERO = "Z", "Zero rated"
        EXEMPT = "E", "Exempt"
        REVERSE_CHARGE = "AE", "Reverse charge"
        INTRA_EU = "K", "Intra-EU supply"
        EXPORT = "G", "Export outside the EU"
        OUTSIDE_SCOPE = "O", "Outside the scope of VAT"

    sku = models.CharField("SKU", max_length=40, unique=True)
    name = models.CharField(max_length=200)
    unit = models.CharField("unit of measure", max_length=10, default="pc")
    unit_price = models.DecimalField(**MONEY, null=True, blank=True, help_text="List price; empty = not sellable yet.")
    currency = models.CharField(max_length=3, default="EUR")
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.2100"))
    tax_category = models.CharField(max_length=2, choices=TaxCategory.choices, default=TaxCategory.STANDARD)
    is_stock_tracked = models.BooleanField("stock-tracked", default=True, help_text="Off for services.")
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(tax_rate__gte=0, tax_rate__lt=1), name="product_tax_rate_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class SalesOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        CREDIT_HOLD = "credit_hold", "Credit hold"
        APPROVED = "approved", "Approved"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    class Channel(models.TextChoices):
        CLERK = "clerk", "Clerk"
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        CSV = "csv", "CSV import"
        PORTAL = "portal", "Portal"
        API = "api", "API"

    number = models.CharField(max_length=20, unique=True, null=True, blank=True, help_text="Given at submit.")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.CLERK)
    order_date = models.DateField()
    requested_date = models.DateField("requested delivery date", null=True, blank=True)
    customer_po = models.CharField("customer PO", max_length=50, blank=True)
    currency = models.CharField(max_length=3)
    net_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY, default=Decimal("0"))
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-order_date", "-id"]
        indexes = [models.Index(fields=["-order_date", "-id"], name="salesorder_keyset")]
        constraints = [
            models.CheckConstraint(
                # rounded: SQLite (the embedded default) adds decimals as floating point
                condition=Q(total=Round(models.F("net_amount") + models.F("tax_amount"), 2)),
                name="salesorder_total_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft order #{self.pk}"

    @property
    def trail(self) -> str:
        return f"order:{self.pk}"


class SalesOrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(**QUANTITY)
    unit_price = models.DecimalField(**MONEY)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="salesorderline_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="salesorderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="salesorderline_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order} line {self.line_number}: {self.quantity} x {self.product.sku}"

    @property
    def total(self) -> Decimal:
        return self.net_amount + self.tax_amount
