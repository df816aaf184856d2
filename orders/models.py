from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}


class PaymentTerms(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=80)
    net_days = models.PositiveSmallIntegerField(help_text="Days from the invoice date (or month end) to the due date.")
    end_of_month = models.BooleanField(
        "from end of month", default=False, help_text="Count the days from the end of the invoice's month."
    )
    discount_percent = models.DecimalField(
        "early-payment discount %", max_digits=5, decimal_places=2, default=Decimal("0")
    )
    discount_days = models.PositiveSmallIntegerField(
        default=0, help_text="The discount applies when paid within this many days of the invoice date."
    )

    class Meta:
        verbose_name_plural = "payment terms"
        ordering = ["net_days"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    class TaxTreatment(models.TextChoices):
        DOMESTIC = "domestic", "Domestic"
        INTRA_EU = "intra_eu", "Intra-EU (reverse charge)"
        EXPORT = "export", "Export (outside the EU)"

    account_number = models.CharField(max_length=20, unique=True)
    name = models.CharField("legal name", max_length=200, db_index=True)
    email = models.EmailField("invoice email")
    phone = models.CharField(max_length=40, blank=True)
    tax_id = models.CharField("tax id", max_length=30, blank=True)
    address_line = models.CharField("street and number", max_length=200)
    postal_code = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=2, default="BE", help_text="ISO 3166 two-letter code.")
    currency = models.CharField(max_length=3, default="EUR")
    language = models.CharField(max_length=2, default="en", help_text="ISO 639-1; documents and emails use it.")
    tax_treatment = models.CharField(max_length=10, choices=TaxTreatment.choices, default=TaxTreatment.DOMESTIC)
    segment = models.CharField(max_length=30, blank=True, db_index=True, help_text="Customer group for reports.")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subsidiaries",
        help_text="Group parent; credit exposure is also checked for the whole group.",
    )
    payment_terms = models.ForeignKey(PaymentTerms, on_delete=models.PROTECT)
    price_list = models.ForeignKey(
        "PriceList",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        help_text="Customer-specific prices; products not on it sell at list price.",
    )
    is_active = models.BooleanField("active", default=True)
    blocked_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # The clerks' customer list: newest first, a page at a time (keyset).
        indexes = [models.Index(fields=["-created_at", "-id"], name="customer_keyset")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"

    @property
    def address_lines(self) -> list[str]:
        return [self.address_line, f"{self.postal_code} {self.city}", self.country]


class Product(models.Model):
    class TaxCategory(models.TextChoices):
        # EN 16931 / UNCL5305 VAT category codes
        STANDARD = "S", "Standard rate"
        ZERO = "Z", "Zero rated"
        EXEMPT = "E", "Exempt"
        REVERSE_CHARGE = "AE", "Reverse charge"
        INTRA_EU = "K", "Intra-EU supply"
        EXPORT = "G", "Export outside the EU"
        OUTSIDE_SCOPE = "O", "Outside the scope of VAT"

    sku = models.CharField("SKU", max_length=40, unique=True)
    name = models.CharField(max_length=200)
    unit = models.CharField("unit of measure", max_length=10, default="pc")
    unit_price = models.DecimalField(**MONEY, null=True, blank=True, help_text="List price; empty = not sellable yet.")
    currency = models.CharField(max_length=3, default="EUR")
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.2100"))
    tax_category = models.CharField(max_length=2, choices=TaxCategory.choices, default=TaxCategory.STANDARD)
    is_stock_tracked = models.BooleanField("stock-tracked", default=True, help_text="Off for services.")
    allow_backorder = models.BooleanField(
        default=True, help_text="Off: an order may not ask for more than is available to promise."
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(tax_rate__gte=0, tax_rate__lt=1), name="product_tax_rate_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class ProductPrice(models.Model):
    """The list price of a product in one currency (the product's own unit_price is the list
    price in its own currency)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    unit_price = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["product", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["product", "currency"], name="productprice_one_per_currency"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="productprice_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku}: {self.unit_price} {self.currency}"


class PriceList(models.Model):
    """Prices agreed with one customer or a group of customers (Customer.price_list)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="EUR")
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PriceListItem(models.Model):
    """One price of a price list: from `min_quantity` units on (quantity breaks), between
    optional validity dates (both inclusive)."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_list_items")
    min_quantity = models.DecimalField(**QUANTITY, default=Decimal("1"))
    unit_price = models.DecimalField(**MONEY)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["price_list", "product", "min_quantity"]
        indexes = [models.Index(fields=["price_list", "product"], name="pricelistitem_lookup")]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="pricelistitem_not_negative"),
            models.CheckConstraint(condition=Q(min_quantity__gt=0), name="pricelistitem_min_quantity_positive"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="pricelistitem_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_list.code} {self.product.sku} from {self.min_quantity}: {self.unit_price}"


class DiscountLimit(models.Model):
    """The largest line discount a role may give; beyond it needs orders.override_price."""

    group = models.OneToOneField("auth.Group", on_delete=models.CASCADE, related_name="discount_limit")
    max_percent = models.DecimalField("max discount %", max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["group__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_percent__gte=0, max_percent__lte=100), name="discountlimit_percent_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group.name}: up to {self.max_percent}%"


class Address(models.Model):
    """A billing or shipping address of a customer (the customer's own address is its main
    billing address; these are the others, and every place it ships to)."""

    class Kind(models.TextChoices):
        BILLING = "billing", "Billing"
        SHIPPING = "shipping", "Shipping"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SHIPPING)
    label = models.CharField(max_length=60, help_text="How clerks name it, e.g. 'Ghent warehouse'.")
    name = models.CharField("recipient", max_length=200, blank=True)
    address_line = models.CharField("street and number", max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="BE", help_text="ISO 3166 two-letter code.")
    is_default = models.BooleanField("default", default=False)

    class Meta:
        ordering = ["customer", "kind", "-is_default", "label"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.label}: {', '.join(self.lines)}"

    @property
    def lines(self) -> list[str]:
        return [
            part
            for part in [self.name, self.address_line, f"{self.postal_code} {self.city}".strip(), self.country]
            if part
        ]

    def missing_fields(self) -> list[str]:
        """The fields a carrier needs that are empty."""
        return [name for name in ["address_line", "postal_code", "city", "country"] if not getattr(self, name).strip()]


class Contact(models.Model):
    class Role(models.TextChoices):
        ORDERS = "orders", "Orders"
        INVOICES = "invoices", "Invoices"
        DUNNING = "dunning", "Dunning (payment reminders)"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=120)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices)

    class Meta:
        ordering = ["customer", "role", "name"]
        indexes = [models.Index(fields=["customer", "role"], name="contact_by_role")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> ({self.get_role_display()})"


class SalesOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        CREDIT_HOLD = "credit_hold", "Credit hold"
        APPROVED = "approved", "Approved"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    class Channel(models.TextChoices):
        CLERK = "clerk", "Clerk"
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        CSV = "csv", "CSV import"
        PORTAL = "portal", "Portal"
        API = "api", "API"

    number = models.CharField(max_length=20, unique=True, null=True, blank=True, help_text="Given at submit.")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.CLERK)
    order_date = models.DateField()
    requested_date = models.DateField("requested delivery date", null=True, blank=True)
    customer_po = models.CharField("customer PO", max_length=50, blank=True)
    currency = models.CharField(max_length=3)
    net_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY, default=Decimal("0"))
    notes = models.TextField(blank=True)
    ship_to = models.ForeignKey(
        Address,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty = the customer's address.",
    )
    payment_terms = models.ForeignKey(
        PaymentTerms,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="The customer's terms, taken at submit.",
    )
    cancel_reason = models.CharField(max_length=200, blank=True)
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies")
    order_import = models.ForeignKey(
        "OrderImport", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    import_key = models.CharField("order key in the import file", max_length=50, blank=True)
    entry_key = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="One per rendered order form: a double click or a retried POST saves one order.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-order_date", "-id"]
        indexes = [
            models.Index(fields=["-order_date", "-id"], name="salesorder_keyset"),
            # The shipping queue walks approved orders in this order and stops at its limit.
            models.Index(
                fields=["requested_date", "order_date", "id"],
                name="salesorder_to_ship",
                condition=Q(status="approved"),
            ),
            # The dashboard counts open orders whatever their age, closed ones of a period.
            models.Index(
                fields=["status"],
                name="salesorder_open",
                condition=Q(status__in=["draft", "submitted", "credit_hold", "approved"]),
            ),
            models.Index(fields=["order_date", "status"], name="salesorder_date_status"),
        ]
        constraints = [
            models.CheckConstraint(
                # rounded: SQLite (the embedded default) adds decimals as floating point
                condition=Q(total=Round(models.F("net_amount") + models.F("tax_amount"), 2)),
                name="salesorder_total_adds_up",
            ),
            # an import run twice (a retried task) cannot create one file's order twice
            models.UniqueConstraint(
                fields=["order_import", "import_key"],
                condition=Q(order_import__isnull=False),
                name="salesorder_once_per_import_key",
            ),
        ]
        permissions = [("override_price", "Can override prices and give discounts beyond the role's limit")]

    def __str__(self) -> str:
        return self.number or f"Draft order #{self.pk}"

    @property
    def trail(self) -> str:
        return f"order:{self.pk}"


class SalesOrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(**QUANTITY)
    list_price = models.DecimalField(**MONEY, null=True, blank=True, help_text="The price-list price at submit.")
    price_source = models.CharField(max_length=100, blank=True, help_text="Where the list price came from.")
    discount_percent = models.DecimalField("discount %", max_digits=5, decimal_places=2, default=Decimal("0"))
    override_reason = models.CharField(max_length=200, blank=True)
    unit_price = models.DecimalField(**MONEY, help_text="Net unit price charged, after discount, to the cent.")
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="salesorderline_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="salesorderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="salesorderline_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order} line {self.line_number}: {self.quantity} x {self.product.sku}"

    @property
    def total(self) -> Decimal:
        return self.net_amount + self.tax_amount


class OrderImport(models.Model):
    """One uploaded CSV file of orders: validated into a preview first, then imported (only
    when the clerk confirms), by the web process for a small file or a worker for a big one."""

    class Status(models.TextChoices):
        PREVIEW = "preview", "Waiting for confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        DISCARDED = "discarded", "Discarded"

    filename = models.CharField(max_length=200)
    content = models.TextField(help_text="The file as uploaded, decoded; the import reads it again.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEW)
    row_count = models.PositiveIntegerField(default=0)
    order_count = models.PositiveIntegerField(default=0)
    bad_order_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True, help_text="[line, column, reason] found at preview.")
    good_only = models.BooleanField(default=False, help_text="The clerk chose to import the good orders only.")
    processed_count = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True, help_text="Per order: key, lines, outcome, number or reasons.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.filename}"

    @property
    def to_import_count(self) -> int:
        return self.order_count - self.bad_order_count

    @property
    def percent(self) -> int:
        whole = self.to_import_count
        return int(self.processed_count * 100 / whole) if whole else 100
