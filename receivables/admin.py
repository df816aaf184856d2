from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin

from .models import Allocation, JournalEntry, JournalLine, Payment


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
    fields = ["invoice", "amount", "created_at", "created_by"]

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
