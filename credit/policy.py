"""The credit policy as a pure function: figures in, decision out. No database, no clock, so
it can be property-tested (tests/credit/test_policy.py) and every caller decides the same way.

The decision is 'approve' exactly when every rule passes; a hold lists each failed rule with a
sentence a credit manager can act on."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from o2c.core.money import format_money

APPROVE = "approve"
HOLD = "hold"

# Rule codes, in the order they are checked and listed.
PROFILE = "profile"
APPLICATION_PENDING = "application_pending"
LIMIT = "limit"
GROUP_LIMIT = "group_limit"
OVERDUE_DAYS = "overdue_days"
OVERDUE_AMOUNT = "overdue_amount"
APPROVAL = "approval"
RULES = [PROFILE, APPLICATION_PENDING, LIMIT, GROUP_LIMIT, OVERDUE_DAYS, OVERDUE_AMOUNT, APPROVAL]


@dataclass(frozen=True)
class Rules:
    """The thresholds of one policy version (credit.models.CreditPolicy), amounts already in
    the limit's currency."""

    max_days_overdue: int
    max_overdue_amount: Decimal
    require_current_approval: bool = True
    check_group: bool = True


@dataclass(frozen=True)
class Figures:
    """What the rules look at, all amounts in the limit's currency. `exposure` excludes the
    order being decided; `group_limit` is None when the customer has no group with a limit."""

    on: datetime.date
    currency: str
    has_profile: bool
    application_pending: bool
    order_amount: Decimal
    exposure: Decimal
    credit_limit: Decimal
    oldest_overdue_days: int
    overdue_amount: Decimal
    approved_until: datetime.date | None
    group_exposure: Decimal | None = None
    group_limit: Decimal | None = None


@dataclass(frozen=True)
class Failure:
    rule: str
    text: str


@dataclass
class Evaluation:
    outcome: str
    failures: list[Failure] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return self.outcome == APPROVE

    @property
    def reasons(self) -> list[str]:
        return [failure.text for failure in self.failures]

    @property
    def failed_rules(self) -> list[str]:
        return [failure.rule for failure in self.failures]


def evaluate(figures: Figures, rules: Rules) -> Evaluation:
    """Check every rule (never stopping at the first failure) and decide."""
    f, money = figures, lambda amount: format_money(amount, figures.currency)
    failures = []
    if f.application_pending:
        failures.append(
            Failure(
                APPLICATION_PENDING, "Credit application pending: the order waits for the credit manager's decision."
            )
        )
    elif not f.has_profile:
        failures.append(
            Failure(
                PROFILE, "No credit limit set for this customer yet (first order?): a credit application is needed."
            )
        )
    if f.has_profile and f.exposure + f.order_amount > f.credit_limit:
        failures.append(
            Failure(
                LIMIT,
                f"Credit limit exceeded: exposure {money(f.exposure)} + this order {money(f.order_amount)} = "
                f"{money(f.exposure + f.order_amount)}, limit {money(f.credit_limit)}.",
            )
        )
    if (
        rules.check_group
        and f.group_limit is not None
        and f.group_exposure is not None
        and f.group_exposure + f.order_amount > f.group_limit
    ):
        failures.append(
            Failure(
                GROUP_LIMIT,
                f"Group credit limit exceeded: group exposure {money(f.group_exposure)} + this order "
                f"{money(f.order_amount)} = {money(f.group_exposure + f.order_amount)}, "
                f"group limit {money(f.group_limit)}.",
            )
        )
    if f.oldest_overdue_days > rules.max_days_overdue:
        failures.append(
            Failure(
                OVERDUE_DAYS,
                f"Overdue: an invoice is {f.oldest_overdue_days} days past due "
                f"(more than {rules.max_days_overdue} allowed).",
            )
        )
    if f.overdue_amount >= rules.max_overdue_amount and f.overdue_amount > 0:
        failures.append(
            Failure(
                OVERDUE_AMOUNT,
                f"Overdue amount {money(f.overdue_amount)} is not below {money(rules.max_overdue_amount)}.",
            )
        )
    if rules.require_current_approval and f.has_profile and f.approved_until is not None and f.approved_until < f.on:
        failures.append(
            Failure(APPROVAL, f"Credit approval expired on {f.approved_until:%d %b %Y}: the profile needs a review.")
        )
    return Evaluation(outcome=HOLD if failures else APPROVE, failures=failures)
