from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin

from .models import (
    Allocation,
    BankStatement,
    CashApplicationSettings,
    CollectionsSettings,
    Collector,
    CollectorAssignment,
    CollectorRule,
    CsvMapping,
    Dispute,
    DisputeAttachment,
    DisputeLine,
    DisputeMessage,
    DunningBlock,
    DunningLevel,
    DunningProcedure,
    DunningRun,
    JournalEntry,
    JournalLine,
    MatchingRule,
    PayerIdentity,
    Payment,
    ReconciliationRun,
    ReminderPolicy,
    StatementLine,
    StatementPreference,
    StatementUpload,
)


class JournalLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = JournalLine
    fields = ["account", "debit", "credit"]
    show_change_link = False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The AR ledger: posted by receivables.services, immutable (the database refuses changes)."""

    list_display = [
        "effective_date",
        "kind",
        "customer",
        "description",
        "invoice",
        "payment_id",
        "posted_at",
        "posted_by",
    ]
    list_filter = ["kind", "currency"]
    list_select_related = ["customer", "invoice", "posted_by"]
    search_fields = ["description", "customer__name", "customer__account_number", "invoice__number"]
    date_hierarchy = "effective_date"
    inlines = [JournalLineInline]


@admin.register(JournalLine)
class JournalLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["entry", "account", "customer", "debit", "credit"]
    list_filter = ["account", "entry__kind"]
    list_select_related = ["entry", "customer"]
    search_fields = ["entry__description", "customer__name", "customer__account_number"]
    date_hierarchy = "entry__effective_date"


class AllocationInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Allocation
    fields = [
        "invoice",
        "amount",
        "discount_amount",
        "write_off_amount",
        "write_off_reason",
        "reversed_at",
        "created_by",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice", "created_by")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Payments are recorded and applied through o2c.flow (each posts a ledger entry), so
    admin only shows them and how they were allocated."""

    list_display = [
        "__str__",
        "value_date",
        "customer",
        "amount",
        "amount_applied",
        "currency",
        "method",
        "status",
        "reference",
    ]
    list_filter = ["status", "method", "currency"]
    list_select_related = ["customer"]
    search_fields = ["reference", "customer__name", "customer__account_number", "allocations__invoice__number"]
    date_hierarchy = "value_date"
    inlines = [AllocationInline]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "payment", "invoice", "amount", "created_by"]
    list_select_related = ["payment__customer", "invoice", "created_by"]
    search_fields = ["invoice__number", "payment__reference", "payment__customer__name"]
    date_hierarchy = "created_at"


class StatementLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = StatementLine
    fields = ["position", "value_date", "amount", "counterparty_name", "remittance", "status", "payment"]


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Imported through the statement upload page or `import_statement`; never edited."""

    list_display = [
        "__str__",
        "bank_account",
        "format",
        "from_date",
        "to_date",
        "opening_balance",
        "closing_balance",
        "lines_in_file",
        "lines_added",
        "continuity_difference",
        "imported_at",
    ]
    list_filter = ["format", "bank_account"]
    list_select_related = ["bank_account"]
    search_fields = ["statement_id", "file_name"]


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["value_date", "amount", "currency", "counterparty_name", "remittance", "status", "confidence"]
    list_filter = ["status", "bank_account"]
    list_select_related = ["statement"]
    search_fields = ["remittance", "counterparty_name", "counterparty_iban", "bank_reference"]
    date_hierarchy = "value_date"


@admin.register(CsvMapping)
class CsvMappingAdmin(admin.ModelAdmin):
    list_display = ["name", "bank_account", "delimiter", "decimal_separator", "date_format"]


@admin.register(PayerIdentity)
class PayerIdentityAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "customer", "learned_from", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["customer"]
    search_fields = ["value", "customer__name"]
    autocomplete_fields = ["customer"]


@admin.register(MatchingRule)
class MatchingRuleAdmin(admin.ModelAdmin):
    """Finance managers' rules, tried before the built-in matching."""

    list_display = ["priority", "name", "text_contains", "action", "customer", "is_active"]
    list_editable = ["is_active"]
    list_display_links = ["name"]
    autocomplete_fields = ["customer"]


@admin.register(CashApplicationSettings)
class CashApplicationSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "suggest_threshold", "write_off_limit", "bank_charges_limit", "name_match_score"]


@admin.register(StatementUpload)
class StatementUploadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["file_name", "bank_account", "status", "progress", "total", "created_by", "created_at"]
    list_filter = ["status"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["ran_at", "lines_rematched", "problems"]


# Collections set-up: reminders and dunning ------------------------------------------------------
@admin.register(CollectionsSettings)
class CollectionsSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "minimum_amount", "reference_rate", "dunning_mode", "promise_grace_days"]


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "segment", "days_before_due", "is_active"]
    list_filter = ["is_active", "segment"]


class DunningLevelInline(admin.StackedInline):
    model = DunningLevel
    extra = 0


@admin.register(DunningProcedure)
class DunningProcedureAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "segment", "is_active"]
    inlines = [DunningLevelInline]


@admin.register(DunningLevel)
class DunningLevelAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "days_overdue",
        "fee",
        "charge_interest",
        "interest_margin",
        "channel",
        "is_final_notice",
    ]
    list_filter = ["procedure", "channel"]


@admin.register(DunningBlock)
class DunningBlockAdmin(admin.ModelAdmin):
    list_display = ["customer", "reason", "until", "created_by", "created_at"]
    autocomplete_fields = ["customer"]


@admin.register(DunningRun)
class DunningRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["run_date", "status", "letters_count", "items_count", "skipped_count", "approved_by"]
    list_filter = ["status"]


# Disputes: read only here; opened, worked and resolved on the dispute pages (receivables.disputes, o2c.flow).
class DisputeLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = DisputeLine
    fields = ["invoice_line", "quantity", "amount"]


class DisputeMessageInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = DisputeMessage
    fields = ["created_at", "author", "from_customer", "body", "read_at"]


class DisputeAttachmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = DisputeAttachment
    fields = ["source", "name", "file", "link", "size", "uploaded_by", "uploaded_at"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "invoice", "customer", "reason", "amount", "status", "resolution", "owner", "due_date"]
    list_filter = ["status", "reason", "resolution", "opened_in_portal"]
    search_fields = ["invoice__number", "customer__name", "customer__account_number"]
    list_select_related = ["invoice", "customer", "owner"]
    inlines = [DisputeLineInline, DisputeAttachmentInline, DisputeMessageInline]


class CollectorRuleInline(admin.TabularInline):
    model = CollectorRule
    fields = ["priority", "segment", "min_balance", "max_balance"]
    extra = 1


@admin.register(Collector)
class CollectorAdmin(admin.ModelAdmin):
    """Collectors and their assignment rules (segment, open balance range; lower priority first).
    The nightly task re-applies the rules; an explicit assignment wins."""

    list_display = ["__str__", "user", "is_active"]
    list_filter = ["is_active"]
    autocomplete_fields = ["user"]
    inlines = [CollectorRuleInline]


@admin.register(CollectorAssignment)
class CollectorAssignmentAdmin(admin.ModelAdmin):
    list_display = ["customer", "collector", "by_rule", "next_action_on", "assigned_at"]
    list_filter = ["by_rule", "collector"]
    search_fields = ["customer__name", "customer__account_number"]
    autocomplete_fields = ["customer"]


@admin.register(StatementPreference)
class StatementPreferenceAdmin(admin.ModelAdmin):
    list_display = ["customer", "monthly", "last_sent_for"]
    list_filter = ["monthly"]
    search_fields = ["customer__name", "customer__account_number"]
    autocomplete_fields = ["customer"]
