"""Reads of the credit room: exposure and its parts (computed by the database, a few
aggregate queries for any number of customers), the figures the policy looks at, the hold
queue and the review queue."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from fulfillment.models import Shipment, ShipmentLine
from invoicing.models import Invoice, InvoiceLine
from o2c.core.errors import DomainError
from o2c.core.money import round_money
from orders.models import Customer, SalesOrder, SalesOrderLine
from receivables.models import Payment

from . import policy as rules
from .models import CreditApplication, CreditDecision, CreditPolicy, CreditProfile, ExchangeRate, ReviewItem

MONEY_FIELD = DecimalField(max_digits=20, decimal_places=6)
ZERO = Value(Decimal("0"), output_field=MONEY_FIELD)
PARTS = ("open_receivables", "shipped_not_invoiced", "approved_not_shipped", "unapplied_cash")
SHIPPED = [Shipment.Status.SHIPPED, Shipment.Status.DELIVERED]


class MissingRate(DomainError):
    pass


# --- exchange rates ------------------------------------------------------------------------------
class Rates:
    """Exchange rates valid on a day, loaded once (one query) for a page or a decision."""

    def __init__(self, on: datetime.date):
        self.on = on
        self._rates: dict[tuple[str, str], Decimal] = {}
        rows = ExchangeRate.objects.filter(valid_from__lte=on).order_by("from_currency", "to_currency", "-valid_from")
        for row in rows.values_list("from_currency", "to_currency", "rate"):
            self._rates.setdefault((row[0], row[1]), row[2])

    def rate(self, from_currency: str, to_currency: str) -> Decimal:
        if from_currency == to_currency:
            return Decimal("1")
        if (from_currency, to_currency) in self._rates:
            return self._rates[(from_currency, to_currency)]
        if (to_currency, from_currency) in self._rates:
            return Decimal("1") / self._rates[(to_currency, from_currency)]
        raise MissingRate(
            f"No exchange rate from {from_currency} to {to_currency} valid on {self.on:%d %b %Y}: "
            "add one under Credit > Exchange rates, then decide again.",
            [("credit", "exchange rate", f"{from_currency} to {to_currency} missing")],
        )

    def convert(self, amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
        return round_money(amount * self.rate(from_currency, to_currency), to_currency)


# --- exposure ------------------------------------------------------------------------------------
@dataclass
class Exposure:
    """Exposure = open receivables + shipped-not-invoiced + approved-not-shipped - unapplied
    cash, in `currency` (the limit's)."""

    currency: str
    open_receivables: Decimal = Decimal("0.00")
    shipped_not_invoiced: Decimal = Decimal("0.00")
    approved_not_shipped: Decimal = Decimal("0.00")
    unapplied_cash: Decimal = Decimal("0.00")

    @property
    def total(self) -> Decimal:
        return self.open_receivables + self.shipped_not_invoiced + self.approved_not_shipped - self.unapplied_cash

    def __add__(self, other: "Exposure") -> "Exposure":
        return Exposure(self.currency, *(getattr(self, p) + getattr(other, p) for p in PARTS))


def exposure_by_currency(customer_ids) -> dict[int, dict[str, dict[str, Decimal]]]:
    """{customer_id: {currency: {part: amount}}} for the customers, in one statement (the four
    aggregates, UNION ALL) whatever their number (the hold queue asks for a page at once)."""
    return exposure_and_overdue_by_currency(customer_ids)[0]


def exposure_and_overdue_by_currency(
    customer_ids, *, on: datetime.date | None = None
) -> tuple[dict[int, dict[str, dict[str, Decimal]]], dict[int, dict]]:
    """exposure_by_currency() and, given `on`, overdue_by_currency() together, in one statement."""
    exposure: dict[int, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(Decimal)))
    overdue: dict[int, dict] = {}
    ids = list(customer_ids)
    if not ids:
        return exposure, overdue
    parts = _exposure_parts(ids)
    if on is not None:
        parts.append(_overdue_rows(ids, on=on).annotate(part=Value("overdue")))
    first, *others = [_shaped(rows) for rows in parts]
    for row in first.union(*others, all=True):
        if row["part"] == "overdue":
            _add_overdue(overdue, row)
        elif row["amount"]:
            exposure[row["customer_id"]][row["currency"]][row["part"]] += Decimal(row["amount"])
    return exposure, overdue


def _shaped(rows):
    # The same columns in every branch of the UNION: (customer_id, currency, part, amount, oldest).
    if "oldest" not in rows.query.annotations:
        rows = rows.annotate(oldest=Cast(Value(None), DateField()))
    return rows.values("customer_id", "currency", "part", "amount", "oldest")


def _exposure_parts(ids: list[int]) -> list:
    """One aggregate per part of the exposure: rows (customer_id, currency, part, amount)."""
    signed_open = Case(
        When(kind=Invoice.Kind.CREDIT_NOTE, then=-F("amount_open")), default=F("amount_open"), output_field=MONEY_FIELD
    )
    receivables = (
        Invoice.objects.filter(customer_id__in=ids, status=Invoice.Status.ISSUED, amount_open__gt=0)
        .values("customer_id", "currency")
        .annotate(part=Value("open_receivables"), amount=Sum(signed_open))
        .order_by()
    )
    # Shipped lines no issued invoice bills yet, at the order line's gross unit price.
    billed = Exists(
        InvoiceLine.objects.filter(shipment_line=OuterRef("pk")).exclude(invoice__status=Invoice.Status.DRAFT)
    )
    line_gross = ExpressionWrapper(
        F("quantity") * F("order_line__unit_price") * (1 + F("order_line__tax_rate")), output_field=MONEY_FIELD
    )
    shipped_unbilled = (
        ShipmentLine.objects.filter(shipment__customer_id__in=ids, shipment__status__in=SHIPPED)
        .exclude(billed)
        .values(customer_id=F("shipment__customer_id"), currency=F("order_line__order__currency"))
        .annotate(part=Value("shipped_not_invoiced"), amount=Sum(line_gross))
        .order_by()
    )
    # Approved orders' lines not shipped yet, pro rata of the line's gross amount.
    shipped_quantity = (
        ShipmentLine.objects.filter(order_line=OuterRef("pk"), shipment__status__in=SHIPPED)
        .values("order_line")
        .annotate(q=Sum("quantity"))
        .values("q")
    )
    unshipped_gross = ExpressionWrapper(
        (F("net_amount") + F("tax_amount"))
        * (F("quantity") - Coalesce(Subquery(shipped_quantity), Value(Decimal("0"), output_field=MONEY_FIELD)))
        / F("quantity"),
        output_field=MONEY_FIELD,
    )
    approved = (
        SalesOrderLine.objects.filter(order__customer_id__in=ids, order__status=SalesOrder.Status.APPROVED)
        .values(customer_id=F("order__customer_id"), currency=F("order__currency"))
        .annotate(part=Value("approved_not_shipped"), amount=Sum(unshipped_gross))
        .order_by()
    )
    unapplied = (
        Payment.objects.filter(customer_id__in=ids)
        .exclude(status__in=[Payment.Status.REVERSED, Payment.Status.APPLIED])
        .values("customer_id", "currency")
        .annotate(part=Value("unapplied_cash"), amount=Sum(F("amount") - F("amount_applied")))
        .order_by()
    )
    return [receivables, shipped_unbilled, approved, unapplied]


def _in_currency(by_currency: dict[str, dict[str, Decimal]], currency: str, rates: Rates) -> Exposure:
    exposure = Exposure(currency)
    for source, parts in by_currency.items():
        for part, amount in parts.items():
            setattr(exposure, part, getattr(exposure, part) + rates.convert(amount, source, currency))
    return exposure


def group_ids(customer: Customer) -> tuple[int | None, list[int]]:
    """The group's parent id and every member's id (parent included); (None, []) without a group."""
    parent_id = customer.parent_id or (customer.pk if customer.subsidiaries.exists() else None)
    if parent_id is None:
        return None, []
    members = list(Customer.objects.filter(Q(pk=parent_id) | Q(parent_id=parent_id)).values_list("pk", flat=True))
    return parent_id, members


def exposure_of(customer: Customer, *, currency: str, on: datetime.date, rates: Rates | None = None) -> Exposure:
    rates = rates or Rates(on)
    return _in_currency(exposure_by_currency([customer.pk]).get(customer.pk, {}), currency, rates)


def group_exposure_of(member_ids: list[int], *, currency: str, rates: Rates) -> Exposure:
    by_customer = exposure_by_currency(member_ids)
    total = Exposure(currency)
    for customer_id in member_ids:
        total = total + _in_currency(by_customer.get(customer_id, {}), currency, rates)
    return total


def overdue_by_currency(customer_ids, *, on: datetime.date) -> dict[int, dict]:
    """{customer_id: {"oldest_due": date|None, "amounts": {currency: Decimal}}}: one query."""
    result: dict[int, dict] = {}
    for row in _overdue_rows(list(customer_ids), on=on):
        _add_overdue(result, row)
    return result


def _overdue_rows(ids: list[int], *, on: datetime.date):
    return (
        Invoice.objects.filter(
            customer_id__in=ids,
            status=Invoice.Status.ISSUED,
            kind=Invoice.Kind.INVOICE,
            amount_open__gt=0,
            due_date__lt=on,
        )
        .values("customer_id", "currency")
        .annotate(amount=Sum("amount_open"), oldest=Min("due_date"))
        .order_by()
    )


def _add_overdue(result: dict[int, dict], row: dict) -> None:
    entry = result.setdefault(row["customer_id"], {"oldest_due": None, "amounts": {}})
    entry["amounts"][row["currency"]] = row["amount"]
    if entry["oldest_due"] is None or row["oldest"] < entry["oldest_due"]:
        entry["oldest_due"] = row["oldest"]


def _overdue_in(entry: dict | None, currency: str, rates: Rates, on: datetime.date) -> tuple[Decimal, int]:
    if not entry:
        return Decimal("0.00"), 0
    amount = sum((rates.convert(a, c, currency) for c, a in entry["amounts"].items()), Decimal("0.00"))
    return amount, (on - entry["oldest_due"]).days


# --- the policy ----------------------------------------------------------------------------------
def current_policy() -> CreditPolicy:
    """The version in force: the newest. Version 1 (the defaults) is written on first use."""
    policy = CreditPolicy.objects.order_by("-version").first()
    if policy is None:
        from django.db import IntegrityError, transaction

        try:
            with transaction.atomic():
                policy = CreditPolicy.objects.create(version=1, note="Defaults")
        except IntegrityError:  # another transaction wrote version 1 first
            policy = CreditPolicy.objects.get(version=1)
    return policy


def rules_for(policy_row: CreditPolicy, profile: CreditProfile | None, currency: str, rates: Rates) -> rules.Rules:
    max_days = profile.max_overdue_days if profile and profile.max_overdue_days is not None else None
    return rules.Rules(
        max_days_overdue=max_days if max_days is not None else policy_row.max_days_overdue,
        max_overdue_amount=rates.convert(policy_row.max_overdue_amount, policy_row.currency, currency),
        require_current_approval=policy_row.require_current_approval,
        check_group=policy_row.check_group,
    )


@dataclass
class Assessment:
    """An order measured against the policy: the figures, the parts of the exposure, the
    rules used and what they say. What a decision records and a page shows."""

    order: SalesOrder
    policy: CreditPolicy
    figures: rules.Figures
    evaluation: rules.Evaluation
    exposure: Exposure
    group_exposure: Exposure | None
    profile: CreditProfile | None
    notes: list[str] = field(default_factory=list)

    @property
    def passes(self) -> bool:
        return self.evaluation.approved

    @property
    def reasons(self) -> list[str]:
        return self.evaluation.reasons

    @property
    def credit_limit(self) -> Decimal:
        return self.figures.credit_limit

    @property
    def headroom(self) -> Decimal:
        return self.figures.credit_limit - self.exposure.total


def assess(
    order: SalesOrder,
    *,
    profile: CreditProfile | None,
    on: datetime.date,
    group_profile: CreditProfile | None = None,
    group_members: list[int] | None = None,
    policy_row: CreditPolicy | None = None,
) -> Assessment:
    """Gather the figures for `order` from the database (exposure before this order, overdue,
    the profile and its group) and evaluate the policy. Raises MissingRate when an amount
    cannot be converted to the limit's currency."""
    customer = order.customer
    policy_row = policy_row or current_policy()
    currency = profile.currency if profile else order.currency
    rates = Rates(on)
    exposure_parts, overdue = exposure_and_overdue_by_currency([customer.pk], on=on)
    exposure = _in_currency(exposure_parts.get(customer.pk, {}), currency, rates)
    overdue_amount, oldest_days = _overdue_in(overdue.get(customer.pk), currency, rates, on)
    group_exposure = None
    group_limit = None
    if group_profile is not None and group_members:
        group_currency = group_profile.currency
        in_group_currency = group_exposure_of(group_members, currency=group_currency, rates=rates)
        # compared in the customer's limit currency, like every other figure of the decision
        group_limit = rates.convert(group_profile.effective_limit(on), group_currency, currency)
        group_exposure = Exposure(
            currency, *(rates.convert(getattr(in_group_currency, p), group_currency, currency) for p in PARTS)
        )
    application_pending = (
        profile is None and CreditApplication.objects.filter(customer=customer, status="pending").exists()
    )
    figures = rules.Figures(
        on=on,
        currency=currency,
        has_profile=profile is not None,
        application_pending=application_pending,
        order_amount=rates.convert(order.total, order.currency, currency),
        exposure=exposure.total,
        credit_limit=profile.effective_limit(on) if profile else Decimal("0.00"),
        oldest_overdue_days=oldest_days,
        overdue_amount=overdue_amount,
        approved_until=profile.approved_until if profile else None,
        group_exposure=group_exposure.total if group_exposure else None,
        group_limit=group_limit,
    )
    evaluation = rules.evaluate(figures, rules_for(policy_row, profile, currency, rates))
    return Assessment(
        order=order,
        policy=policy_row,
        figures=figures,
        evaluation=evaluation,
        exposure=exposure,
        group_exposure=group_exposure,
        profile=profile,
    )


# --- the hold queue ------------------------------------------------------------------------------
HOLD_SORTS = {
    "oldest": ("submitted_at", "id"),
    "newest": ("-submitted_at", "-id"),
    "largest": ("-total", "-id"),
    "smallest": ("total", "id"),
}


def held_orders():
    """The credit manager's queue: held orders with their customer, profile and decisions,
    only the columns the queue shows (model instances, not the database, cost most here)."""
    latest = CreditDecision.objects.only("id", "order_id", "reasons", "decided_at").order_by("-decided_at", "-id")
    return (
        SalesOrder.objects.filter(status=SalesOrder.Status.CREDIT_HOLD)
        .select_related("customer", "customer__credit_profile")
        .only(
            "id",
            "number",
            "status",
            "total",
            "currency",
            "submitted_at",
            "customer_id",
            "customer__name",
            "customer__account_number",
            "customer__credit_profile__id",
            "customer__credit_profile__customer_id",
            "customer__credit_profile__credit_limit",
            "customer__credit_profile__currency",
            "customer__credit_profile__temporary_increase",
            "customer__credit_profile__temporary_until",
            "customer__credit_profile__risk_class",
        )
        .prefetch_related(Prefetch("credit_decisions", queryset=latest, to_attr="decisions"))
        .order_by("submitted_at", "id")
    )


@dataclass
class QueueRow:
    order: SalesOrder
    decision: CreditDecision | None
    profile: CreditProfile | None
    currency: str
    exposure: Exposure | None
    overdue: Decimal
    oldest_overdue_days: int
    limit: Decimal | None
    problem: str = ""

    @property
    def reasons(self) -> list[str]:
        return self.decision.reason_list if self.decision else []


def queue_rows(orders: list[SalesOrder], *, on: datetime.date) -> list[QueueRow]:
    """Live exposure, limit, overdue and risk for a page of held orders: a constant number of
    queries (the exposure and overdue aggregates in one statement, one rates query)."""
    customer_ids = {order.customer_id for order in orders}
    exposures, overdue = exposure_and_overdue_by_currency(customer_ids, on=on)
    rates = Rates(on)
    rows = []
    for order in orders:
        profile = getattr(order.customer, "credit_profile", None)
        currency = profile.currency if profile else order.currency
        row = QueueRow(
            order=order,
            decision=order.decisions[0] if getattr(order, "decisions", None) else None,
            profile=profile,
            currency=currency,
            exposure=None,
            overdue=Decimal("0.00"),
            oldest_overdue_days=0,
            limit=profile.effective_limit(on) if profile else None,
        )
        try:
            row.exposure = _in_currency(exposures.get(order.customer_id, {}), currency, rates)
            row.overdue, row.oldest_overdue_days = _overdue_in(overdue.get(order.customer_id), currency, rates, on)
        except MissingRate as error:
            row.problem = error.message
        rows.append(row)
    return rows


# --- applications, limits, review --------------------------------------------------------------
def pending_applications():
    return CreditApplication.objects.filter(status=CreditApplication.Status.PENDING).select_related(
        "customer", "submitted_by"
    )


def open_review_items():
    return (
        ReviewItem.objects.filter(resolved_at__isnull=True)
        .select_related("profile__customer")
        .order_by("listed_on", "id")
    )


def profiles_due_for_review(*, on: datetime.date):
    return CreditProfile.objects.filter(Q(review_due__lte=on) | Q(review_due__isnull=True, reviewed_at__isnull=True))


def customers_sharing_credit_with(customer_id: int):
    """The ids of the customer and, when it belongs to a group, of every member of the group:
    a queryset, so that filtering by it (customer_id__in=...) costs no statement of its own."""
    group = Customer.objects.filter(pk=customer_id).values(group=Coalesce("parent_id", "pk"))[:1]
    return Customer.objects.filter(
        Q(pk=Subquery(group)) | Q(parent_id=Subquery(group)) | Q(pk=customer_id)
    ).values_list("pk", flat=True)


@dataclass
class CreditPanel:
    """What the order page shows where a credit decision is made: live exposure and its parts,
    the limit and the group's, and the latest decision's recorded figures."""

    profile: CreditProfile | None
    currency: str
    exposure: Exposure | None
    group_exposure: Exposure | None
    group_limit: Decimal | None
    overdue: Decimal
    oldest_overdue_days: int
    limit: Decimal | None
    problem: str = ""
    application: CreditApplication | None = None


def credit_panel(order: SalesOrder, *, on: datetime.date | None = None) -> CreditPanel:
    from django.utils import timezone

    on = on or timezone.localdate()
    customer = order.customer
    profile = CreditProfile.objects.filter(customer=customer).first()
    currency = profile.currency if profile else order.currency
    panel = CreditPanel(
        profile=profile,
        currency=currency,
        exposure=None,
        group_exposure=None,
        group_limit=None,
        overdue=Decimal("0.00"),
        oldest_overdue_days=0,
        limit=profile.effective_limit(on) if profile else None,
        application=customer.credit_applications.order_by("-submitted_at").first(),
    )
    rates = Rates(on)
    try:
        exposure_parts, overdue = exposure_and_overdue_by_currency([customer.pk], on=on)
        panel.exposure = _in_currency(exposure_parts.get(customer.pk, {}), currency, rates)
        panel.overdue, panel.oldest_overdue_days = _overdue_in(overdue.get(customer.pk), currency, rates, on)
        parent_id, members = group_ids(customer)
        if members:
            panel.group_exposure = group_exposure_of(members, currency=currency, rates=rates)
            group_profile = CreditProfile.objects.filter(customer_id=parent_id).first()
            if group_profile:
                panel.group_limit = rates.convert(group_profile.effective_limit(on), group_profile.currency, currency)
    except MissingRate as error:
        panel.problem = error.message
    return panel
