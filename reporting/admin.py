from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin

from .models import ArSnapshot, CashForecastWeek


@admin.register(ArSnapshot)
class ArSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Taken nightly by the reporting task; history is never rewritten."""

    list_display = ["taken_on", "open_total", "current_total", "overdue_total", "dso", "open_invoices", "created_at"]
    date_hierarchy = "taken_on"


@admin.register(CashForecastWeek)
class CashForecastWeekAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Stored every Monday by the forecast task, to be set against the cash received."""

    list_display = ["made_on", "week_start", "currency", "expected", "invoices"]
    list_filter = ["currency"]
    date_hierarchy = "made_on"
