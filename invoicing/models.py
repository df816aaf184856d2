from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from fulfillment.models import Shipment, ShipmentLine
from orders.models import MONEY, QUANTITY, Customer, SalesOrder, SalesOrderLine


class Invoice(models.Model):
    """An invoice. Drafts have no number; issued invoices never change (code and database
    trigger), except for what payments do to `amount_open` and `status`."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INVOICE, db_index=True)
    credited_invoice = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        help_text="For a credit note: the invoice it corrects.",
    )
    reason = models.CharField(max_length=200, blank=True, help_text="For a credit note: why it is given.")
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    order = models.ForeignKey(SalesOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    shipment = models.ForeignKey(Shipment, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    currency = models.CharField(max_length=3)
    customer_po = models.CharField("customer PO", max_length=50, blank=True)
    bill_to = models.TextField()
    payment_terms = models.CharField(max_length=80)
    issue_date = models.DateField(null=True, blank=True)
    supply_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True, db_index=True)
    net_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY, default=Decimal("0"))
    amount_open = models.DecimalField(**MONEY, default=Decimal("0"))
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        indexes = [
            models.Index(fields=["-issue_date", "-id"], name="invoice_keyset"),
            models.Index(fields=["customer", "due_date"], name="invoice_open_items", condition=Q(amount_open__gt=0)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total=Round(F("net_amount") + F("tax_amount"), 2)), name="invoice_total_adds_up"
            ),
            models.CheckConstraint(
                condition=Q(amount_open__gte=0, amount_open__lte=F("total")), name="invoice_open_within_total"
            ),
            models.CheckConstraint(
                condition=Q(status="draft", number__isnull=True) | Q(~Q(status="draft"), number__isnull=False),
                name="invoice_number_iff_issued",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(amount_open=0), name="invoice_paid_means_nothing_open"
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", credited_invoice__isnull=True)
                | Q(kind="credit_note", credited_invoice__isnull=False),
                name="invoice_credit_note_references_invoice",
            ),
        ]
        permissions = [("issue_invoice", "Can issue invoices and credit notes")]

    def __str__(self) -> str:
        return self.number or f"Draft invoice #{self.pk}"

    @property
    def amount_paid(self) -> Decimal:
        return self.total - self.amount_open


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    order_line = models.ForeignKey(
        SalesOrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    shipment_line = models.OneToOneField(
        ShipmentLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoice_line",
        help_text="Billed once, ever.",
    )
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(**QUANTITY)
    unit = models.CharField(max_length=10, default="pc")
    unit_price = models.DecimalField(**MONEY)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["invoice", "line_number"]
        constraints = [models.UniqueConstraint(fields=["invoice", "line_number"], name="invoiceline_unique_number")]

    def __str__(self) -> str:
        return f"{self.invoice} line {self.line_number}"

    @property
    def total(self) -> Decimal:
        return self.net_amount + self.tax_amount


class InvoiceDocument(models.Model):
    """A rendered file of an issued invoice, kept with its SHA-256 so it is never silently redone."""

    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to="invoices/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["invoice", "kind"], name="invoicedocument_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.invoice} {self.get_kind_display()}"


class BankAccount(models.Model):
    """A bank account of ours: printed on invoices for payment, and the account a bank
    statement belongs to in cash application."""

    name = models.CharField(max_length=80, help_text="How people call it, e.g. 'KBC current account'.")
    iban = models.CharField("IBAN", max_length=34, unique=True)
    bic = models.CharField("BIC", max_length=11, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    is_default = models.BooleanField(
        "print on invoices", default=False, help_text="The account invoices in its currency ask to be paid into."
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"], condition=Q(is_default=True), name="bankaccount_one_default_per_currency"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.iban})"

    def clean(self):
        errors = {}
        try:
            self.iban = IBAN(self.iban).compact
        except SchwiftyException as error:
            errors["iban"] = f"Not a valid IBAN: {error}"
        if self.bic:
            try:
                self.bic = BIC(self.bic).compact
            except SchwiftyException as error:
                errors["bic"] = f"Not a valid BIC: {error}"
        if errors:
            raise ValidationError(errors)
