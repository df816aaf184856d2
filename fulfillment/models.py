from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from orders.models import QUANTITY, Customer, Product, SalesOrderLine


class Warehouse(models.Model):
    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField("default", default=False, help_text="Reserved from first.")

    class Meta:
        ordering = ["-is_default", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StockItem(models.Model):
    """On hand and reserved of one product in one warehouse. Available = on hand - reserved,
    and the database refuses any write that would make it negative (no oversell)."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock")
    on_hand = models.DecimalField(**QUANTITY, default=Decimal("0"))
    reserved = models.DecimalField(**QUANTITY, default=Decimal("0"))

    class Meta:
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "product"], name="stockitem_unique_per_warehouse"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stockitem_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stockitem_no_oversell"),
        ]
        permissions = [("ship_order", "Can pick, pack and ship orders")]

    def __str__(self) -> str:
        return f"{self.product.sku} @ {self.warehouse.code}: {self.available} available"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """The stock ledger: every change of on hand or reserved, never edited."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        ADJUSTMENT = "adjustment", "Adjustment"
        RESERVATION = "reservation", "Reservation"
        RELEASE = "release", "Release"
        SHIPMENT = "shipment", "Shipment"

    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    quantity = models.DecimalField(**QUANTITY)
    order_line = models.ForeignKey(SalesOrderLine, null=True, blank=True, on_delete=models.PROTECT)
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} of {self.stock_item}"


class Reservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SHIPPED = "shipped", "Shipped"
        RELEASED = "released", "Released"

    order_line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="reservations")
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.DecimalField(**QUANTITY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.order_line}"


class Shipment(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        PICKED = "picked", "Picked"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        EXCEPTION = "exception", "Exception"

    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="shipments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED, db_index=True)
    ship_to = models.TextField()
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.DecimalField(**QUANTITY)

    class Meta:
        ordering = ["shipment", "order_line__line_number"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="shipmentline_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.shipment}: {self.quantity} x {self.order_line.product.sku}"
