from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin

from .models import CreditDecision, CreditProfile


@admin.register(CreditProfile)
class CreditProfileAdmin(admin.ModelAdmin):
    list_display = ["customer", "credit_limit", "max_overdue_days", "reviewed_at"]
    list_filter = ["max_overdue_days", "reviewed_at", "customer__is_active"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__account_number"]
    date_hierarchy = "reviewed_at"
    autocomplete_fields = ["customer"]


@admin.register(CreditDecision)
class CreditDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Decisions are recorded by credit.services (through o2c.flow) and never edited."""

    list_display = ["decided_at", "order", "customer", "outcome", "exposure", "credit_limit", "decided_by"]
    list_filter = ["outcome"]
    list_select_related = ["order__customer", "decided_by"]
    search_fields = ["order__number", "order__customer__name", "order__customer__account_number", "reasons"]
    date_hierarchy = "decided_at"

    @admin.display(ordering="order__customer__name")
    def customer(self, obj):
        return obj.order.customer
