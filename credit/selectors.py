import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Prefetch, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from invoicing.models import Invoice
from o2c.core.money import round_money
from orders.models import Customer, SalesOrder
from receivables import selectors as receivables

from .models import CreditDecision, CreditProfile

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))


@dataclass
class Assessment:
    exposure: Decimal
    credit_limit: Decimal
    order_total: Decimal
    overdue: Decimal
    reasons: list[str] = field(default_factory=list)

    @property
    def passes(self) -> bool:
        return not self.reasons

    @property
    def headroom(self) -> Decimal:
        return self.credit_limit - self.exposure


def uninvoiced_approved_orders(customer: Customer, *, exclude_order_id: int | None = None) -> Decimal:
    """Approved orders' value not yet invoiced: committed credit that is not a receivable yet."""
    invoiced = (
        Invoice.objects.filter(order=OuterRef("pk"))
        .exclude(status=Invoice.Status.DRAFT)
        .values("order")
        .annotate(t=Sum("total"))
        .values("t")
    )
    orders = SalesOrder.objects.filter(customer=customer, status=SalesOrder.Status.APPROVED)
    if exclude_order_id:
        orders = orders.exclude(pk=exclude_order_id)
    rows = orders.annotate(invoiced=Coalesce(Subquery(invoiced), ZERO)).values_list("total", "invoiced")
    return sum((max(total - invoiced, Decimal("0")) for total, invoiced in rows), Decimal("0"))


def exposure(customer: Customer, *, exclude_order_id: int | None = None) -> Decimal:
    return receivables.open_receivables(customer) + uninvoiced_approved_orders(
        customer, exclude_order_id=exclude_order_id
    )


def assess(order: SalesOrder, *, profile: CreditProfile | None, on: datetime.date) -> Assessment:
    """Would this order fit the customer's credit? Lists every reason it would not."""
    customer = order.customer
    current = round_money(exposure(customer, exclude_order_id=order.pk), order.currency)
    limit = profile.credit_limit if profile else Decimal("0")
    max_days = profile.max_overdue_days if profile else 30
    overdue = round_money(receivables.overdue_amount(customer, more_than_days=max_days, on=on), order.currency)
    result = Assessment(exposure=current, credit_limit=limit, order_total=order.total, overdue=overdue)
    currency = order.currency
    if profile is None:
        result.reasons.append("No credit limit set for this customer yet (first order?).")
    elif current + order.total > limit:
        result.reasons.append(
            f"Credit limit exceeded: exposure {current} + this order {order.total} = {current + order.total} "
            f"{currency}, limit {limit} {currency}."
        )
    if overdue > 0:
        result.reasons.append(f"Overdue: {overdue} {currency} more than {max_days} days past due.")
    return result


def held_orders():
    """The credit manager's queue: held orders, oldest first, with their latest decision."""
    latest = CreditDecision.objects.order_by("-decided_at", "-id")
    return (
        SalesOrder.objects.filter(status=SalesOrder.Status.CREDIT_HOLD)
        .select_related("customer", "customer__credit_profile")
        .prefetch_related(Prefetch("credit_decisions", queryset=latest, to_attr="decisions"))
        .order_by("submitted_at", "id")
    )
