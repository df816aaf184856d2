from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from fulfillment.models import Shipment, ShipmentLine
from orders.models import MONEY, QUANTITY, Customer, PaymentTerms, Product, SalesOrder, SalesOrderLine

TAX_CATEGORIES = Product.TaxCategory.choices


class RoundingRule(models.TextChoices):
    PER_LINE = "per_line", "Per line (tax rounded on each line, then added)"
    PER_DOCUMENT = "per_document", "Per document (tax rounded once per rate on the taxable total)"


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
        CHARGE = "charge", "Dunning charge (fees and late-payment interest)"

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
    # Frozen at issue, so the documents of an issued invoice never change with master data.
    seller = models.JSONField(default=dict, blank=True, help_text="The seller's legal data at issue.")
    buyer = models.JSONField(default=dict, blank=True, help_text="The buyer's legal data when drafted.")
    rounding_rule = models.CharField(max_length=12, choices=RoundingRule.choices, default=RoundingRule.PER_LINE)
    rf_reference = models.CharField("RF reference", max_length=25, blank=True)
    discount_percent = models.DecimalField(
        "early-payment discount %", max_digits=5, decimal_places=2, default=Decimal("0")
    )
    discount_date = models.DateField("pay by for the discount", null=True, blank=True)
    discount_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    period_start = models.DateField(null=True, blank=True, help_text="Consolidated invoices: the period billed.")
    period_end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        indexes = [
            models.Index(fields=["-issue_date", "-id"], name="invoice_keyset"),
            models.Index(fields=["customer", "due_date"], name="invoice_open_items", condition=Q(amount_open__gt=0)),
            # Aging, the open-items totals and the cash forecast read only this (index-only scan over
            # the open items; the forecast joins each item's customer and sums it per currency).
            models.Index(
                fields=["due_date"],
                include=["amount_open", "kind", "customer", "currency"],
                name="invoice_open_aging",
                condition=Q(status="issued", amount_open__gt=0),
            ),
            # The same for aging by invoice date (the receivables report shows both bases).
            models.Index(
                fields=["issue_date"],
                include=["amount_open", "kind"],
                name="invoice_open_aging_issued",
                condition=Q(status="issued", amount_open__gt=0),
            ),
            # The order-quality refresh finds the credit notes issued since its last run, the invoice error
            # rate those of a period (few rows each).
            models.Index(fields=["issued_at"], name="credit_note_issued", condition=Q(kind="credit_note")),
            models.Index(fields=["issue_date"], name="credit_note_issue_date", condition=Q(kind="credit_note")),
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
                condition=Q(kind__in=["invoice", "charge"], credited_invoice__isnull=True)
                | Q(kind="credit_note", credited_invoice__isnull=False),
                name="invoice_credit_note_references_invoice",
            ),
        ]
        permissions = [("issue_invoice", "Can issue invoices and credit notes")]

    def __str__(self) -> str:
        label = {"credit_note": "credit note", "charge": "dunning charge"}.get(self.kind, "invoice")
        return self.number or f"Draft {label} #{self.pk}"

    def save(self, *args, **kwargs):
        # The code-level guard beside the database trigger: an issued document is written only
        # by the services that change what payments and credit notes may change.
        update_fields = kwargs.get("update_fields")
        allowed = {"amount_open", "status"}
        guarded = self.pk and not self._state.adding and not (update_fields and set(update_fields) <= allowed)
        if guarded and Invoice.objects.filter(pk=self.pk).exclude(status=self.Status.DRAFT).exists():
            raise ValidationError(f"{self} is issued and cannot be changed; issue a credit note.")
        super().save(*args, **kwargs)

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def amount_paid(self) -> Decimal:
        return self.total - self.amount_open

    @property
    def amount_with_discount(self) -> Decimal:
        return self.total - self.discount_amount


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
    tax_category = models.CharField(max_length=2, choices=TAX_CATEGORIES, default="S")
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    delivery_reference = models.CharField(max_length=40, blank=True, help_text="The shipment it was delivered in.")

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
        UBL = "ubl", "UBL (Peppol BIS 3.0)"
        FACTURX = "facturx", "Factur-X PDF"

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


class InvoiceTaxLine(models.Model):
    """The tax breakdown of an issued document: one row per VAT category and rate (EN 16931
    BG-23), with the exemption reason the law asks to print for 0% categories."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="tax_lines")
    category = models.CharField(max_length=2, choices=TAX_CATEGORIES)
    rate = models.DecimalField(max_digits=5, decimal_places=4)
    taxable_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    exemption_reason = models.CharField(max_length=200, blank=True)
    exemption_code = models.CharField("VATEX code", max_length=30, blank=True)

    class Meta:
        ordering = ["invoice", "category", "-rate"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "category", "rate"], name="invoicetaxline_one_per_rate")
        ]

    def __str__(self) -> str:
        return f"{self.invoice} {self.category} {self.rate:%}"


class InvoiceInstalment(models.Model):
    """One instalment of an issued invoice's payment schedule."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="instalments")
    sequence = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["invoice", "sequence"]
        constraints = [models.UniqueConstraint(fields=["invoice", "sequence"], name="invoiceinstalment_unique")]

    def __str__(self) -> str:
        return f"{self.invoice} instalment {self.sequence}"


class Company(models.Model):
    """Us, the seller: the legal data every invoice must show, and the branding of its PDF.
    The active row is used; an issued invoice keeps a copy of it (Invoice.seller)."""

    legal_name = models.CharField(max_length=200)
    address_line = models.CharField("street and number", max_length=200)
    postal_code = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=2, default="BE", help_text="ISO 3166 two-letter code.")
    vat_id = models.CharField("VAT id", max_length=30, help_text="With the country prefix, e.g. BE0403170701.")
    registration_id = models.CharField(
        "company registration", max_length=40, help_text="Legal registration number (e.g. the enterprise number)."
    )
    legal_info = models.CharField(
        max_length=200, blank=True, help_text="Legal form, register, share capital: printed in the footer."
    )
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    website = models.CharField(max_length=100, blank=True)
    einvoice_scheme = models.CharField(
        "e-invoice endpoint scheme", max_length=4, default="0208", help_text="Peppol EAS code, e.g. 0208 (BE)."
    )
    einvoice_id = models.CharField("e-invoice endpoint id", max_length=50)
    logo = models.FileField(upload_to="branding/", blank=True, help_text="PNG, JPEG or SVG printed on invoices.")
    primary_colour = models.CharField(max_length=7, default="#1f3a5f", help_text="Hex colour of headings.")
    accent_colour = models.CharField(max_length=7, default="#f3f6fa", help_text="Hex colour of the payment box.")
    footer_text = models.CharField(max_length=300, blank=True, help_text="Printed at the bottom of every page.")
    rounding_rule = models.CharField(max_length=12, choices=RoundingRule.choices, default=RoundingRule.PER_LINE)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="company_one_active"),
            models.CheckConstraint(
                condition=Q(primary_colour__regex=r"^#[0-9A-Fa-f]{6}$", accent_colour__regex=r"^#[0-9A-Fa-f]{6}$"),
                name="company_colours_hex",
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name


class TaxRate(models.Model):
    """A VAT rate in an EN 16931 category, with the exemption reason printed for 0% categories
    (the law asks for it on reverse charge, intra-EU, export, exempt and out-of-scope supplies)."""

    name = models.CharField(max_length=80)
    category = models.CharField(max_length=2, choices=TAX_CATEGORIES)
    rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0"))
    exemption_reason = models.CharField(max_length=200, blank=True)
    exemption_code = models.CharField("VATEX code", max_length=30, blank=True, help_text="e.g. VATEX-EU-AE")
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["category", "-rate"]
        constraints = [
            models.UniqueConstraint(fields=["category", "rate"], name="taxrate_unique"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lt=1), name="taxrate_fraction"),
            models.CheckConstraint(condition=Q(category__in=["S"]) | Q(rate=0), name="taxrate_zero_unless_standard"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.category} {self.rate * 100:.2f}%)"


class PaymentTermsInstalment(models.Model):
    """Payment terms paid in several parts: each a percent of the total due `days` after the
    invoice date (or the end of its month). The percents of one terms add up to 100."""

    terms = models.ForeignKey(PaymentTerms, on_delete=models.CASCADE, related_name="instalments")
    sequence = models.PositiveSmallIntegerField()
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    days = models.PositiveSmallIntegerField()
    end_of_month = models.BooleanField("from end of month", default=False)

    class Meta:
        ordering = ["terms", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["terms", "sequence"], name="termsinstalment_unique"),
            models.CheckConstraint(condition=Q(percent__gt=0, percent__lte=100), name="termsinstalment_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.terms}: {self.percent}% after {self.days} days"


class BillingProfile(models.Model):
    """How and when a customer is billed, and how documents reach them."""

    class Rule(models.TextChoices):
        EACH_SHIPMENT = "each_shipment", "Invoice each shipment"
        UP_FRONT = "up_front", "Invoice the order up front"
        WEEKLY = "weekly", "Consolidated weekly"
        MONTHLY = "monthly", "Consolidated monthly"

    class Format(models.TextChoices):
        UBL = "ubl", "UBL (Peppol BIS 3.0)"
        FACTURX = "facturx", "Factur-X"

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="billing_profile")
    rule = models.CharField(max_length=15, choices=Rule.choices, default=Rule.EACH_SHIPMENT)
    send_email = models.BooleanField("send by email", default=True)
    email = models.EmailField("invoice email", blank=True, help_text="Empty: the customer's invoice email.")
    attach_pdf = models.BooleanField("attach PDF", default=True)
    attach_xml = models.BooleanField("attach e-invoice XML", default=False)
    export_einvoice = models.BooleanField(
        "write e-invoice export file", default=False, help_text="For upload to an access point."
    )
    einvoice_format = models.CharField(max_length=10, choices=Format.choices, default=Format.UBL)
    einvoice_scheme = models.CharField("e-invoice endpoint scheme", max_length=4, blank=True)
    einvoice_id = models.CharField("e-invoice endpoint id", max_length=50, blank=True)
    email_bounced = models.BooleanField(default=False)
    bounce_reason = models.CharField(max_length=300, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["customer__name"]

    def __str__(self) -> str:
        return f"Billing of {self.customer}"

    @property
    def portal_only(self) -> bool:
        return not (self.send_email or self.export_einvoice)


class SendLog(models.Model):
    """One attempt to deliver an issued document: when, to whom, which files, what happened."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PORTAL = "portal", "Portal"
        EXPORT = "export", "E-invoice export file"

    class Result(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="send_log")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=300, blank=True)
    documents = models.CharField(max_length=200, blank=True, help_text="File names sent.")
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.QUEUED, db_index=True)
    detail = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.invoice} {self.get_channel_display()} {self.get_result_display()}"


class DocumentBundle(models.Model):
    """A zip of several invoices' PDFs built by a worker, with progress the page polls."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Building"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    invoice_ids = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="bundles/%Y/%m/", blank=True)
    detail = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"PDF bundle #{self.pk} ({len(self.invoice_ids)} invoices)"

    @property
    def total(self) -> int:
        return len(self.invoice_ids)

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 100
