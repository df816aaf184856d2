from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin

from .models import ArSnapshot


@admin.register(ArSnapshot)
class ArSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Taken nightly by the reporting task; history is never rewritten."""

    list_display = ["taken_on", "open_total", "overdue_total", "open_invoices", "created_at"]
    date_hierarchy = "taken_on"
