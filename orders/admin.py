from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin, without_save_buttons

from .models import Customer, PaymentTerms, Product, SalesOrder, SalesOrderLine


@admin.register(PaymentTerms)
class PaymentTermsAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "net_days"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["account_number", "name", "city", "country", "currency", "payment_terms", "is_active", "created_at"]
    list_filter = ["is_active", "country", "currency", "payment_terms"]
    list_select_related = ["payment_terms"]
    search_fields = ["account_number", "name", "email", "tax_id", "city", "postal_code"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["account_number", "name", "tax_id", "is_active", "blocked_reason"]}),
        ("Contact", {"fields": ["email", "phone"]}),
        ("Address", {"fields": ["address_line", "postal_code", "city", "country"]}),
        ("Billing", {"fields": ["currency", "payment_terms"]}),
        ("Record", {"fields": ["created_at"]}),
    ]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit", "unit_price", "currency", "tax_rate", "is_stock_tracked", "is_active"]
    list_filter = ["is_active", "is_stock_tracked", "tax_rate", "unit", "currency"]
    search_fields = ["sku", "name"]


class SalesOrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    """Lines are priced by orders.services (price, tax, rounding), so admin only shows them."""

    model = SalesOrderLine
    fields = ["line_number", "product", "description", "quantity", "unit_price", "tax_rate", "net_amount", "tax_amount"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(SalesOrder)
class SalesOrderAdmin(admin.ModelAdmin):
    """Orders are entered through order entry (o2c.flow.submit_order), which prices the lines
    and runs the credit check; admin shows them and edits only a draft's free-text fields."""

    list_display = ["__str__", "order_date", "customer", "status", "channel", "total", "currency", "customer_po"]
    list_filter = ["status", "channel", "currency"]
    list_select_related = ["customer"]
    search_fields = ["number", "customer_po", "customer__name", "customer__account_number"]
    date_hierarchy = "order_date"
    autocomplete_fields = ["customer"]
    inlines = [SalesOrderLineInline]
    readonly_fields = [
        "number",
        "status",
        "currency",
        "net_amount",
        "tax_amount",
        "total",
        "created_by",
        "created_at",
        "submitted_at",
        "completed_at",
    ]
    fieldsets = [
        (None, {"fields": ["number", "customer", "status", "channel", "order_date", "requested_date", "customer_po"]}),
        ("Amounts", {"fields": ["currency", "net_amount", "tax_amount", "total"]}),
        ("Notes", {"fields": ["notes"]}),
        ("Record", {"fields": ["created_by", "created_at", "submitted_at", "completed_at"]}),
    ]

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != SalesOrder.Status.DRAFT:
            return [field.name for field in SalesOrder._meta.fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != SalesOrder.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status != SalesOrder.Status.DRAFT:
            context = without_save_buttons(context)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


@admin.register(SalesOrderLine)
class SalesOrderLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "line_number", "product", "quantity", "unit_price", "tax_rate", "net_amount", "tax_amount"]
    list_filter = ["tax_rate", "order__status"]
    list_select_related = ["order", "product"]
    search_fields = ["order__number", "product__sku", "description"]
