"""Credit writes: decisions, policy versions, limit changes (four eyes), applications,
temporary increases, behaviour figures and the review queue. Each function is one transaction.

Concurrency: a decision locks the customer's credit profile row - and its group parent's - in
ascending id order before reading the exposure, so two orders of one customer (or of one
group) decided at the same moment are decided one after the other, and the second sees the
first one's approved order in its exposure."""

import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Max, When
from django.utils import timezone

from invoicing.models import Invoice
from o2c.core import timeline
from o2c.core.errors import DomainError
from o2c.core.transactions import atomic
from orders.models import Customer, SalesOrder
from receivables.models import Allocation, Dispute, Payment

from . import selectors
from .models import CreditApplication, CreditDecision, CreditLimitChange, CreditPolicy, CreditProfile, ReviewItem


class CreditError(DomainError):
    pass


# --- locking -------------------------------------------------------------------------------------
def _lock_profiles(customer: Customer) -> tuple[CreditProfile | None, CreditProfile | None, list[int]]:
    """Lock the customer's profile and its group parent's, in ascending id order (no deadlock
    between two members of one group). Returns (profile, group profile, group member ids)."""
    parent_id, members = selectors.group_ids(customer)
    ids = {customer.pk} | ({parent_id} if parent_id else set())
    locked = {
        p.customer_id: p for p in CreditProfile.objects.select_for_update().filter(customer_id__in=ids).order_by("id")
    }
    return locked.get(customer.pk), locked.get(parent_id) if parent_id else None, members


def _assess_locked(order: SalesOrder, *, on: datetime.date) -> selectors.Assessment:
    profile, group_profile, members = _lock_profiles(order.customer)
    return selectors.assess(order, profile=profile, on=on, group_profile=group_profile, group_members=members)


def _record(order: SalesOrder, assessment: selectors.Assessment, outcome: str, reasons: list[str], by=None):
    figures, exposure = assessment.figures, assessment.exposure
    profile = assessment.profile
    return CreditDecision.objects.create(
        order=order,
        outcome=outcome,
        reasons="\n".join(reasons),
        failed_rules=",".join(assessment.evaluation.failed_rules),
        policy=assessment.policy,
        currency=figures.currency,
        exposure=exposure.total,
        open_receivables=exposure.open_receivables,
        shipped_not_invoiced=exposure.shipped_not_invoiced,
        approved_not_shipped=exposure.approved_not_shipped,
        unapplied_cash=exposure.unapplied_cash,
        overdue_amount=figures.overdue_amount,
        oldest_overdue_days=figures.oldest_overdue_days,
        order_amount=figures.order_amount,
        credit_limit=figures.credit_limit,
        group_exposure=figures.group_exposure,
        group_limit=figures.group_limit,
        temporary_increase=profile.temporary_increase if profile else Decimal("0"),
        temporary_until=profile.temporary_until if profile else None,
        decided_by=by,
    )


def _held_for_missing_rate(order: SalesOrder, error: selectors.MissingRate) -> CreditDecision:
    return CreditDecision.objects.create(
        order=order,
        outcome=CreditDecision.Outcome.HELD,
        reasons=error.message,
        failed_rules="exchange_rate",
        policy=selectors.current_policy(),
        currency=order.currency,
        exposure=Decimal("0"),
        credit_limit=Decimal("0"),
        order_amount=order.total,
    )


# --- decisions -----------------------------------------------------------------------------------
@atomic
def decide_order(*, order: SalesOrder, on: datetime.date | None = None) -> CreditDecision:
    """The automatic check at submit: approve when every rule of the policy in force passes,
    otherwise hold with every failed rule written down. Records the figures, the parts of the
    exposure and the policy version. A missing exchange rate holds the order and says which."""
    try:
        assessment = _assess_locked(order, on=on or timezone.localdate())
    except selectors.MissingRate as error:
        return _held_for_missing_rate(order, error)
    outcome = CreditDecision.Outcome.APPROVED if assessment.passes else CreditDecision.Outcome.HELD
    return _record(order, assessment, outcome, assessment.reasons)


@atomic
def record_manager_decision(
    *,
    order: SalesOrder,
    release: bool,
    reason: str,
    by,
    temporary_increase: Decimal | None = None,
    temporary_until: datetime.date | None = None,
    on: datetime.date | None = None,
) -> CreditDecision:
    """A credit manager's release (optionally with a temporary limit increase until a date)
    or rejection of a held order, with the reason, the figures of the moment and an audit event."""
    on = on or timezone.localdate()
    if order.status != SalesOrder.Status.CREDIT_HOLD:
        raise CreditError(f"Order {order} is not on credit hold (it is {order.get_status_display().lower()}).")
    problems = []
    if not reason.strip():
        problems.append(("decision", "reason", "is required"))
    if temporary_increase is not None:
        if not release:
            problems.append(("decision", "temporary increase", "only a release can raise the limit"))
        if temporary_increase <= 0:
            problems.append(("decision", "temporary increase", "must be more than zero"))
        if temporary_until is None or temporary_until < on:
            problems.append(("decision", "until", "give an expiry date, today or later"))
    if problems:
        raise CreditError("Say why: the reason is kept with the decision.", problems)
    if temporary_increase is not None:
        profile = CreditProfile.objects.select_for_update().filter(customer_id=order.customer_id).first()
        if profile is None:
            raise CreditError(
                f"{order.customer.name} has no credit profile to raise; decide its credit application first.",
                [("decision", "temporary increase", "no credit profile")],
            )
        profile.temporary_increase, profile.temporary_until = temporary_increase, temporary_until
        profile.save(update_fields=["temporary_increase", "temporary_until"])
        timeline.record(
            profile,
            "temporary_limit",
            summary=f"Temporary limit increase of {temporary_increase} {profile.currency} until {temporary_until}",
            trail=order.trail,
            by=by,
            note=reason.strip(),
        )
    outcome = CreditDecision.Outcome.RELEASED if release else CreditDecision.Outcome.REJECTED
    try:
        assessment = _assess_locked(order, on=on)
    except selectors.MissingRate:
        return CreditDecision.objects.create(
            order=order,
            outcome=outcome,
            reasons=reason.strip(),
            policy=selectors.current_policy(),
            currency=order.currency,
            exposure=Decimal("0"),
            credit_limit=Decimal("0"),
            decided_by=by,
        )
    return _record(order, assessment, outcome, [reason.strip()], by=by)


@atomic
def recheck_hold(*, order: SalesOrder, note: str = "Within credit again after a payment.") -> CreditDecision | None:
    """Run the automatic check again on a held order (after a payment, an application decided).
    Records an approval when it now passes; a still-failing check records nothing."""
    try:
        assessment = _assess_locked(order, on=timezone.localdate())
    except selectors.MissingRate:
        return None
    if not assessment.passes:
        return None
    return _record(order, assessment, CreditDecision.Outcome.APPROVED, [note])


# --- policy --------------------------------------------------------------------------------------
POLICY_FIELDS = [
    "currency",
    "max_days_overdue",
    "max_overdue_amount",
    "require_current_approval",
    "check_group",
    "four_eyes_threshold",
    "review_interval_days",
]


@atomic
def publish_policy(*, by, note: str, **values) -> CreditPolicy:
    """A new version of the credit policy, the newest in force from now on. Versions are
    never updated: decisions keep pointing at the one they used."""
    if not note.strip():
        raise CreditError("Say why the policy changes.", [("policy", "note", "is required")])
    current = selectors.current_policy()
    # Lock the newest version so two finance managers publishing at once get versions n+1, n+2.
    current = CreditPolicy.objects.select_for_update().get(pk=current.pk)
    latest = CreditPolicy.objects.order_by("-version").first()
    fields = {name: values.get(name, getattr(latest, name)) for name in POLICY_FIELDS}
    problems = [
        ("policy", name, "must be zero or more")
        for name in ["max_overdue_amount", "four_eyes_threshold"]
        if fields[name] is None or fields[name] < 0
    ]
    if problems:
        raise CreditError("The policy was not saved.", problems)
    policy = CreditPolicy(version=latest.version + 1, note=note.strip(), created_by=by, **fields)
    try:
        policy.full_clean(exclude=["version"])
    except ValidationError as error:
        raise CreditError(
            "The policy was not saved.",
            [("policy", name, " ".join(messages)) for name, messages in error.message_dict.items()],
        ) from error
    policy.save()
    timeline.record(
        policy,
        "published",
        summary=f"Credit policy v{policy.version} published",
        trail="credit:policy",
        by=by,
        note=note,
    )
    return policy


# --- limits (four eyes) -------------------------------------------------------------------------
def _profile_trail(profile: CreditProfile) -> str:
    return f"customer:{profile.customer_id}"


@atomic
def request_limit_change(*, profile: CreditProfile, new_limit: Decimal, reason: str, by) -> CreditLimitChange:
    """Change a credit limit. A raise above the policy's threshold waits for a second person
    (approve_limit_change); anything else applies at once. Every change is kept with who,
    when, old and new, and why."""
    if not by.has_perm("credit.change_credit_limit"):
        raise CreditError("Changing a credit limit needs the permission 'Can change credit limits'.")
    problems = []
    if new_limit is None or new_limit < 0:
        problems.append(("limit", "new limit", "must be zero or more"))
    if not reason.strip():
        problems.append(("limit", "reason", "is required"))
    if problems:
        raise CreditError("The limit was not changed.", problems)
    profile = CreditProfile.objects.select_for_update().get(pk=profile.pk)
    if profile.limit_changes.filter(status=CreditLimitChange.Status.PENDING).exists():
        raise CreditError(
            "A change of this limit already waits for approval: approve or refuse it first.",
            [("limit", "new limit", "a change is pending")],
        )
    change = CreditLimitChange(
        profile=profile,
        old_limit=profile.credit_limit,
        new_limit=new_limit,
        currency=profile.currency,
        reason=reason.strip(),
        requested_by=by,
    )
    policy = selectors.current_policy()
    threshold = selectors.Rates(timezone.localdate()).convert(
        policy.four_eyes_threshold, policy.currency, profile.currency
    )
    if new_limit - profile.credit_limit > threshold:
        change.save()
        timeline.record(
            profile,
            "limit_requested",
            summary=f"Limit change {change.old_limit} -> {new_limit} {profile.currency} waits for a second approval",
            trail=_profile_trail(profile),
            by=by,
            note=change.reason,
        )
        return change
    change.status, change.decided_at = CreditLimitChange.Status.APPLIED, timezone.now()
    change.save()
    _apply(profile, change, by)
    return change


def _apply(profile: CreditProfile, change: CreditLimitChange, by) -> None:
    profile.credit_limit = change.new_limit
    profile.save(update_fields=["credit_limit"])
    timeline.record(
        profile,
        "limit_changed",
        summary=f"Credit limit {change.old_limit} -> {change.new_limit} {change.currency}",
        trail=_profile_trail(profile),
        by=by,
        note=change.reason,
    )


@atomic
def decide_limit_change(*, change: CreditLimitChange, approve: bool, by, note: str = "") -> CreditLimitChange:
    """The second person approves (the limit changes) or refuses a pending limit change. The
    requester can never approve their own request (also a database constraint)."""
    change = CreditLimitChange.objects.select_for_update().select_related("profile").get(pk=change.pk)
    if change.status != CreditLimitChange.Status.PENDING:
        raise CreditError(f"This limit change is already {change.get_status_display().lower()}.")
    if not by.has_perm("credit.approve_limit_change"):
        raise CreditError("Approving a limit change needs the permission 'Can approve another person's limit change'.")
    if by.pk == change.requested_by_id:
        raise CreditError(
            "Four eyes: you asked for this change, so someone else must approve it.",
            [("limit", "approver", "must not be the requester")],
        )
    profile = CreditProfile.objects.select_for_update().get(pk=change.profile_id)
    change.status = CreditLimitChange.Status.APPLIED if approve else CreditLimitChange.Status.REFUSED
    change.approved_by, change.decided_at, change.decision_note = by, timezone.now(), note.strip()[:300]
    change.save()
    if approve:
        change.old_limit = profile.credit_limit  # what it really was when applied
        change.save(update_fields=["old_limit"])
        _apply(profile, change, by)
    else:
        timeline.record(
            profile,
            "limit_refused",
            summary=f"Limit change to {change.new_limit} {change.currency} refused",
            trail=_profile_trail(profile),
            by=by,
            note=note,
        )
    return change


# --- applications ------------------------------------------------------------------------------
APPLICATION_DOCUMENT_TYPES = {"pdf": b"%PDF-", "png": b"\x89PNG", "jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff"}
APPLICATION_DOCUMENT_MAX_BYTES = 5 * 1024 * 1024


def check_document(upload) -> list[tuple[str, str, str]]:
    """A financials document: PDF, PNG or JPEG, checked by extension AND content, at most 5 MB."""
    if upload is None:
        return []
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in APPLICATION_DOCUMENT_TYPES:
        return [("application", "document", f"'{name}' is not a PDF, PNG or JPEG file")]
    if upload.size > APPLICATION_DOCUMENT_MAX_BYTES:
        return [("application", "document", f"is {upload.size // 1024} KB; at most 5 MB")]
    head = upload.read(8)
    upload.seek(0)
    if not head.startswith(APPLICATION_DOCUMENT_TYPES[extension]):
        return [("application", "document", f"'{name}' does not contain a {extension.upper()} file")]
    return []


@atomic
def submit_application(
    *,
    customer: Customer,
    requested_limit: Decimal,
    trade_references: str,
    bank_name: str,
    by,
    currency: str = "",
    bank_account: str = "",
    annual_revenue: Decimal | None = None,
    net_income: Decimal | None = None,
    years_in_business: int | None = None,
    document=None,
    document_kind: str = "financials",
) -> CreditApplication:
    """A first-time customer's credit application; its orders wait until it is decided."""
    problems = []
    if requested_limit is None or requested_limit <= 0:
        problems.append(("application", "requested limit", "must be more than zero"))
    if not trade_references.strip():
        problems.append(("application", "trade references", "give at least one"))
    if not bank_name.strip():
        problems.append(("application", "bank", "is required"))
    problems += check_document(document)
    if CreditApplication.objects.filter(customer=customer, status=CreditApplication.Status.PENDING).exists():
        problems.append(("application", "customer", f"{customer.name} already has a pending application"))
    if problems:
        raise CreditError("The application was not saved.", problems)
    application = CreditApplication(
        customer=customer,
        requested_limit=requested_limit,
        currency=currency or customer.currency,
        trade_references=trade_references.strip(),
        bank_name=bank_name.strip(),
        bank_account=bank_account.strip(),
        annual_revenue=annual_revenue,
        net_income=net_income,
        years_in_business=years_in_business,
        document_kind=document_kind if document else "",
        submitted_by=by,
        submitted_at=timezone.now(),
    )
    if document is not None:
        application.document.save(document.name, document, save=False)
    application.save()
    # The applicant's held orders now wait on the application: say so in the queue.
    for order in SalesOrder.objects.filter(customer=customer, status=SalesOrder.Status.CREDIT_HOLD):
        decide_order(order=order)
    timeline.record(
        application,
        "submitted",
        summary=f"Credit application for {requested_limit} {application.currency}",
        trail=f"customer:{customer.pk}",
        by=by,
    )
    return application


@atomic
def decide_application(
    *,
    application: CreditApplication,
    approve: bool,
    by,
    note: str,
    approved_limit: Decimal | None = None,
    approved_until: datetime.date | None = None,
    risk_class: str = CreditProfile.RiskClass.C,
) -> CreditApplication:
    """Approve (a credit profile is created with the approved limit) or reject an application.
    The applicant's held orders are then decided by o2c.flow.decide_credit_application."""
    application = CreditApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != CreditApplication.Status.PENDING:
        raise CreditError(f"This application is already {application.get_status_display().lower()}.")
    problems = []
    if not note.strip():
        problems.append(("application", "note", "say why"))
    if approve and (approved_limit is None or approved_limit < 0):
        problems.append(("application", "approved limit", "give the limit granted (zero or more)"))
    if problems:
        raise CreditError("The application was not decided.", problems)
    today = timezone.localdate()
    application.status = CreditApplication.Status.APPROVED if approve else CreditApplication.Status.REJECTED
    application.decided_by, application.decided_at = by, timezone.now()
    application.decision_note = note.strip()
    application.approved_limit = approved_limit if approve else None
    application.save()
    if approve:
        policy = selectors.current_policy()
        profile, created = CreditProfile.objects.select_for_update().get_or_create(
            customer=application.customer,
            defaults={
                "credit_limit": approved_limit,
                "currency": application.currency,
                "approved_until": approved_until,
                "risk_class": risk_class,
                "reviewed_risk_class": risk_class,
                "reviewed_at": today,
                "review_due": today + datetime.timedelta(days=policy.review_interval_days),
            },
        )
        if not created:
            old = profile.credit_limit
            profile.credit_limit, profile.approved_until = approved_limit, approved_until
            profile.save(update_fields=["credit_limit", "approved_until"])
            CreditLimitChange.objects.create(
                profile=profile,
                old_limit=old,
                new_limit=approved_limit,
                currency=profile.currency,
                reason=f"Credit application approved: {note.strip()}"[:500],
                status=CreditLimitChange.Status.APPLIED,
                requested_by=by,
                decided_at=timezone.now(),
            )
    timeline.record(
        application,
        "approved" if approve else "rejected",
        summary=f"Credit application {'approved' if approve else 'rejected'}",
        trail=f"customer:{application.customer_id}",
        by=by,
        note=note,
    )
    return application


# --- payment behaviour and review -----------------------------------------------------------------
RISK_ORDER = "ABCDE"


def risk_class_for(*, days_beyond_terms: Decimal | None, percent_late: Decimal | None, nsf: int, disputes: int) -> str:
    """A plain scorecard: the worse of lateness and returned payments decides the class."""
    beyond = days_beyond_terms or Decimal("0")
    late = percent_late or Decimal("0")
    if nsf >= 3 or beyond > 60:
        return "E"
    if nsf >= 1 or beyond > 30 or late > 50:
        return "D"
    if beyond > 10 or late > 25 or disputes > 2:
        return "C"
    if beyond > 0 or late > 5:
        return "B"
    return "A"


BEHAVIOUR_FIELDS = [
    "average_days_to_pay",
    "average_days_beyond_terms",
    "average_days_late",
    "percent_paid_late",
    "nsf_count",
    "open_disputes",
    "risk_class",
    "behaviour_computed_at",
]

# One statement for every profile on PostgreSQL: per invoice the day it was paid (last
# payment applied), per customer the averages, then the risk class by the same scorecard as
# risk_class_for (tests/credit/test_behaviour.py proves they agree).
BEHAVIOUR_SQL = """
WITH paid AS (
    SELECT inv.customer_id, inv.issue_date, inv.due_date, max(pay.value_date) AS paid_on
    FROM invoicing_invoice inv
    JOIN receivables_allocation al ON al.invoice_id = inv.id
    JOIN receivables_payment pay ON pay.id = al.payment_id
    WHERE inv.kind = 'invoice' AND inv.status = 'paid' AND inv.issue_date >= %(since)s
    GROUP BY inv.id
), per_customer AS (
    SELECT customer_id,
           round(avg(paid_on - issue_date), 1) AS days_to_pay,
           round(avg(greatest(paid_on - due_date, 0)), 1) AS beyond,
           round(100.0 * count(*) FILTER (WHERE paid_on > due_date) / count(*), 1) AS late
    FROM paid GROUP BY customer_id
), paid_in_year AS (
    -- the cash forecast's measure: invoices settled by payments (not reversed) value-dated in
    -- the last 365 days, each paid on the last of those payments
    SELECT inv.customer_id, inv.due_date, max(pay.value_date) AS paid_on
    FROM invoicing_invoice inv
    JOIN receivables_allocation al ON al.invoice_id = inv.id
    JOIN receivables_payment pay ON pay.id = al.payment_id
    WHERE inv.kind = 'invoice' AND inv.status = 'paid' AND pay.status <> 'reversed'
      AND pay.value_date > %(since)s AND pay.value_date <= %(on)s
    GROUP BY inv.id
), days_late AS (
    -- truncated (toward zero) to one place, not rounded: rounding this to whole days, as the
    -- forecast does, then gives the same day as rounding the exact average (2.46 -> 2.4 -> 2)
    SELECT customer_id, trunc(avg(paid_on - due_date), 1) AS days_late
    FROM paid_in_year GROUP BY customer_id
), nsf AS (
    SELECT customer_id, count(*) AS n FROM receivables_payment
    WHERE status = 'reversed' AND value_date >= %(since)s GROUP BY customer_id
), disputes AS (
    SELECT customer_id, count(*) AS n FROM receivables_dispute
    WHERE status <> 'resolved' GROUP BY customer_id
), figures AS (
    SELECT p.id, c.days_to_pay, c.beyond, c.late, l.days_late, coalesce(n.n, 0) AS nsf, coalesce(d.n, 0) AS disputes
    FROM credit_creditprofile p
    LEFT JOIN per_customer c ON c.customer_id = p.customer_id
    LEFT JOIN days_late l ON l.customer_id = p.customer_id
    LEFT JOIN nsf n ON n.customer_id = p.customer_id
    LEFT JOIN disputes d ON d.customer_id = p.customer_id
)
UPDATE credit_creditprofile p SET
    average_days_to_pay = f.days_to_pay,
    average_days_beyond_terms = f.beyond,
    average_days_late = f.days_late,
    percent_paid_late = f.late,
    nsf_count = f.nsf,
    open_disputes = f.disputes,
    risk_class = CASE
        WHEN f.nsf >= 3 OR coalesce(f.beyond, 0) > 60 THEN 'E'
        WHEN f.nsf >= 1 OR coalesce(f.beyond, 0) > 30 OR coalesce(f.late, 0) > 50 THEN 'D'
        WHEN coalesce(f.beyond, 0) > 10 OR coalesce(f.late, 0) > 25 OR f.disputes > 2 THEN 'C'
        WHEN coalesce(f.beyond, 0) > 0 OR coalesce(f.late, 0) > 5 THEN 'B'
        ELSE 'A' END,
    behaviour_computed_at = %(now)s
FROM figures f WHERE f.id = p.id
"""


def recompute_behaviour(*, on: datetime.date | None = None, since_days: int = 365) -> int:
    """The nightly job: payment behaviour of every customer with a profile, from invoices paid
    in the last year (average days to pay, days beyond terms, % paid late, average days late as
    of `on` for the cash forecast, returned payments, disputes not resolved yet), and the risk
    class that follows. One set-based UPDATE on PostgreSQL. Idempotent. Returns the number of
    profiles updated."""
    on = on or timezone.localdate()
    since = on - datetime.timedelta(days=since_days)
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BEHAVIOUR_SQL, {"since": since, "on": on, "now": timezone.now()})
            return cursor.rowcount
    return _recompute_behaviour_portably(since, on=on)


def _days_late(since: datetime.date, on: datetime.date) -> dict[int, Decimal]:
    """{customer id: average days late} as BEHAVIOUR_SQL's days_late, truncated toward zero."""
    paid = (
        Allocation.objects.filter(
            invoice__kind=Invoice.Kind.INVOICE,
            invoice__status=Invoice.Status.PAID,
            invoice__due_date__isnull=False,
            payment__value_date__gt=since,
            payment__value_date__lte=on,
        )
        .exclude(payment__status=Payment.Status.REVERSED)
        .values("invoice_id", "invoice__customer_id", "invoice__due_date")
        .annotate(paid_on=Max("payment__value_date"))
        .order_by()
    )
    sums: dict[int, list[int]] = {}
    for row in paid:
        entry = sums.setdefault(row["invoice__customer_id"], [0, 0])
        entry[0] += (row["paid_on"] - row["invoice__due_date"]).days
        entry[1] += 1
    return {
        customer_id: (Decimal(total) / Decimal(n)).quantize(Decimal("0.1"), ROUND_DOWN)
        for customer_id, (total, n) in sums.items()
    }


def _recompute_behaviour_portably(since: datetime.date, *, on: datetime.date | None = None) -> int:
    """The same figures for the embedded SQLite database: one grouped query, one bulk update."""
    on = on or timezone.localdate()
    days_late = _days_late(since, on)
    paid = (
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.PAID, issue_date__gte=since)
        .values("id", "customer_id", "issue_date", "due_date")
        .annotate(paid_on=Max("allocations__payment__value_date"))
        .filter(paid_on__isnull=False)
        .order_by()
    )
    figures: dict[int, dict] = {}
    for row in paid:
        entry = figures.setdefault(row["customer_id"], {"n": 0, "days": 0, "beyond": 0, "late": 0})
        late_by = (row["paid_on"] - row["due_date"]).days if row["due_date"] else 0
        entry["n"] += 1
        entry["days"] += (row["paid_on"] - row["issue_date"]).days
        entry["beyond"] += max(late_by, 0)
        entry["late"] += 1 if late_by > 0 else 0
    nsf = dict(
        Payment.objects.filter(status=Payment.Status.REVERSED, value_date__gte=since)
        .values("customer_id")
        .annotate(n=Count("id"))
        .values_list("customer_id", "n")
        .order_by()
    )
    disputes = dict(
        Dispute.objects.exclude(status=Dispute.Status.RESOLVED)
        .values("customer_id")
        .annotate(n=Count("id"))
        .values_list("customer_id", "n")
        .order_by()
    )
    profiles = list(CreditProfile.objects.all())
    now = timezone.now()
    tenth = Decimal("0.1")
    for profile in profiles:
        entry = figures.get(profile.customer_id)
        if entry:
            n = Decimal(entry["n"])
            profile.average_days_to_pay = (entry["days"] / n).quantize(tenth, ROUND_HALF_UP)
            profile.average_days_beyond_terms = (entry["beyond"] / n).quantize(tenth, ROUND_HALF_UP)
            profile.percent_paid_late = (entry["late"] * 100 / n).quantize(tenth, ROUND_HALF_UP)
        else:
            profile.average_days_to_pay = profile.average_days_beyond_terms = profile.percent_paid_late = None
        profile.average_days_late = days_late.get(profile.customer_id)
        profile.nsf_count = nsf.get(profile.customer_id, 0)
        profile.open_disputes = disputes.get(profile.customer_id, 0)
        profile.risk_class = risk_class_for(
            days_beyond_terms=profile.average_days_beyond_terms,
            percent_late=profile.percent_paid_late,
            nsf=profile.nsf_count,
            disputes=profile.open_disputes,
        )
        profile.behaviour_computed_at = now
    CreditProfile.objects.bulk_update(profiles, BEHAVIOUR_FIELDS, batch_size=2000)
    return len(profiles)


@atomic
def list_for_review(*, on: datetime.date | None = None) -> int:
    """The weekly job: profiles due for review and customers whose risk class worsened since
    their last review go into the review queue, once each (an open item is not listed again)."""
    on = on or timezone.localdate()
    already = set(ReviewItem.objects.filter(resolved_at__isnull=True).values_list("profile_id", "kind"))
    new = []
    for profile in selectors.profiles_due_for_review(on=on).only("id", "review_due"):
        if (profile.pk, ReviewItem.Kind.DUE) not in already:
            due = f"since {profile.review_due:%d %b %Y}" if profile.review_due else "never reviewed"
            new.append(
                ReviewItem(profile=profile, kind=ReviewItem.Kind.DUE, detail=f"Review due ({due}).", listed_on=on)
            )
    worse = CreditProfile.objects.exclude(reviewed_risk_class="").only("id", "risk_class", "reviewed_risk_class")
    worse = worse.annotate(
        now_rank=Case(*[When(risk_class=c, then=i) for i, c in enumerate(RISK_ORDER)], output_field=IntegerField()),
        then_rank=Case(
            *[When(reviewed_risk_class=c, then=i) for i, c in enumerate(RISK_ORDER)], output_field=IntegerField()
        ),
    ).filter(now_rank__gt=F("then_rank"))
    for profile in worse:
        if (profile.pk, ReviewItem.Kind.WORSENED) not in already:
            new.append(
                ReviewItem(
                    profile=profile,
                    kind=ReviewItem.Kind.WORSENED,
                    detail=f"Risk class went from {profile.reviewed_risk_class} to {profile.risk_class}.",
                    listed_on=on,
                )
            )
    ReviewItem.objects.bulk_create(new, batch_size=2000)
    return len(new)


@atomic
def resolve_review(*, item: ReviewItem, by, resolution: str, on: datetime.date | None = None) -> ReviewItem:
    """The credit manager reviewed the profile: the item closes, the profile's review date moves on."""
    on = on or timezone.localdate()
    if not resolution.strip():
        raise CreditError("Say what the review concluded.", [("review", "resolution", "is required")])
    item = ReviewItem.objects.select_for_update().get(pk=item.pk)
    if item.resolved_at:
        raise CreditError("This review item is already resolved.")
    item.resolved_at, item.resolved_by, item.resolution = timezone.now(), by, resolution.strip()
    item.save()
    profile = CreditProfile.objects.select_for_update().get(pk=item.profile_id)
    policy = selectors.current_policy()
    profile.reviewed_at = on
    profile.review_due = on + datetime.timedelta(days=policy.review_interval_days)
    profile.reviewed_risk_class = profile.risk_class
    profile.save(update_fields=["reviewed_at", "review_due", "reviewed_risk_class"])
    timeline.record(
        profile, "reviewed", summary="Credit profile reviewed", trail=_profile_trail(profile), by=by, note=resolution
    )
    return item


@atomic
def count_open_disputes(*, customer_id: int) -> int:
    """Keep the profile's open-dispute figure in step when a dispute opens or closes (the
    nightly behaviour job recounts it too). No profile: nothing to keep."""
    count = Dispute.objects.filter(customer_id=customer_id).exclude(status=Dispute.Status.RESOLVED).count()
    CreditProfile.objects.filter(customer_id=customer_id).update(open_disputes=count)
    return count
