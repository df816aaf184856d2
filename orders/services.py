"""Writes on customers' orders. Every function is one transaction and refuses illegal moves."""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from o2c.core import numbering, timeline
from o2c.core.errors import DomainError
from o2c.core.money import line_amounts

from .models import Customer, Product, SalesOrder, SalesOrderLine


class OrderError(DomainError):
    pass


@dataclass
class LineInput:
    """One line as a clerk, a file or the portal typed it: text, not yet trusted."""

    sku: str
    quantity: str | Decimal


@dataclass
class PricedLine:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal

    @property
    def total(self) -> Decimal:
        return self.net_amount + self.tax_amount


Status = SalesOrder.Status
ALLOWED_MOVES = {
    Status.DRAFT: {Status.SUBMITTED, Status.CANCELLED},
    Status.SUBMITTED: {Status.APPROVED, Status.CREDIT_HOLD, Status.REJECTED},
    Status.CREDIT_HOLD: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
    Status.APPROVED: {Status.COMPLETED, Status.CREDIT_HOLD},
}


def check_customer(customer: Customer | None, account_number: str = "") -> list[tuple[str, str, str]]:
    if customer is None:
        return [("order", "customer", f"no customer with account number '{account_number}'")]
    if not customer.is_active:
        reason = f" ({customer.blocked_reason})" if customer.blocked_reason else ""
        return [("order", "customer", f"{customer.name} is inactive{reason}; orders cannot be taken")]
    return []


def price_lines(*, customer: Customer | None, lines: list[LineInput]) -> tuple[list[PricedLine | None], list]:
    """Resolve and price each typed line. Returns the priced lines (None where a line failed)
    and every problem as (line N, field, reason), so a page can show them all at once."""
    skus = {line.sku.strip() for line in lines if line.sku.strip()}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    currency = customer.currency if customer else "EUR"
    priced, problems = [], []
    for index, line in enumerate(lines, start=1):
        where = f"line {index}"
        sku = line.sku.strip()
        product = products.get(sku)
        line_problems = []
        if not sku:
            line_problems.append((where, "product", "choose a product"))
        elif product is None:
            line_problems.append((where, "product", f"unknown product '{sku}'"))
        elif not product.is_active:
            line_problems.append((where, "product", f"{sku} is no longer sold (inactive)"))
        elif product.unit_price is None:
            line_problems.append((where, "price", f"{sku} has no price; ask for one to be set"))
        elif product.currency != currency:
            line_problems.append(
                (where, "price", f"{sku} is priced in {product.currency}, the customer pays in {currency}")
            )
        try:
            quantity = Decimal(str(line.quantity).strip())
        except InvalidOperation:
            quantity = None
            line_problems.append((where, "quantity", f"'{line.quantity}' is not a number"))
        if quantity is not None and (not quantity.is_finite() or quantity <= 0):
            line_problems.append((where, "quantity", "must be greater than zero"))
        if line_problems:
            problems.extend(line_problems)
            priced.append(None)
            continue
        net, tax, _ = line_amounts(quantity, product.unit_price, product.tax_rate, currency)
        priced.append(PricedLine(product, quantity, product.unit_price, product.tax_rate, net, tax))
    if not lines:
        problems.append(("order", "lines", "add at least one line"))
    return priced, problems


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
) -> SalesOrder:
    """Validate everything first, then write the draft order and its lines, or write nothing.

    Raises OrderError listing every problem by line and field."""
    customer = Customer.objects.filter(account_number=customer_account.strip()).first()
    problems = check_customer(customer, customer_account)
    priced, line_problems = price_lines(customer=customer, lines=lines)
    problems += line_problems
    if problems:
        raise OrderError("The order was not saved.", problems)
    with transaction.atomic():
        order = SalesOrder.objects.create(
            customer=customer,
            channel=channel,
            customer_po=customer_po.strip(),
            requested_date=requested_date,
            notes=notes,
            order_date=order_date or timezone.localdate(),
            currency=customer.currency,
            created_by=by,
            net_amount=sum((p.net_amount for p in priced), Decimal("0")),
            tax_amount=sum((p.tax_amount for p in priced), Decimal("0")),
            total=sum((p.total for p in priced), Decimal("0")),
        )
        SalesOrderLine.objects.bulk_create(
            SalesOrderLine(
                order=order,
                line_number=number,
                product=p.product,
                description=p.product.name,
                quantity=p.quantity,
                unit_price=p.unit_price,
                tax_rate=p.tax_rate,
                net_amount=p.net_amount,
                tax_amount=p.tax_amount,
            )
            for number, p in enumerate(priced, start=1)
        )
        timeline.record(
            order, "created", summary=f"Order entered ({order.get_channel_display()})", trail=order.trail, by=by
        )
    return order


def _move(order: SalesOrder, to: str) -> SalesOrder:
    order = SalesOrder.objects.select_for_update().get(pk=order.pk)
    if to not in ALLOWED_MOVES.get(order.status, set()):
        raise OrderError(
            f"Order {order} is {order.get_status_display().lower()}; it cannot become {Status(to).label.lower()}."
        )
    order.status = to
    return order


@transaction.atomic
def submit_order(*, order: SalesOrder, by) -> SalesOrder:
    """Draft -> submitted: the order gets its gapless number (taken last, see numbering)."""
    order = _move(order, Status.SUBMITTED)
    order.submitted_at = timezone.now()
    order.number = numbering.next_number(prefix="SO", year=order.order_date.year)
    order.save(update_fields=["status", "submitted_at", "number"])
    timeline.record(order, "submitted", summary=f"Order {order.number} submitted", trail=order.trail, by=by)
    return order


@transaction.atomic
def approve_order(*, order: SalesOrder, by=None, note: str = "") -> SalesOrder:
    order = _move(order, Status.APPROVED)
    order.save(update_fields=["status"])
    timeline.record(order, "approved", summary="Order approved", trail=order.trail, by=by, note=note)
    return order


@transaction.atomic
def hold_order(*, order: SalesOrder, reasons: list[str], by=None) -> SalesOrder:
    order = _move(order, Status.CREDIT_HOLD)
    order.save(update_fields=["status"])
    timeline.record(
        order, "credit_hold", summary="Order put on credit hold", trail=order.trail, by=by, note="\n".join(reasons)
    )
    return order


@transaction.atomic
def reject_order(*, order: SalesOrder, reason: str, by) -> SalesOrder:
    if not reason.strip():
        raise OrderError("Give the reason for rejecting the order; the customer will be told.")
    order = _move(order, Status.REJECTED)
    order.save(update_fields=["status"])
    timeline.record(order, "rejected", summary="Order rejected", trail=order.trail, by=by, note=reason)
    return order


@transaction.atomic
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
