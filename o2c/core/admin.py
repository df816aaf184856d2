"""Admin for the bottom layer, and the read-only building blocks every app's admin uses.

Ledgers, issued documents and counters are shown in admin but never written there: their
rows are changed only by services (and on PostgreSQL the database refuses it anyway)."""

from django.contrib import admin

from .models import AuditEvent, NumberSeries, TimelineEvent

admin.site.site_header = "O2C suite administration"
admin.site.site_title = "O2C suite admin"
admin.site.index_title = "Master data, documents and ledgers"


class ReadOnlyAdminMixin:
    """View-only: no add, change or delete, for anyone (superusers included)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def without_save_buttons(context: dict) -> dict:
    """For a change page whose every field is read-only (an issued document): nothing to save."""
    context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
    return context


class ReadOnlyInlineMixin(ReadOnlyAdminMixin):
    """A view-only inline: lines are shown with their parent, never edited there."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        # Shown, never submitted: every field, the non-editable ones (created_at) included.
        return self.fields or [field.name for field in self.model._meta.fields]


@admin.register(NumberSeries)
class NumberSeriesAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Counters advance only inside the issuing transaction (o2c.core.numbering)."""

    list_display = ["prefix", "year", "last_number"]
    list_filter = ["prefix", "year"]
    search_fields = ["prefix"]
    ordering = ["prefix", "-year"]


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "trail", "verb", "summary", "content_type", "object_id", "actor"]
    list_filter = ["verb", "content_type"]
    list_select_related = ["content_type", "actor"]
    search_fields = ["trail", "summary", "note", "actor__username"]
    date_hierarchy = "at"
    ordering = ["-at", "-id"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "action", "actor_name", "model", "object_repr", "ip_address"]
    list_filter = ["action", "model"]
    search_fields = ["actor_name", "object_repr", "object_id"]
    date_hierarchy = "at"
