from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin

from .models import Reservation, Shipment, ShipmentLine, StockItem, StockMovement, Warehouse


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "address", "is_default"]
    list_filter = ["is_default"]
    search_fields = ["code", "name"]


@admin.register(StockItem)
class StockItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """On hand and reserved move only through fulfillment.services (receipts, reservations,
    shipments), each with its stock movement; admin shows them."""

    list_display = ["product", "warehouse", "on_hand", "reserved", "available"]
    list_filter = ["warehouse", "product__is_active"]
    list_select_related = ["product", "warehouse"]
    search_fields = ["product__sku", "product__name"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "kind", "product", "warehouse", "quantity", "order", "note", "by"]
    list_filter = ["kind", "stock_item__warehouse"]
    list_select_related = ["stock_item__product", "stock_item__warehouse", "order_line__order", "by"]
    search_fields = ["stock_item__product__sku", "order_line__order__number", "note"]
    date_hierarchy = "at"

    @admin.display(ordering="stock_item__product__sku")
    def product(self, obj):
        return obj.stock_item.product.sku

    @admin.display(ordering="stock_item__warehouse__code")
    def warehouse(self, obj):
        return obj.stock_item.warehouse.code

    @admin.display()
    def order(self, obj):
        return obj.order_line.order if obj.order_line_id else ""


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "product", "warehouse", "quantity", "status"]
    list_filter = ["status", "stock_item__warehouse"]
    list_select_related = ["order_line__order", "order_line__product", "stock_item__warehouse"]
    search_fields = ["order_line__order__number", "order_line__product__sku"]
    date_hierarchy = "created_at"

    @admin.display(ordering="order_line__order__number")
    def order(self, obj):
        return obj.order_line.order

    @admin.display(ordering="order_line__product__sku")
    def product(self, obj):
        return obj.order_line.product.sku

    @admin.display(ordering="stock_item__warehouse__code")
    def warehouse(self, obj):
        return obj.stock_item.warehouse.code


class ShipmentLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ShipmentLine
    fields = ["order_line", "quantity"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line__order", "order_line__product")


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    """Shipments are made by o2c.flow.ship; admin may correct the carrier details only."""

    list_display = ["number", "customer", "status", "carrier", "tracking_number", "shipped_at", "created_by"]
    list_filter = ["status", "carrier"]
    list_select_related = ["customer", "created_by"]
    search_fields = ["number", "tracking_number", "customer__name", "customer__account_number"]
    date_hierarchy = "created_at"
    inlines = [ShipmentLineInline]
    readonly_fields = ["number", "customer", "status", "ship_to", "shipped_at", "created_by", "created_at"]
    fields = [
        "number",
        "customer",
        "status",
        "ship_to",
        "carrier",
        "tracking_number",
        "shipped_at",
        "created_by",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ShipmentLine)
class ShipmentLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["shipment", "order", "product", "quantity"]
    list_select_related = ["shipment", "order_line__order", "order_line__product"]
    search_fields = ["shipment__number", "order_line__order__number", "order_line__product__sku"]

    @admin.display(ordering="order_line__order__number")
    def order(self, obj):
        return obj.order_line.order

    @admin.display(ordering="order_line__product__sku")
    def product(self, obj):
        return obj.order_line.product.sku
