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
    OPENING_BALANCES = "3900", "Opening balances (go-live)"
    REVENUE = "4000", "Revenue"
    SALES_DISCOUNTS = "4900", "Early-payment discounts given"
    BANK_CHARGES = "6500", "Bank charges borne"
    WRITE_OFFS = "6800", "Small differences written off"
    BAD_DEBTS = "6900", "Bad debts written off"
    FEE_INCOME = "4100", "Dunning fees charged"
    INTEREST_INCOME = "4200", "Late-payment interest charged"


class JournalEntry(models.Model):
    """One balanced money event on a customer account. Never updated or deleted: the database
    refuses both, and refuses to commit an entry whose debits and credits differ."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Payment received"
        ALLOCATION = "allocation", "Cash applied"
        OPENING = "opening", "Open item taken over at go-live"
        REVERSAL = "reversal", "Reversal"
        CREDIT_NOTE = "credit_note", "Credit note"
        CHARGE = "charge", "Dunning fee or interest charged"
        WRITE_OFF = "write_off", "Balance written off"
        REFUND = "refund", "Credit balance refunded"

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
    payer_iban = models.CharField("payer's IBAN", max_length=34, blank=True)
    payer_name = models.CharField("payer's name", max_length=140, blank=True)
    end_to_end_id = models.CharField("end-to-end id", max_length=64, blank=True, db_index=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.CharField(max_length=200, blank=True)
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
    """Cash of a payment applied to an invoice. The invoice's open amount goes down by the cash
    plus any early-payment discount taken and any difference written off (each posted)."""

    class WriteOffReason(models.TextChoices):
        BANK_CHARGES = "bank_charges", "Bank charges deducted by the payer's bank"
        SMALL_DIFFERENCE = "small_difference", "Small difference under the write-off limit"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField("cash applied", **MONEY)
    discount_amount = models.DecimalField("discount taken", **MONEY, default=Decimal("0"))
    write_off_amount = models.DecimalField("written off", **MONEY, default=Decimal("0"))
    write_off_reason = models.CharField(max_length=20, choices=WriteOffReason.choices, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0, write_off_amount__gte=0), name="allocation_adjustments_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(write_off_amount=0) | ~Q(write_off_reason=""), name="allocation_write_off_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment #{self.payment_id} to {self.invoice}"

    @property
    def settled(self) -> Decimal:
        """What the allocation took off the invoice's open amount."""
        return self.amount + self.discount_amount + self.write_off_amount


# Bank statements and cash application ------------------------------------------------------------
class BankStatement(models.Model):
    """One statement of one of our bank accounts, as imported from a file (camt.053, MT940,
    BAI2, CSV). Its lines are StatementLines; a line seen before (same bank reference, or same
    content when the bank gives none) is never added twice."""

    class Format(models.TextChoices):
        CAMT053 = "camt053", "ISO 20022 camt.053"
        MT940 = "mt940", "SWIFT MT940"
        BAI2 = "bai2", "BAI2"
        CSV = "csv", "CSV"
        LOCKBOX = "lockbox", "Lockbox / check batch"

    bank_account = models.ForeignKey("invoicing.BankAccount", on_delete=models.PROTECT, related_name="statements")
    statement_key = models.CharField(max_length=200, help_text="The bank's statement id, or a hash of the file.")
    format = models.CharField(max_length=10, choices=Format.choices)
    file_name = models.CharField(max_length=200, blank=True)
    file_sha256 = models.CharField(max_length=64)
    statement_id = models.CharField("bank's statement id", max_length=120, blank=True)
    from_date = models.DateField(null=True, blank=True)
    to_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    opening_balance = models.DecimalField(**MONEY, null=True, blank=True)
    closing_balance = models.DecimalField(**MONEY, null=True, blank=True)
    lines_in_file = models.PositiveIntegerField(default=0)
    lines_added = models.PositiveIntegerField(default=0)
    continuity_difference = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        help_text="Opening balance minus the previous statement's closing balance; empty when they agree.",
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["-to_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "statement_key"], name="bankstatement_unique_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} {self.statement_id or self.pk} ({self.to_date or ''})"


class StatementLine(models.Model):
    """One booked transaction of a statement (a batch booking is split into its transactions).
    Amounts are signed: positive = money in."""

    class Status(models.TextChoices):
        UNMATCHED = "unmatched", "Unmatched"
        SUGGESTED = "suggested", "Suggested"
        MATCHED = "matched", "Matched"
        IGNORED = "ignored", "Ignored"

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    bank_account = models.ForeignKey("invoicing.BankAccount", on_delete=models.PROTECT, related_name="statement_lines")
    dedupe_key = models.CharField(max_length=120, help_text="ref:<bank reference>, or hash:<content hash>.")
    position = models.PositiveIntegerField(help_text="Order in the file, from 1.")
    bank_reference = models.CharField(max_length=120, blank=True)
    booking_date = models.DateField()
    value_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    counterparty_name = models.CharField(max_length=140, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    counterparty_id = models.CharField("counterparty tax or company id", max_length=64, blank=True)
    remittance = models.TextField(blank=True)
    structured_reference = models.CharField(max_length=64, blank=True)
    end_to_end_id = models.CharField(max_length=64, blank=True)
    transaction_code = models.CharField(max_length=40, blank=True)
    is_return = models.BooleanField(default=False, help_text="A direct-debit return or a bounced check.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNMATCHED, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="statement_lines"
    )
    confidence = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    explanation = models.TextField(blank=True)
    candidates = models.JSONField(default=list, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["statement", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "dedupe_key"], name="statementline_once_per_account"),
            models.CheckConstraint(condition=~Q(amount=0) | Q(status="ignored"), name="statementline_zero_ignored"),
        ]
        indexes = [models.Index(fields=["status", "id"], name="statementline_queue")]

    def __str__(self) -> str:
        return f"{self.value_date} {self.amount} {self.currency} {self.counterparty_name}".strip()


class CsvMapping(models.Model):
    """How one bank's CSV export reads: which column holds what. Columns are named by their
    header text or by position (0 = first)."""

    bank_account = models.OneToOneField(
        "invoicing.BankAccount", on_delete=models.CASCADE, related_name="csv_mapping", null=True, blank=True
    )
    name = models.CharField(max_length=80, unique=True)
    delimiter = models.CharField(max_length=1, default=",")
    decimal_separator = models.CharField(max_length=1, default=".")
    date_format = models.CharField(max_length=20, default="%m/%d/%Y")
    has_header = models.BooleanField(default=True)
    header_starts_with = models.CharField(
        max_length=40, blank=True, help_text="Skip rows above the header until one starts with this text."
    )
    date_column = models.CharField(max_length=40, default="Date")
    amount_column = models.CharField(max_length=40, blank=True)
    debit_column = models.CharField(max_length=40, blank=True)
    credit_column = models.CharField(max_length=40, blank=True)
    sign_column = models.CharField(max_length=40, blank=True, help_text="A D/C column giving the sign.")
    debit_marker = models.CharField(max_length=10, default="D")
    currency_column = models.CharField(max_length=40, blank=True)
    text_column = models.CharField(max_length=40, blank=True)
    counterparty_name_column = models.CharField(max_length=40, blank=True)
    counterparty_iban_column = models.CharField(max_length=40, blank=True)
    reference_column = models.CharField(max_length=40, blank=True, help_text="The bank's unique reference.")
    balance_column = models.CharField(max_length=40, blank=True, help_text="Running balance after each line.")
    invert_sign = models.BooleanField(default=False, help_text="A card account: charges positive, payments negative.")
    payment_method = models.CharField(
        max_length=20,
        choices=[("transfer", "Credit transfer"), ("check", "Check"), ("card", "Card"), ("cash", "Cash")],
        default="transfer",
        help_text="How the money in this file was paid: 'Check' for a lockbox or check-batch file.",
    )

    class Meta:
        verbose_name = "CSV column mapping"

    def __str__(self) -> str:
        return self.name


class PayerIdentity(models.Model):
    """Who pays for whom: an IBAN or a payer name seen on a matched line, learned from every
    confirmed match (automatic or by a clerk), so the next payment from it finds its customer."""

    class Kind(models.TextChoices):
        IBAN = "iban", "IBAN"
        NAME = "name", "Payer name"

    kind = models.CharField(max_length=4, choices=Kind.choices)
    value = models.CharField(max_length=140, help_text="Compact IBAN, or the name in upper case.")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payer_identities")
    learned_from = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "payer identities"
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="payeridentity_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} -> {self.customer}"


class MatchingRule(models.Model):
    """A finance manager's rule, tried before the built-in matching: when a line's text (or the
    payer's name) contains the pattern, do the action."""

    class Action(models.TextChoices):
        IGNORE = "ignore", "Ignore (not customer cash)"
        BANK_FEES = "bank_fees", "Bank fees (ignore, booked by GL)"
        ASSIGN_CUSTOMER = "assign_customer", "Treat as paid by this customer"

    name = models.CharField(max_length=80)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower runs first.")
    text_contains = models.CharField(max_length=80)
    action = models.CharField(max_length=20, choices=Action.choices)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(action="assign_customer") | Q(customer__isnull=False),
                name="matchingrule_assign_needs_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}: text contains {self.text_contains!r} -> {self.get_action_display()}"


class CashApplicationSettings(models.Model):
    """Thresholds of the matching engine, one row, edited by a finance manager."""

    auto_apply_threshold = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.900"), help_text="Apply automatically from this confidence."
    )
    suggest_threshold = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.500"))
    write_off_limit = models.DecimalField(
        **MONEY, default=Decimal("2.00"), help_text="Short payments up to this are written off as small differences."
    )
    bank_charges_limit = models.DecimalField(
        **MONEY, default=Decimal("15.00"), help_text="Short payments up to this on foreign transfers are bank charges."
    )
    discount_grace_days = models.PositiveSmallIntegerField(
        default=3, help_text="Days after the discount window a discounted payment is still accepted."
    )
    name_match_score = models.PositiveSmallIntegerField(default=90, help_text="Fuzzy name score (0-100) to trust.")
    combination_max_items = models.PositiveSmallIntegerField(
        default=14, help_text="Open items searched for a combination summing to the payment."
    )

    class Meta:
        verbose_name = "cash application settings"
        verbose_name_plural = "cash application settings"

    def __str__(self) -> str:
        return f"Auto-apply from {self.auto_apply_threshold}"

    @classmethod
    def current(cls) -> "CashApplicationSettings":
        return cls.objects.order_by("pk").first() or cls()


class StatementUpload(models.Model):
    """A statement file uploaded on the page and imported by a worker, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    bank_account = models.ForeignKey("invoicing.BankAccount", on_delete=models.PROTECT, related_name="uploads")
    file = models.FileField(upload_to="statements/%Y/%m/")
    file_name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return int(self.progress * 100 / self.total) if self.total else 0


class ReconciliationRun(models.Model):
    """What the nightly reconciliation found: lines newly matched, and every difference between
    the ledger, the open items, unapplied cash and statement balances."""

    ran_at = models.DateTimeField(auto_now_add=True)
    lines_rematched = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"Reconciliation {self.ran_at:%Y-%m-%d %H:%M}: {len(self.problems)} differences"


# Collections: reminders, dunning, promises, activities, disputes, write-offs, refunds ---------------
class CollectionsSettings(models.Model):
    """One row: the company-wide rules of collections. Edited in admin."""

    minimum_amount = models.DecimalField(
        **MONEY, default=Decimal("5.00"), help_text="Open amounts below this are never reminded or dunned."
    )
    small_balance_limit = models.DecimalField(
        **MONEY, default=Decimal("1.00"), help_text="Open amounts up to this are written off automatically."
    )
    small_balance_min_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days past due before a small balance is written off."
    )
    bad_debt_four_eyes = models.BooleanField(
        default=True, help_text="A bad-debt write-off or refund needs a second person to approve it."
    )
    reference_rate = models.DecimalField(
        "reference rate %",
        max_digits=6,
        decimal_places=3,
        default=Decimal("4.000"),
        help_text="The central bank's reference rate that statutory interest is charged over.",
    )
    dunning_mode = models.CharField(
        max_length=10,
        choices=[("preview", "A manager approves each run"), ("automatic", "Runs are sent at once")],
        default="preview",
    )
    promise_grace_days = models.PositiveSmallIntegerField(
        default=1, help_text="A promise is broken this many days after its date when it is not kept."
    )

    class Meta:
        verbose_name_plural = "collections settings"

    def __str__(self) -> str:
        return "Collections settings"

    @classmethod
    def current(cls) -> "CollectionsSettings":
        return cls.objects.order_by("pk").first() or cls.objects.create()


class ReminderPolicy(models.Model):
    """Pre-due (and due-day) reminders for a customer segment: one row per moment, e.g. 7 days
    before due and on the due date. An empty segment is the default for every segment without
    its own rows."""

    segment = models.CharField(max_length=30, blank=True, db_index=True)
    days_before_due = models.SmallIntegerField(help_text="7 = a week before the due date; 0 = on the due date.")
    is_active = models.BooleanField("active", default=True)

    class Meta:
        verbose_name_plural = "reminder policies"
        ordering = ["segment", "-days_before_due"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "days_before_due"], name="reminderpolicy_unique_moment")
        ]

    def __str__(self) -> str:
        return f"{self.segment or 'every segment'}: {self.days_before_due} days before due"


class DunningProcedure(models.Model):
    """A ladder of dunning levels; customers use the default one unless their segment has its own."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    segment = models.CharField(max_length=30, blank=True, db_index=True, help_text="Empty: the default procedure.")
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DunningLevel(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email with the letter PDF"
        LETTER = "letter", "Printed letter (PDF)"
        CALL = "call", "Call task for the collector"

    procedure = models.ForeignKey(DunningProcedure, on_delete=models.CASCADE, related_name="levels")
    level = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=60, help_text="e.g. 'First reminder', 'Final notice'.")
    days_overdue = models.PositiveSmallIntegerField(help_text="An item reaches this level this many days past due.")
    fee = models.DecimalField(**MONEY, default=Decimal("0"), help_text="Charged once per letter at this level.")
    charge_interest = models.BooleanField(default=False)
    interest_margin = models.DecimalField(
        "interest over the reference rate %", max_digits=6, decimal_places=3, default=Decimal("8.000")
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    letter_text = models.TextField(help_text="The paragraph the letter opens with (per language in translations).")
    is_final_notice = models.BooleanField(default=False)
    hand_over_to_agency = models.BooleanField(
        default=False, help_text="Items reaching this level go on the collection agency list."
    )

    class Meta:
        ordering = ["procedure", "level"]
        constraints = [models.UniqueConstraint(fields=["procedure", "level"], name="dunninglevel_unique_per_procedure")]

    def __str__(self) -> str:
        return f"{self.procedure.code} {self.level}: {self.name}"


class DunningBlock(models.Model):
    """No reminder or dunning for this customer until `until` (or until removed)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="dunning_block")
    reason = models.CharField(max_length=200)
    until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Dunning blocked for {self.customer}: {self.reason}"


class DunningRun(models.Model):
    class Status(models.TextChoices):
        PREVIEW = "preview", "Waiting for approval"
        APPROVED = "approved", "Approved, sending"
        SENT = "sent", "Sent"
        DISCARDED = "discarded", "Discarded"

    run_date = models.DateField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEW)
    letters_count = models.PositiveIntegerField(default=0)
    items_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-run_date", "-id"]

    def __str__(self) -> str:
        return f"Dunning run {self.run_date} ({self.get_status_display()})"


class DunningLetter(models.Model):
    """One letter per customer, currency and run, listing all its overdue items at their levels."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    run = models.ForeignKey(DunningRun, on_delete=models.CASCADE, related_name="letters")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="dunning_letters")
    level = models.ForeignKey(DunningLevel, on_delete=models.PROTECT, help_text="The highest level of its items.")
    currency = models.CharField(max_length=3)
    total_overdue = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY, default=Decimal("0"))
    interest = models.DecimalField(**MONEY, default=Decimal("0"))
    charge = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Fee and interest."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    pdf = models.FileField(upload_to="dunning/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer", "currency"], name="dunningletter_one_per_customer_currency_run"
            )
        ]

    def __str__(self) -> str:
        return f"Dunning letter to {self.customer} ({self.run.run_date})"


class DunningItem(models.Model):
    """An invoice on a letter at a level: the dunning history of the invoice."""

    letter = models.ForeignKey(DunningLetter, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="dunning_items")
    level = models.ForeignKey(DunningLevel, on_delete=models.PROTECT)
    days_overdue = models.PositiveIntegerField()
    amount = models.DecimalField("amount dunned", **MONEY)
    interest = models.DecimalField(**MONEY, default=Decimal("0"))

    class Meta:
        ordering = ["letter", "invoice__due_date", "invoice_id"]
        indexes = [models.Index(fields=["invoice", "level"], name="dunningitem_history")]

    def __str__(self) -> str:
        return f"{self.invoice} at level {self.level.level}"


class Reminder(models.Model):
    """A pre-due or due-day reminder of one invoice, sent once per policy moment."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    days_before_due = models.SmallIntegerField()
    recipient = models.CharField(max_length=254)
    sent_on = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["invoice", "days_before_due"], name="reminder_once_per_moment")]

    def __str__(self) -> str:
        return f"Reminder for {self.invoice} ({self.days_before_due} days before due)"


class CollectionSkip(models.Model):
    """Why an item was not reminded or dunned on a day."""

    class Reason(models.TextChoices):
        DISPUTED = "disputed", "Disputed"
        PROMISED = "promised", "Covered by a promise to pay"
        LIKELY_PAID = "likely_paid", "Likely paid (unapplied cash or an unmatched bank line)"
        BLOCKED = "blocked", "Customer has a dunning block"
        BELOW_MINIMUM = "below_minimum", "Below the minimum amount"

    class Step(models.TextChoices):
        REMINDER = "reminder", "Pre-due reminder"
        DUNNING = "dunning", "Dunning"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="collection_skips")
    run = models.ForeignKey(DunningRun, null=True, blank=True, on_delete=models.CASCADE, related_name="skips")
    step = models.CharField(max_length=10, choices=Step.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=200, blank=True)
    on = models.DateField()

    class Meta:
        ordering = ["-on", "-id"]
        indexes = [models.Index(fields=["invoice", "on"], name="collectionskip_by_invoice")]

    def __str__(self) -> str:
        return f"{self.invoice} skipped on {self.on}: {self.get_reason_display()}"


class Collector(models.Model):
    """A collections person and the accounts they work. Assignment rules (segment, size) are
    CollectorRule rows; an explicit Customer assignment (CollectorAssignment) wins."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collector")
    is_active = models.BooleanField("active", default=True)

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class CollectorRule(models.Model):
    collector = models.ForeignKey(Collector, on_delete=models.CASCADE, related_name="rules")
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower first.")
    segment = models.CharField(max_length=30, blank=True)
    min_balance = models.DecimalField(**MONEY, null=True, blank=True)
    max_balance = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.collector}: {self.segment or 'any segment'} {self.min_balance or ''}-{self.max_balance or ''}"


class CollectorAssignment(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="collector_assignment")
    collector = models.ForeignKey(Collector, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(auto_now=True)
    by_rule = models.BooleanField(default=True)
    next_action_on = models.DateField("follow up on", null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.customer} -> {self.collector}"


class PromiseToPay(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        KEPT = "kept", "Kept"
        BROKEN = "broken", "Broken"
        CANCELLED = "cancelled", "Cancelled"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="promises")
    invoices = models.ManyToManyField(Invoice, related_name="promises", blank=True)
    promised_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["promised_date", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive")]

    def __str__(self) -> str:
        return f"{self.customer} promised {self.amount} {self.currency} by {self.promised_date}"


class CollectionActivity(models.Model):
    """What a collector did on an account: a call with its outcome, an email, a note."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        NOTE = "note", "Note"
        CALL_TASK = "call_task", "Call task (from dunning)"

    class Outcome(models.TextChoices):
        NONE = "", "-"
        REACHED = "reached", "Reached, will pay"
        PROMISED = "promised", "Promised to pay"
        NO_ANSWER = "no_answer", "No answer"
        DISPUTE = "dispute", "Raised a dispute"
        REFUSED = "refused", "Refuses to pay"
        WRONG_CONTACT = "wrong_contact", "Wrong contact"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="collection_activities")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, blank=True)
    summary = models.CharField(max_length=300)
    follow_up_on = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=True, help_text="False for an open task, e.g. a call dunning asked for.")
    dunning_letter = models.ForeignKey(DunningLetter, null=True, blank=True, on_delete=models.SET_NULL)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "collection activities"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"], name="activity_by_customer")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer}: {self.summary}"


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UNDER_REVIEW = "under_review", "Under review"
        RESOLVED = "resolved", "Resolved"

    class Reason(models.TextChoices):
        PRICE = "price", "Price"
        QUANTITY = "quantity", "Quantity"
        DAMAGED = "damaged", "Damaged goods"
        NOT_RECEIVED = "not_received", "Not received"
        DUPLICATE = "duplicate", "Duplicate invoice"
        OTHER = "other", "Other"

    class Resolution(models.TextChoices):
        CREDIT_NOTE = "credit_note", "Accepted: credit note"
        PARTIAL = "partial", "Partly accepted: credit note for part"
        REJECTED = "rejected", "Rejected: dunning resumes"
        PAID = "paid", "Customer paid"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="disputes")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="disputes")
    reason = models.CharField(max_length=15, choices=Reason.choices)
    amount = models.DecimalField("disputed amount", **MONEY)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_disputes"
    )
    due_date = models.DateField("resolve by", null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_in_portal = models.BooleanField(default=False)
    opened_at = models.DateTimeField(auto_now_add=True)
    resolution = models.CharField(max_length=15, choices=Resolution.choices, blank=True)
    accepted_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="resolved_disputes"
    )
    resolution_note = models.CharField(max_length=300, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(
                condition=Q(accepted_amount__gte=0, accepted_amount__lte=models.F("amount")),
                name="dispute_accepted_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["invoice"], name="dispute_open_by_invoice", condition=~Q(status="resolved")),
        ]

    def __str__(self) -> str:
        return f"Dispute #{self.pk} on {self.invoice}"


class DisputeLine(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey("invoicing.InvoiceLine", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    amount = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return f"{self.invoice_line} disputed for {self.amount}"


class DisputeMessage(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    from_customer = models.BooleanField(default=False)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="When the other side first read it.")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Message on dispute #{self.dispute_id}"


class DisputeAttachment(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload", "Uploaded"
        INVOICE = "invoice", "Invoice document"
        ORDER = "order", "Sales order"
        PROOF_OF_DELIVERY = "pod", "Proof of delivery"
        BILL_OF_LADING = "bol", "Bill of lading"

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(DisputeMessage, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UPLOAD)
    file = models.FileField(upload_to="disputes/%Y/", blank=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    link = models.CharField(max_length=300, blank=True, help_text="For an attached document kept elsewhere.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class WriteOff(models.Model):
    """An open amount written off: small balances automatically, bad debt with four eyes."""

    class Kind(models.TextChoices):
        SMALL_BALANCE = "small_balance", "Small balance (automatic)"
        BAD_DEBT = "bad_debt", "Bad debt"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for approval"
        POSTED = "posted", "Posted"
        REJECTED = "rejected", "Rejected"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="writeoff_amount_positive"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="writeoff_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"Write-off of {self.amount} on {self.invoice}"


class Refund(models.Model):
    """Unapplied cash paid back to the customer, after approval by a second person."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for approval"
        POSTED = "posted", "Paid out"
        REJECTED = "rejected", "Rejected"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**MONEY)
    iban = models.CharField("pay to IBAN", max_length=34)
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="refund_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund of {self.amount} from payment #{self.payment_id}"


class StatementPreference(models.Model):
    """Customers who receive a statement of account by email every month."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="statement_preference")
    monthly = models.BooleanField(default=True)
    last_sent_for = models.DateField(null=True, blank=True, help_text="The month end of the last statement sent.")

    def __str__(self) -> str:
        return f"Monthly statements for {self.customer}"
