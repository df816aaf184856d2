from django.contrib import admin

from .models import PortalAccess


@admin.register(PortalAccess)
class PortalAccessAdmin(admin.ModelAdmin):
    """Which customer account a portal user acts for; granting it is an admin task."""

    list_display = ["user", "user_email", "customer", "user_is_active"]
    list_filter = ["user__is_active"]
    list_select_related = ["user", "customer"]
    search_fields = ["user__username", "user__email", "customer__name", "customer__account_number"]
    autocomplete_fields = ["user", "customer"]

    @admin.display(description="email", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description="active", boolean=True, ordering="user__is_active")
    def user_is_active(self, obj):
        return obj.user.is_active
