"""Credit decisions. The customer's credit profile row is locked while deciding, so two
orders of one customer checked at the same moment cannot together pass the limit."""

import datetime

from django.db import transaction
from django.utils import timezone

from o2c.core.errors import DomainError
from orders.models import SalesOrder

from . import selectors
from .models import CreditDecision, CreditProfile


class CreditError(DomainError):
    pass


def _locked_profile(customer_id: int) -> CreditProfile | None:
    return CreditProfile.objects.select_for_update().filter(customer_id=customer_id).first()


@transaction.atomic
def decide_order(*, order: SalesOrder, on: datetime.date | None = None) -> CreditDecision:
    """The automatic check at submit: approve within limit and with nothing long overdue,
    otherwise hold with every reason written down for the credit manager."""
    profile = _locked_profile(order.customer_id)
    assessment = selectors.assess(order, profile=profile, on=on or timezone.localdate())
    return CreditDecision.objects.create(
        order=order,
        outcome=CreditDecision.Outcome.APPROVED if assessment.passes else CreditDecision.Outcome.HELD,
        reasons="\n".join(assessment.reasons),
        exposure=assessment.exposure,
        credit_limit=assessment.credit_limit,
    )


@transaction.atomic
def record_manager_decision(*, order: SalesOrder, release: bool, reason: str, by) -> CreditDecision:
    if order.status != SalesOrder.Status.CREDIT_HOLD:
        raise CreditError(f"Order {order} is not on credit hold (it is {order.get_status_display().lower()}).")
    if not reason.strip():
        raise CreditError("Say why: the reason is kept with the decision.", [("decision", "reason", "is required")])
    profile = _locked_profile(order.customer_id)
    assessment = selectors.assess(order, profile=profile, on=timezone.localdate())
    return CreditDecision.objects.create(
        order=order,
        outcome=CreditDecision.Outcome.RELEASED if release else CreditDecision.Outcome.REJECTED,
        reasons=reason.strip(),
        exposure=assessment.exposure,
        credit_limit=assessment.credit_limit,
        decided_by=by,
    )


@transaction.atomic
def recheck_hold(*, order: SalesOrder) -> CreditDecision | None:
    """Run the automatic check again on a held order (after a payment, say). Records an
    approval when it now passes; a still-failing check changes nothing and records nothing."""
    profile = _locked_profile(order.customer_id)
    assessment = selectors.assess(order, profile=profile, on=timezone.localdate())
    if not assessment.passes:
        return None
    return CreditDecision.objects.create(
        order=order,
        outcome=CreditDecision.Outcome.APPROVED,
        reasons="Within credit again after a payment.",
        exposure=assessment.exposure,
        credit_limit=assessment.credit_limit,
    )
