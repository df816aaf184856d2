import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from invoicing.models import Invoice
from orders.models import MONEY, Customer


class PortalAccess(models.Model):
    """Which customer account a portal user acts for, and what they may do there. Every
    portal query is scoped by it. Seeing the account is the base right of every portal user;
    the flags add ordering, paying and managing colleagues. Disabling = user.is_active off."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_access")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="portal_users")
    can_order = models.BooleanField("may place orders", default=True)
    can_pay = models.BooleanField("may pay invoices", default=True)
    can_dispute = models.BooleanField("may raise disputes", default=True)
    can_manage_users = models.BooleanField("may invite and disable colleagues", default=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "portal access"
        permissions = [
            ("use_portal", "Can use the customer portal"),
            ("invite_portal_user", "Can invite customer users to the portal"),
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.customer}"

    RIGHTS = ("can_order", "can_pay", "can_dispute", "can_manage_users")

    def rights_label(self) -> str:
        labels = ("order", "pay", "dispute", "manage users")
        return ", ".join(
            ["view"] + [label for flag, label in zip(self.RIGHTS, labels, strict=True) if getattr(self, flag)]
        )


def _new_reference() -> str:
    return secrets.token_urlsafe(18)


class PaymentIntent(models.Model):
    """One online payment of one or several invoices, through one payment provider. The
    provider moves it from started to succeeded (payments recorded through the flow) or failed."""

    class Status(models.TextChoices):
        STARTED = "started", "Started"
        AWAITING_TRANSFER = "awaiting_transfer", "Awaiting bank transfer"
        SUCCEEDED = "succeeded", "Paid"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    reference = models.CharField(max_length=40, unique=True, default=_new_reference, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payment_intents")
    provider = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTED, db_index=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**MONEY)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    via_pay_link = models.BooleanField(default=False, help_text="Started from a signed pay link, without signing in.")
    provider_reference = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="paymentintent_amount_positive")]

    def __str__(self) -> str:
        return f"Online payment {self.amount} {self.currency} ({self.get_status_display()})"

    @property
    def trail(self) -> str:
        return f"payment-intent:{self.pk}"


class PaymentIntentItem(models.Model):
    intent = models.ForeignKey(PaymentIntent, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="portal_payment_items")
    amount = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["intent", "invoice"], name="paymentintentitem_once_per_invoice"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="paymentintentitem_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} for {self.invoice}"

    def idempotency_key(self) -> str:
        """The key of the Payment this item becomes: a repeated confirmation pays once."""
        return f"portal:{self.intent.reference}:{self.invoice_id}"


class ChangeRequest(models.Model):
    """A customer asks us to change master data (contact, address, ...): staff applies it."""

    class Kind(models.TextChoices):
        CONTACT = "contact", "Contact details"
        ADDRESS = "address", "Address"
        INVOICE_DELIVERY = "invoice_delivery", "Invoice delivery"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="change_requests")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    details = models.TextField(help_text="What should change, in the customer's words.")
    attachment = models.FileField(
        upload_to="portal/change-requests/%Y/%m/", blank=True, help_text="A supporting letter (PDF, PNG or JPEG)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="portal_change_requests"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    staff_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} change for {self.customer} ({self.get_status_display()})"


class InvoiceDeliveryPreference(models.Model):
    """How the customer wants its invoices: by email (to which address) or as an e-invoice."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email (PDF)"
        E_INVOICE = "e_invoice", "E-invoice (Peppol UBL)"

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="invoice_delivery_preference")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    email = models.EmailField("invoice email", blank=True)
    peppol_id = models.CharField("Peppol participant id", max_length=60, blank=True, help_text="e.g. 0208:0403170701")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_channel_display()}"
