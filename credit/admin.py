from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin

from .models import (
    CreditApplication,
    CreditDecision,
    CreditLimitChange,
    CreditPolicy,
    CreditProfile,
    ExchangeRate,
    ReviewItem,
)


@admin.register(CreditProfile)
class CreditProfileAdmin(admin.ModelAdmin):
    """The limit itself changes only through the credit profile page (history, four eyes)."""

    list_display = ["customer", "credit_limit", "currency", "risk_class", "approved_until", "review_due", "reviewed_at"]
    list_filter = ["risk_class", "currency", "reviewed_at", "customer__is_active"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__account_number"]
    date_hierarchy = "reviewed_at"
    autocomplete_fields = ["customer"]

    def get_readonly_fields(self, request, obj=None):
        return ["credit_limit", "temporary_increase", "temporary_until"] if obj else []


@admin.register(CreditDecision)
class CreditDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Decisions are recorded by credit.services (through o2c.flow) and never edited."""

    list_display = ["decided_at", "order", "customer", "outcome", "exposure", "credit_limit", "policy", "decided_by"]
    list_filter = ["outcome"]
    list_select_related = ["order__customer", "decided_by", "policy"]
    search_fields = ["order__number", "order__customer__name", "order__customer__account_number", "reasons"]
    date_hierarchy = "decided_at"

    @admin.display(ordering="order__customer__name")
    def customer(self, obj):
        return obj.order.customer


@admin.register(CreditPolicy)
class CreditPolicyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Versions are published on the credit policy page and never edited."""

    list_display = [
        "version",
        "max_days_overdue",
        "max_overdue_amount",
        "four_eyes_threshold",
        "created_at",
        "created_by",
    ]
    list_select_related = ["created_by"]
    search_fields = ["note"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["from_currency", "to_currency", "rate", "valid_from"]
    list_filter = ["from_currency", "to_currency"]
    search_fields = ["from_currency", "to_currency"]
    date_hierarchy = "valid_from"


@admin.register(CreditLimitChange)
class CreditLimitChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "requested_at",
        "profile",
        "old_limit",
        "new_limit",
        "currency",
        "status",
        "requested_by",
        "approved_by",
    ]
    list_filter = ["status"]
    list_select_related = ["profile__customer", "requested_by", "approved_by"]
    search_fields = ["profile__customer__name", "reason"]


@admin.register(CreditApplication)
class CreditApplicationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["submitted_at", "customer", "requested_limit", "currency", "status", "decided_by"]
    list_filter = ["status"]
    list_select_related = ["customer", "decided_by"]
    search_fields = ["customer__name", "customer__account_number"]


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["listed_on", "profile", "kind", "detail", "resolved_at"]
    list_filter = ["kind", "resolved_at"]
    list_select_related = ["profile__customer"]
    search_fields = ["profile__customer__name"]
