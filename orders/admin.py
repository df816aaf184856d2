from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin, without_save_buttons

from .models import (
    Address,
    Contact,
    Customer,
    DiscountLimit,
    OrderImport,
    PaymentTerms,
    PriceList,
    PriceListItem,
    Product,
    ProductPrice,
    SalesOrder,
    SalesOrderLine,
)


@admin.register(PaymentTerms)
class PaymentTermsAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "net_days"]
    search_fields = ["code", "name"]


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ["kind", "label", "name", "address_line", "postal_code", "city", "country", "is_default"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["role", "name", "email", "phone"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    inlines = [AddressInline, ContactInline]
    autocomplete_fields = ["parent", "price_list"]
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
        ("Billing", {"fields": ["currency", "language", "payment_terms", "price_list", "tax_treatment"]}),
        ("Group", {"fields": ["segment", "parent"]}),
        ("Record", {"fields": ["created_at"]}),
    ]


class ProductPriceInline(admin.TabularInline):
    model = ProductPrice
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    inlines = [ProductPriceInline]
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


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "label", "city", "country", "is_default"]
    list_filter = ["kind", "country"]
    list_select_related = ["customer"]
    search_fields = ["label", "city", "customer__name", "customer__account_number"]
    autocomplete_fields = ["customer"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["customer", "role", "name", "email", "phone"]
    list_filter = ["role"]
    list_select_related = ["customer"]
    search_fields = ["name", "email", "customer__name", "customer__account_number"]
    autocomplete_fields = ["customer"]


@admin.register(ProductPrice)
class ProductPriceAdmin(admin.ModelAdmin):
    list_display = ["product", "currency", "unit_price"]
    list_filter = ["currency"]
    list_select_related = ["product"]
    search_fields = ["product__sku", "product__name"]
    autocomplete_fields = ["product"]


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 0
    autocomplete_fields = ["product"]
    fields = ["product", "min_quantity", "unit_price", "valid_from", "valid_to"]


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "currency", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name"]
    inlines = [PriceListItemInline]


@admin.register(PriceListItem)
class PriceListItemAdmin(admin.ModelAdmin):
    list_display = ["price_list", "product", "min_quantity", "unit_price", "valid_from", "valid_to"]
    list_filter = ["price_list"]
    list_select_related = ["price_list", "product"]
    search_fields = ["product__sku", "price_list__code"]
    autocomplete_fields = ["product"]


@admin.register(DiscountLimit)
class DiscountLimitAdmin(admin.ModelAdmin):
    list_display = ["group", "max_percent"]
    list_select_related = ["group"]


@admin.register(OrderImport)
class OrderImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Imports are made and run from the import pages (orders.imports, o2c.flow.import_orders)."""

    list_display = ["__str__", "status", "order_count", "bad_order_count", "imported_count", "created_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    search_fields = ["filename"]
    exclude = ["content"]
