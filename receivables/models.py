from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from invoicing.models import Invoice
from orders.models import MONEY, Customer


class Account(models.TextChoices):
    """The general-ledger accounts the AR sub-ledger posts to."""

    RECEIVABLES = "1200", "Accounts receivable"
    BANK = "1000", "Bank"
    UNAPPLIED_CASH = "2050", "Unapplied cash"
    TAX = "2400", "Output tax payable"
    REVENUE = "4000", "Revenue"


class JournalEntry(models.Model):
    """One balanced money event on a customer account. Never updated or deleted: the database
    refuses both, and refuses to commit an entry whose debits and credits differ."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Payment received"
        ALLOCATION = "allocation", "Cash applied"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="journal_entries")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT)
    payment = models.ForeignKey("Payment", null=True, blank=True, on_delete=models.PROTECT)
    currency = models.CharField(max_length=3)
    effective_date = models.DateField()
    description = models.CharField(max_length=200)
    posted_at = models.DateTimeField(auto_now_add=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name_plural = "journal entries"
        ordering = ["-posted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.effective_date} {self.description}"


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(max_length=4, choices=Account.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="journal_lines")
    debit = models.DecimalField(**MONEY, default=Decimal("0"))
    credit = models.DecimalField(**MONEY, default=Decimal("0"))

    class Meta:
        indexes = [models.Index(fields=["customer", "account"], name="journalline_customer_account")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0, credit=0) | Q(debit=0, credit__gt=0)), name="journalline_one_side_positive"
            ),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.get_account_display()} {side}"


class Payment(models.Model):
    class Status(models.TextChoices):
        UNAPPLIED = "unapplied", "Unapplied"
        PARTIALLY_APPLIED = "partially_applied", "Partially applied"
        APPLIED = "applied", "Applied"
        REVERSED = "reversed", "Reversed"

    class Method(models.TextChoices):
        TRANSFER = "transfer", "Credit transfer"
        DIRECT_DEBIT = "direct_debit", "Direct debit"
        CARD = "card", "Card"
        CHECK = "check", "Check"
        CASH = "cash", "Cash"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY)
    amount_applied = models.DecimalField(**MONEY, default=Decimal("0"))
    currency = models.CharField(max_length=3)
    value_date = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.TRANSFER)
    reference = models.CharField("payer's reference", max_length=140, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNAPPLIED, db_index=True)
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-value_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_applied__gte=0, amount_applied__lte=models.F("amount")),
                name="payment_applied_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment #{self.pk} {self.amount} {self.currency} from {self.customer.name}"

    @property
    def amount_unapplied(self) -> Decimal:
        return self.amount - self.amount_applied


class Allocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} of payment #{self.payment_id} to {self.invoice}"
