"""Writes on customers' orders. Every function is one transaction and refuses illegal moves."""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import DecimalField, F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from o2c.core import numbering, timeline
from o2c.core.errors import DomainError
from o2c.core.money import line_amounts
from o2c.core.transactions import atomic

from .models import Address, Customer, Product, SalesOrder, SalesOrderLine
from .pricing import PriceBook, discount_limit_for, discounted_unit_price


class OrderError(DomainError):
    pass


@dataclass
class LineInput:
    """One line as a clerk, a file or the portal typed it: text, not yet trusted.

    `unit_price` (empty = the price list's) and `discount_percent` beyond the role's limit
    need the permission orders.override_price and an `override_reason`."""

    sku: str
    quantity: str | Decimal
    unit_price: str | Decimal = ""
    discount_percent: str | Decimal = ""
    override_reason: str = ""


@dataclass
class PricedLine:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    list_price: Decimal | None = None
    price_source: str = ""
    discount_percent: Decimal = Decimal("0")
    override_reason: str = ""

    @property
    def total(self) -> Decimal:
        return self.net_amount + self.tax_amount


Status = SalesOrder.Status
ALLOWED_MOVES = {
    Status.DRAFT: {Status.SUBMITTED, Status.CANCELLED},
    Status.SUBMITTED: {Status.APPROVED, Status.CREDIT_HOLD, Status.REJECTED},
    Status.CREDIT_HOLD: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
    Status.APPROVED: {Status.COMPLETED, Status.CREDIT_HOLD, Status.CANCELLED},  # cancelled: nothing shipped yet
}
ZERO = Decimal("0")
ZERO_QTY = Value(Decimal("0"), output_field=DecimalField(max_digits=12, decimal_places=3))


def check_customer(customer: Customer | None, account_number: str = "") -> list[tuple[str, str, str]]:
    if customer is None:
        return [("order", "customer", f"no customer with account number '{account_number}'")]
    if not customer.is_active:
        reason = f" ({customer.blocked_reason})" if customer.blocked_reason else ""
        return [("order", "customer", f"{customer.name} is inactive{reason}; orders cannot be taken")]
    return []


def check_ship_to(customer: Customer | None, ship_to: Address | None) -> list[tuple[str, str, str]]:
    """The ship-to must be one of the customer's shipping addresses and complete; without one
    the customer's own address is used, which must be complete then."""
    if customer is None:
        return []
    if ship_to is None:
        missing = [name for name in ["address_line", "postal_code", "city", "country"] if not getattr(customer, name)]
        return [("order", "ship_to", f"the customer's address has no {name.replace('_', ' ')}") for name in missing]
    if ship_to.customer_id != customer.pk:
        return [("order", "ship_to", f"address '{ship_to.label}' belongs to another customer")]
    if ship_to.kind != Address.Kind.SHIPPING:
        return [("order", "ship_to", f"address '{ship_to.label}' is not a shipping address")]
    return [
        ("order", "ship_to", f"address '{ship_to.label}' has no {name.replace('_', ' ')}")
        for name in ship_to.missing_fields()
    ]


def _decimal(text) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def price_lines(
    *,
    customer: Customer | None,
    lines: list[LineInput],
    by=None,
    on_date: datetime.date | None = None,
    products: dict[str, Product] | None = None,
) -> tuple[list[PricedLine | None], list]:
    """Resolve and price each typed line (orders.pricing.price_for). Returns the priced lines
    (None where a line failed) and every problem as (line N, field, reason), so a page can show
    them all at once. `products` (by SKU, annotated with `available`) saves the lookups when a
    caller prices many orders."""
    on_date = on_date or timezone.localdate()
    if products is None:
        products = products_by_sku({line.sku.strip() for line in lines if line.sku.strip()})
    currency = customer.currency if customer else "EUR"
    may_override = bool(by is not None and getattr(by, "has_perm", None) and by.has_perm("orders.override_price"))
    discount_limit = discount_limit_for(by) if any(str(line.discount_percent).strip() for line in lines) else ZERO
    ordered = [products[sku] for sku in {line.sku.strip() for line in lines} if sku in products]
    book = PriceBook(customer, [p for p in ordered if p.is_active], on_date) if customer else None
    priced, problems = [], []
    for index, line in enumerate(lines, start=1):
        where = f"line {index}"
        sku = line.sku.strip()
        product = products.get(sku)
        line_problems = []
        quantity = _decimal(line.quantity)
        if quantity is None:
            line_problems.append((where, "quantity", f"'{line.quantity}' is not a number"))
        elif quantity <= 0:
            line_problems.append((where, "quantity", "must be greater than zero"))
        price = None
        if not sku:
            line_problems.append((where, "product", "choose a product"))
        elif product is None:
            line_problems.append((where, "product", f"unknown product '{sku}'"))
        elif not product.is_active:
            line_problems.append((where, "product", f"{sku} is no longer sold (inactive)"))
        elif customer is not None and quantity is not None and quantity > 0:
            price = book.price(product, quantity)
            available = getattr(product, "available", None)
            if (
                product.is_stock_tracked
                and not product.allow_backorder
                and available is not None
                and quantity > available
            ):
                line_problems.append(
                    (where, "quantity", f"only {available.normalize():f} of {sku} available and it is not backordered")
                )
        reason = (line.override_reason or "").strip()
        typed_price = str(line.unit_price).strip()
        unit_price = None
        if typed_price:
            unit_price = _decimal(typed_price)
            if unit_price is None or unit_price < 0:
                line_problems.append((where, "unit_price", f"'{typed_price}' is not a price"))
                unit_price = None
        discount = Decimal("0")
        typed_discount = str(line.discount_percent).strip()
        if typed_discount:
            discount = _decimal(typed_discount)
            if discount is None or not 0 <= discount <= 100:
                line_problems.append((where, "discount", f"'{typed_discount}' is not a percentage between 0 and 100"))
                discount = Decimal("0")
        if product is not None and product.is_active and customer is not None:
            overridden = unit_price is not None and (price is None or unit_price != price.unit_price)
            if price is None and unit_price is None and quantity is not None and quantity > 0:
                if product.unit_price is not None and product.currency != currency:
                    text = f"{sku} is priced in {product.currency}, the customer pays in {currency}"
                else:
                    text = f"{sku} has no price; ask for one to be set"
                line_problems.append((where, "price", text))
            if overridden and not may_override:
                listed = f"the price list says {price.unit_price}" if price else "it has no list price"
                line_problems.append(
                    (
                        where,
                        "unit_price",
                        f"{typed_price} differs from the price list ({listed}); only a manager may override",
                    )
                )
            if discount > discount_limit and not may_override:
                line_problems.append(
                    (
                        where,
                        "discount",
                        f"{discount.normalize():f}% is above your limit of {discount_limit.normalize():f}%; a manager must give it",
                    )
                )
            if (overridden or discount > discount_limit) and may_override and not reason:
                line_problems.append((where, "override_reason", "say why the price or discount differs from the list"))
        if line_problems or customer is None:
            problems.extend(line_problems)
            priced.append(None)
            continue
        list_price = unit_price if unit_price is not None else price.unit_price
        source = (
            "override" if unit_price is not None and (price is None or unit_price != price.unit_price) else price.source
        )
        charged = discounted_unit_price(list_price, discount, currency)
        net, tax, _ = line_amounts(quantity, charged, product.tax_rate, currency)
        priced.append(
            PricedLine(
                product, quantity, charged, product.tax_rate, net, tax,
                list_price=list_price,
                price_source=source,
                discount_percent=discount,
                override_reason=reason if (source == "override" or discount > discount_limit) else "",
            )
        )  # fmt: skip
    if not lines:
        problems.append(("order", "lines", "add at least one line"))
    return priced, problems


def products_by_sku(skus) -> dict[str, Product]:
    """Products by SKU with `available` (on hand - reserved over all warehouses). Stock lives in
    fulfillment, a layer above: it is read through the reverse relation `stock`."""
    return {
        p.sku: p
        for p in Product.objects.filter(sku__in=skus).annotate(
            available=Coalesce(Sum(F("stock__on_hand") - F("stock__reserved")), ZERO_QTY)
        )
    }


def _order_lines(order: SalesOrder, priced: list[PricedLine]) -> list[SalesOrderLine]:
    return [
        SalesOrderLine(
            order=order,
            line_number=number,
            product=p.product,
            description=p.product.name,
            quantity=p.quantity,
            list_price=p.list_price,
            price_source=p.price_source[:100],
            discount_percent=p.discount_percent,
            override_reason=p.override_reason[:200],
            unit_price=p.unit_price,
            tax_rate=p.tax_rate,
            net_amount=p.net_amount,
            tax_amount=p.tax_amount,
        )
        for number, p in enumerate(priced, start=1)
    ]


def _set_totals(order: SalesOrder, priced: list[PricedLine]) -> None:
    order.net_amount = sum((p.net_amount for p in priced), Decimal("0"))
    order.tax_amount = sum((p.tax_amount for p in priced), Decimal("0"))
    order.total = order.net_amount + order.tax_amount


def create_order(
    *,
    customer_account: str,
    lines: list[LineInput],
    by,
    channel: str = SalesOrder.Channel.CLERK,
    customer_po: str = "",
    requested_date: datetime.date | None = None,
    notes: str = "",
    order_date: datetime.date | None = None,
    ship_to: Address | None = None,
    order_import=None,
    import_key: str = "",
    products: dict[str, Product] | None = None,
) -> SalesOrder:
    """Validate everything first, then write the draft order and its lines, or write nothing.

    Raises OrderError listing every problem by line and field."""
    customer = Customer.objects.select_related("price_list").filter(account_number=customer_account.strip()).first()
    problems = check_customer(customer, customer_account)
    problems += check_ship_to(customer, ship_to)
    order_date = order_date or timezone.localdate()
    priced, line_problems = price_lines(customer=customer, lines=lines, by=by, on_date=order_date, products=products)
    problems += line_problems
    if requested_date is not None and requested_date < order_date:
        problems.append(("order", "requested_date", "the requested delivery date is before the order date"))
    if problems:
        raise OrderError("The order was not saved.", problems)
    with atomic():
        order = SalesOrder(
            customer=customer,
            channel=channel,
            customer_po=customer_po.strip(),
            requested_date=requested_date,
            notes=notes,
            order_date=order_date,
            currency=customer.currency,
            ship_to=ship_to,
            created_by=by if by is not None and by.is_authenticated else None,
            order_import=order_import,
            import_key=import_key,
        )
        _set_totals(order, priced)
        order.save()
        SalesOrderLine.objects.bulk_create(_order_lines(order, priced))
        timeline.record(
            order, "created", summary=f"Order entered ({order.get_channel_display()})", trail=order.trail, by=by
        )
    return order


@atomic
def update_draft(
    *,
    order: SalesOrder,
    lines: list[LineInput],
    by,
    customer_po: str = "",
    requested_date: datetime.date | None = None,
    notes: str = "",
    ship_to: Address | None = None,
) -> SalesOrder:
    """Replace a draft's header fields and lines; refused once the order is submitted."""
    order = SalesOrder.objects.select_for_update(of=("self",)).select_related("customer__price_list").get(pk=order.pk)
    if order.status != Status.DRAFT:
        raise OrderError(f"Order {order} is {order.get_status_display().lower()}; only drafts can be edited.")
    problems = check_ship_to(order.customer, ship_to)
    priced, line_problems = price_lines(customer=order.customer, lines=lines, by=by, on_date=order.order_date)
    problems += line_problems
    if problems:
        raise OrderError("The draft was not saved.", problems)
    order.customer_po, order.requested_date, order.notes, order.ship_to = (
        customer_po.strip(),
        requested_date,
        notes,
        ship_to,
    )
    _set_totals(order, priced)
    order.save()
    order.lines.all().delete()
    SalesOrderLine.objects.bulk_create(_order_lines(order, priced))
    timeline.record(order, "edited", summary="Draft edited", trail=order.trail, by=by)
    return order


def _reprice_for_submit(order: SalesOrder) -> None:
    """Prices are taken at submit: lines at list price are priced again on the submit day (a
    draft may be days old); overridden lines keep the price the manager gave."""
    customer = order.customer
    today = timezone.localdate()
    problems = check_customer(customer, customer.account_number) + check_ship_to(customer, order.ship_to)
    changed = False
    lines = list(order.lines.select_related("product"))
    book = PriceBook(customer, [line.product for line in lines], today)
    for line in lines:
        where = f"line {line.line_number}"
        if not line.product.is_active:
            problems.append((where, "product", f"{line.product.sku} is no longer sold (inactive)"))
            continue
        if line.price_source == "override":
            continue
        price = book.price(line.product, line.quantity)
        if price is None:
            problems.append((where, "price", f"{line.product.sku} has no price in {customer.currency}"))
            continue
        if price.unit_price != line.list_price:
            line.list_price, line.price_source = price.unit_price, price.source[:100]
            line.unit_price = discounted_unit_price(price.unit_price, line.discount_percent, order.currency)
            line.net_amount, line.tax_amount, _ = line_amounts(
                line.quantity, line.unit_price, line.tax_rate, order.currency
            )
            line.save(update_fields=["list_price", "price_source", "unit_price", "net_amount", "tax_amount"])
            changed = True
    if problems:
        raise OrderError("The order was not submitted.", problems)
    if changed:
        order.net_amount = sum((line.net_amount for line in lines), Decimal("0"))
        order.tax_amount = sum((line.tax_amount for line in lines), Decimal("0"))
        order.total = order.net_amount + order.tax_amount


def _move(order: SalesOrder, to: str, *, locked: bool = False) -> SalesOrder:
    """The order, locked and read again, moved to `to` (in memory); refused when the move is
    illegal. `locked`: the caller holds the row lock and `order` is current (it came from a
    service of this transaction), so it is not read again."""
    if not locked:
        order = (
            SalesOrder.objects.select_for_update(of=("self",)).select_related("customer__price_list").get(pk=order.pk)
        )
    if to not in ALLOWED_MOVES.get(order.status, set()):
        raise OrderError(
            f"Order {order} is {order.get_status_display().lower()}; it cannot become {Status(to).label.lower()}."
        )
    order.status = to
    return order


@atomic
def submit_order(*, order: SalesOrder, by, just_created: bool = False) -> SalesOrder:
    """Draft -> submitted: the order gets its gapless number (taken last, see numbering).
    `just_created`: create_order() wrote it a moment ago in this transaction, checked and
    priced today, and nobody else can see it yet: it is neither locked nor priced again."""
    order = _move(order, Status.SUBMITTED, locked=just_created)
    if not just_created:
        _reprice_for_submit(order)
    order.payment_terms_id = order.customer.payment_terms_id  # the terms agreed for this order
    order.submitted_at = timezone.now()
    order.number = numbering.next_number(prefix="SO", year=order.order_date.year)
    order.save(update_fields=["status", "submitted_at", "number", "payment_terms", "net_amount", "tax_amount", "total"])
    timeline.record(order, "submitted", summary=f"Order {order.number} submitted", trail=order.trail, by=by)
    return order


@atomic
def approve_order(*, order: SalesOrder, by=None, note: str = "", locked: bool = False) -> SalesOrder:
    """`locked`: as for _move (the flow passes the order submit_order returned)."""
    order = _move(order, Status.APPROVED, locked=locked)
    order.save(update_fields=["status"])
    timeline.record(order, "approved", summary="Order approved", trail=order.trail, by=by, note=note)
    return order


@atomic
def hold_order(*, order: SalesOrder, reasons: list[str], by=None, locked: bool = False) -> SalesOrder:
    order = _move(order, Status.CREDIT_HOLD, locked=locked)
    order.save(update_fields=["status"])
    timeline.record(
        order, "credit_hold", summary="Order put on credit hold", trail=order.trail, by=by, note="\n".join(reasons)
    )
    return order


@atomic
def reject_order(*, order: SalesOrder, reason: str, by) -> SalesOrder:
    if not reason.strip():
        raise OrderError("Give the reason for rejecting the order; the customer will be told.")
    order = _move(order, Status.REJECTED)
    order.save(update_fields=["status"])
    timeline.record(order, "rejected", summary="Order rejected", trail=order.trail, by=by, note=reason)
    return order


@atomic
def complete_order(*, order: SalesOrder, by=None) -> SalesOrder:
    order = _move(order, Status.COMPLETED)
    order.completed_at = timezone.now()
    order.save(update_fields=["status", "completed_at"])
    timeline.record(
        order,
        "completed",
        summary=f"Order {order.number} completed: shipped, invoiced and paid",
        trail=order.trail,
        by=by,
    )
    return order


@atomic
def cancel_order(*, order: SalesOrder, reason: str, by) -> SalesOrder:
    """A draft, an order on credit hold, or an approved order nothing of which has been picked,
    shipped or invoiced (o2c.flow.cancel_order releases its stock first) -> cancelled, with the
    reason on the timeline. Refused for any other status."""
    if not reason.strip():
        raise OrderError("Give the reason for cancelling the order.", [("order", "reason", "is required")])
    order = _move(order, Status.CANCELLED)
    order.cancel_reason = reason.strip()[:200]
    order.save(update_fields=["status", "cancel_reason"])
    timeline.record(order, "cancelled", summary="Order cancelled", trail=order.trail, by=by, note=order.cancel_reason)
    return order


@atomic
def copy_order(*, order: SalesOrder, by, channel: str = SalesOrder.Channel.CLERK) -> SalesOrder:
    """A new draft with the same customer, ship-to and lines (priced again today): reorder."""
    source = SalesOrder.objects.select_related("customer").get(pk=order.pk)
    lines = [
        LineInput(
            line.product.sku,
            line.quantity,
            unit_price=line.list_price if line.price_source == "override" else "",
            discount_percent=line.discount_percent or "",
            override_reason=line.override_reason,
        )
        for line in source.lines.select_related("product")
    ]
    copy = create_order(
        customer_account=source.customer.account_number,
        lines=lines,
        by=by,
        channel=channel,
        notes=source.notes,
        ship_to=source.ship_to,
    )
    copy.copied_from = source
    copy.save(update_fields=["copied_from"])
    timeline.record(copy, "copied", summary=f"Copied from order {source}", trail=copy.trail, by=by)
    return copy
