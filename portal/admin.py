from django.contrib import admin, messages

from . import services
from .models import ChangeRequest, InvoiceDeliveryPreference, PaymentIntent, PaymentIntentItem, PortalAccess


@admin.register(PortalAccess)
class PortalAccessAdmin(admin.ModelAdmin):
    """Which customer account a portal user acts for, with their rights."""

    list_display = ["user", "user_email", "customer", "can_order", "can_pay", "can_manage_users", "user_is_active"]
    list_filter = ["user__is_active", "can_order", "can_pay", "can_manage_users"]
    list_select_related = ["user", "customer"]
    search_fields = ["user__username", "user__email", "customer__name", "customer__account_number"]
    autocomplete_fields = ["user", "customer"]
    readonly_fields = ["invited_by", "invited_at"]
    actions = ["send_invitation"]

    @admin.display(description="email", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description="active", boolean=True, ordering="user__is_active")
    def user_is_active(self, obj):
        return obj.user.is_active

    @admin.action(description="Email a (new) set-password link")
    def send_invitation(self, request, queryset):
        for access in queryset.select_related("user", "customer"):
            services.send_invitation(access=access)
        self.message_user(request, f"{queryset.count()} invitation(s) sent.", messages.SUCCESS)


class PaymentIntentItemInline(admin.TabularInline):
    model = PaymentIntentItem
    extra = 0
    can_delete = False
    readonly_fields = ["invoice", "amount"]


@admin.register(PaymentIntent)
class PaymentIntentAdmin(admin.ModelAdmin):
    """Online payments started in the portal; read-only (providers and the flow write them)."""

    list_display = ["reference", "customer", "provider", "status", "amount", "currency", "created_at", "confirmed_at"]
    list_filter = ["status", "provider", "via_pay_link"]
    list_select_related = ["customer"]
    search_fields = ["reference", "customer__name", "customer__account_number", "provider_reference"]
    inlines = [PaymentIntentItemInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PaymentIntentItem)
class PaymentIntentItemAdmin(admin.ModelAdmin):
    list_display = ["intent", "invoice", "amount"]
    list_select_related = ["intent", "invoice"]
    search_fields = ["invoice__number", "intent__reference"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "status", "requested_by", "requested_at", "handled_by"]
    list_filter = ["status", "kind"]
    list_select_related = ["customer", "requested_by", "handled_by"]
    search_fields = ["customer__name", "customer__account_number", "details"]
    readonly_fields = ["requested_by", "requested_at", "handled_by", "handled_at"]


@admin.register(InvoiceDeliveryPreference)
class InvoiceDeliveryPreferenceAdmin(admin.ModelAdmin):
    list_display = ["customer", "channel", "email", "peppol_id", "updated_by", "updated_at"]
    list_filter = ["channel"]
    list_select_related = ["customer", "updated_by"]
    search_fields = ["customer__name", "customer__account_number", "email", "peppol_id"]
