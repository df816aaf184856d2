from django import forms
from django.contrib import admin

from o2c.core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin

from . import carriers
from .models import (
    Backorder,
    Carrier,
    DeliveryDiscrepancy,
    ExpectedReceipt,
    Location,
    Package,
    ProofOfDelivery,
    Reservation,
    ReturnAuthorisation,
    ReturnLine,
    Shipment,
    ShipmentDocument,
    ShipmentLine,
    StockItem,
    StockMovement,
    Warehouse,
)


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
    list_display = ["at", "kind", "product", "warehouse", "on_hand_change", "reserved_change", "order", "reason", "by"]
    list_filter = ["kind", "stock_item__warehouse"]
    list_select_related = ["stock_item__product", "stock_item__warehouse", "order_line__order", "by"]
    search_fields = ["stock_item__product__sku", "order_line__order__number", "note", "reason"]
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
    fields = ["order_line", "quantity", "picked_quantity", "delivered_quantity"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line__order", "order_line__product")


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    """Shipments are made by o2c.flow.ship; admin may correct the carrier details only."""

    list_display = ["number", "kind", "customer", "warehouse", "status", "carrier", "tracking_number", "shipped_at"]
    list_filter = ["status", "kind", "warehouse", "carrier"]
    list_select_related = ["customer", "warehouse", "carrier"]
    search_fields = ["number", "tracking_number", "customer__name", "customer__account_number"]
    date_hierarchy = "created_at"
    inlines = [ShipmentLineInline]
    readonly_fields = [
        "number",
        "kind",
        "customer",
        "warehouse",
        "status",
        "ship_to",
        "ship_date",
        "picked_at",
        "packed_at",
        "shipped_at",
        "delivered_at",
        "created_by",
        "created_at",
    ]
    fields = [*readonly_fields[:6], "carrier", "service", "tracking_number", "freight_terms", *readonly_fields[6:]]

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


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "warehouse", "barcode"]
    list_filter = ["warehouse"]
    list_select_related = ["warehouse"]
    search_fields = ["code", "barcode"]


@admin.register(ExpectedReceipt)
class ExpectedReceiptAdmin(admin.ModelAdmin):
    """Purchasing keeps these up to date; receiving one is done on the warehouse pages."""

    list_display = ["expected_date", "product", "warehouse", "quantity", "reference", "status"]
    list_filter = ["status", "warehouse"]
    list_select_related = ["product", "warehouse"]
    search_fields = ["product__sku", "reference"]
    date_hierarchy = "expected_date"
    autocomplete_fields = ["product"]


@admin.register(Backorder)
class BackorderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "product", "quantity", "expected_date", "notified_at", "status"]
    list_filter = ["status"]
    list_select_related = ["order_line__order", "order_line__product"]
    search_fields = ["order_line__order__number", "order_line__product__sku"]

    @admin.display(ordering="order_line__order__number")
    def order(self, obj):
        return obj.order_line.order

    @admin.display(ordering="order_line__product__sku")
    def product(self, obj):
        return obj.order_line.product.sku


class CarrierForm(forms.ModelForm):
    adapter = forms.ChoiceField(choices=carriers.adapter_names)

    class Meta:
        model = Carrier
        fields = ["code", "name", "adapter", "tracking_url", "is_active"]


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    form = CarrierForm
    list_display = ["code", "name", "adapter", "tracking_url", "is_active"]
    list_filter = ["adapter", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Package)
class PackageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["shipment", "number", "weight_kg", "description"]
    list_select_related = ["shipment"]
    search_fields = ["shipment__number"]


@admin.register(ShipmentDocument)
class ShipmentDocumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["shipment", "kind", "size", "sha256", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["shipment"]
    search_fields = ["shipment__number", "sha256"]


class DiscrepancyInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = DeliveryDiscrepancy
    fields = ["shipment_line", "kind", "quantity", "note"]


@admin.register(ProofOfDelivery)
class ProofOfDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["shipment", "signer_name", "signed_at", "content_type", "size", "recorded_by"]
    list_select_related = ["shipment", "recorded_by"]
    search_fields = ["shipment__number", "signer_name"]
    inlines = [DiscrepancyInline]


@admin.register(DeliveryDiscrepancy)
class DeliveryDiscrepancyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["proof", "shipment_line", "kind", "quantity", "note"]
    list_filter = ["kind"]
    list_select_related = ["proof__shipment", "shipment_line__shipment", "shipment_line__order_line__product"]


class ReturnLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ReturnLine
    fields = ["shipment_line", "quantity", "received_quantity", "disposition"]


@admin.register(ReturnAuthorisation)
class ReturnAuthorisationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "customer", "status", "reason", "created_at", "received_at"]
    list_filter = ["status"]
    list_select_related = ["customer"]
    search_fields = ["number", "customer__name"]
    inlines = [ReturnLineInline]


@admin.register(ReturnLine)
class ReturnLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["rma", "shipment_line", "quantity", "received_quantity", "disposition"]
    list_select_related = ["rma", "shipment_line__shipment", "shipment_line__order_line__product"]
