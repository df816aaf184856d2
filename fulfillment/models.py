from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from orders.models import QUANTITY, Customer, Product, SalesOrderLine

WEIGHT = {"max_digits": 10, "decimal_places": 3}


class Warehouse(models.Model):
    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField("default", default=False, help_text="Reserved from first.")

    class Meta:
        ordering = ["-is_default", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Location(models.Model):
    """A bin or shelf in a warehouse; the pick list walks them in code order."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="locations")
    code = models.CharField(max_length=20, help_text="Aisle-rack-shelf, e.g. A-01-03.")
    barcode = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["warehouse", "code"]
        constraints = [models.UniqueConstraint(fields=["warehouse", "code"], name="location_unique_per_warehouse")]

    def __str__(self) -> str:
        return f"{self.warehouse.code}/{self.code}"


class StockItem(models.Model):
    """On hand and reserved of one product in one warehouse: the running balances of its
    StockMovement ledger. Available = on hand - reserved, and the database refuses any write
    that would make it negative (no oversell)."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, help_text="Where it is picked from."
    )
    on_hand = models.DecimalField(**QUANTITY, default=Decimal("0"))
    reserved = models.DecimalField(**QUANTITY, default=Decimal("0"))

    class Meta:
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "product"], name="stockitem_unique_per_warehouse"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stockitem_on_hand_not_negative"),
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
    """The stock ledger: every change of on hand or reserved, never updated or deleted (a
    PostgreSQL trigger refuses it). Per stock item, the sums of the two change columns are
    its on hand and reserved."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        ADJUSTMENT = "adjustment", "Adjustment"
        RESERVATION = "reservation", "Reservation"
        RELEASE = "release", "Release"
        SHIPMENT = "shipment", "Shipment"
        RETURN = "return", "Return"
        SCRAP = "scrap", "Scrap"
        TRANSFER = "transfer", "Transfer"

    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    on_hand_change = models.DecimalField(**QUANTITY, default=Decimal("0"))
    reserved_change = models.DecimalField(**QUANTITY, default=Decimal("0"))
    order_line = models.ForeignKey(SalesOrderLine, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.CharField(max_length=200, blank=True, help_text="Why: required for adjustments and scrap.")
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(on_hand_change=0, reserved_change=0), name="stockmovement_changes_something"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["adjustment", "scrap"]) | ~Q(reason=""), name="stockmovement_reason_given"
            ),
        ]
        indexes = [models.Index(fields=["stock_item", "id"], name="stockmovement_item")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on_hand_change}/{self.reserved_change} of {self.stock_item_id}"


class ExpectedReceipt(models.Model):
    """Stock on its way (a purchase order, a transfer): counted in available-to-promise from
    its expected date on, and the date a backordered customer is told."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="expected_receipts")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="expected_receipts")
    quantity = models.DecimalField(**QUANTITY)
    expected_date = models.DateField(db_index=True)
    reference = models.CharField(max_length=40, blank=True, help_text="Supplier PO or transfer number.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["expected_date", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="expectedreceipt_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.sku} expected {self.expected_date}"


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


class Backorder(models.Model):
    """What an approved order line is still short of. Filled automatically (oldest first, by
    the reservation priority) when stock arrives; the customer is told once, with a date."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"

    order_line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="backorders")
    quantity = models.DecimalField("quantity short", **QUANTITY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    expected_date = models.DateField(null=True, blank=True, help_text="From the expected receipts, when known.")
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the customer was told (once).")
    created_at = models.DateTimeField(auto_now_add=True)
    filled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="backorder_quantity_positive"),
            models.UniqueConstraint(
                fields=["order_line"], condition=Q(status="open"), name="backorder_one_open_per_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line} short {self.quantity}"


class Carrier(models.Model):
    """A carrier and how it is reached: `adapter` names a fulfillment.carriers adapter (the
    built-in 'manual' one takes the tracking number as typed)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=60)
    adapter = models.CharField(max_length=20, default="manual")
    tracking_url = models.CharField(
        "tracking link pattern",
        max_length=200,
        blank=True,
        help_text="With {tracking}, e.g. https://x/track?n={tracking}",
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Shipment(models.Model):
    class Kind(models.TextChoices):
        GOODS = "goods", "Goods"
        SERVICE = "service", "Service confirmation"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        PICKED = "picked", "Picked"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        EXCEPTION = "exception", "Exception"

    class FreightTerms(models.TextChoices):
        PREPAID = "prepaid", "Prepaid"
        COLLECT = "collect", "Collect"
        THIRD_PARTY = "third_party", "Third party"

    number = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GOODS)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="shipments")
    warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED, db_index=True)
    ship_to = models.TextField()
    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments")
    service = models.CharField("carrier service", max_length=40, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    freight_terms = models.CharField(max_length=12, choices=FreightTerms.choices, default=FreightTerms.PREPAID)
    ship_date = models.DateField(null=True, blank=True)
    picked_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["warehouse", "status", "id"], name="shipment_queue"),
            # Reports find what left in a period, and the order-quality refresh what left since its last run.
            models.Index(fields=["shipped_at"], name="shipment_shipped_at", condition=Q(shipped_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def total_weight(self) -> Decimal:
        return sum((p.weight_kg for p in self.packages.all()), Decimal("0"))


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.DecimalField(**QUANTITY)
    picked_quantity = models.DecimalField(**QUANTITY, default=Decimal("0"))
    delivered_quantity = models.DecimalField(**QUANTITY, null=True, blank=True, help_text="From the proof of delivery.")

    class Meta:
        ordering = ["shipment", "order_line__order_id", "order_line__line_number"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipmentline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(picked_quantity__gte=0, picked_quantity__lte=F("quantity")),
                name="shipmentline_picked_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment}: {self.quantity} x {self.order_line.product.sku}"


class Package(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="packages")
    number = models.PositiveSmallIntegerField()
    weight_kg = models.DecimalField("weight (kg)", **WEIGHT)
    description = models.CharField(max_length=100, blank=True, help_text="Carton, pallet, ...")

    class Meta:
        ordering = ["shipment", "number"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "number"], name="package_unique_number"),
            models.CheckConstraint(condition=Q(weight_kg__gt=0), name="package_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment} package {self.number} ({self.weight_kg} kg)"


class ShipmentDocument(models.Model):
    """A rendered file of a shipment, kept with its SHA-256 and never silently redone."""

    class Kind(models.TextChoices):
        PICK_LIST = "pick_list", "Pick list"
        PACKING_SLIP = "packing_slip", "Packing slip"
        BILL_OF_LADING = "bill_of_lading", "Bill of lading"

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    file = models.FileField(upload_to="shipments/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shipment", "kind"]
        constraints = [models.UniqueConstraint(fields=["shipment", "kind"], name="shipmentdocument_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.shipment} {self.get_kind_display()}"


class ProofOfDelivery(models.Model):
    shipment = models.OneToOneField(Shipment, on_delete=models.PROTECT, related_name="proof_of_delivery")
    signer_name = models.CharField(max_length=100)
    signed_at = models.DateTimeField()
    file = models.FileField(upload_to="pod/%Y/%m/", blank=True, help_text="Signature image or scanned POD.")
    content_type = models.CharField(max_length=30, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "proof of delivery"
        verbose_name_plural = "proofs of delivery"

    def __str__(self) -> str:
        return f"POD {self.shipment} signed by {self.signer_name}"


class DeliveryDiscrepancy(models.Model):
    class Kind(models.TextChoices):
        SHORT = "short", "Short"
        DAMAGED = "damaged", "Damaged"
        REFUSED = "refused", "Refused"

    proof = models.ForeignKey(ProofOfDelivery, on_delete=models.PROTECT, related_name="discrepancies")
    shipment_line = models.ForeignKey(ShipmentLine, on_delete=models.PROTECT, related_name="discrepancies")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    quantity = models.DecimalField(**QUANTITY)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "delivery discrepancies"
        ordering = ["proof", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="discrepancy_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} on {self.shipment_line}"


class ReturnAuthorisation(models.Model):
    """An RMA: what the customer may send back, then what came back and where it went."""

    class Status(models.TextChoices):
        AUTHORISED = "authorised", "Authorised"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.AUTHORISED, db_index=True)
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "return (RMA)"
        verbose_name_plural = "returns (RMA)"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    class Disposition(models.TextChoices):
        RESTOCK = "restock", "Back into stock"
        SCRAP = "scrap", "Scrap"

    rma = models.ForeignKey(ReturnAuthorisation, on_delete=models.CASCADE, related_name="lines")
    shipment_line = models.ForeignKey(ShipmentLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.DecimalField("quantity authorised", **QUANTITY)
    received_quantity = models.DecimalField(**QUANTITY, default=Decimal("0"))
    disposition = models.CharField(max_length=10, choices=Disposition.choices, blank=True)

    class Meta:
        ordering = ["rma", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="returnline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(received_quantity__gte=0, received_quantity__lte=F("quantity")),
                name="returnline_received_within_authorised",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rma}: {self.quantity} of {self.shipment_line}"
