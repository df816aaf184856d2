"""The credit policy as a pure function: 'approve' exactly when every rule passes, and every
hold lists each failed rule (hypothesis), plus worked examples written out."""

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from credit import policy
from credit.policy import Figures, Rules, evaluate

TODAY = datetime.date(2026, 11, 23)
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000000"), places=2, allow_nan=False)


@st.composite
def cases(draw):
    has_profile = draw(st.booleans())
    with_group = draw(st.booleans())
    figures = Figures(
        on=TODAY,
        currency="EUR",
        has_profile=has_profile,
        application_pending=not has_profile and draw(st.booleans()),
        order_amount=draw(money),
        exposure=draw(money) - draw(money),  # unapplied cash can make it negative
        credit_limit=draw(money) if has_profile else Decimal("0"),
        oldest_overdue_days=draw(st.integers(min_value=0, max_value=400)),
        overdue_amount=draw(money),
        approved_until=draw(
            st.none() | st.dates(TODAY - datetime.timedelta(days=400), TODAY + datetime.timedelta(days=400))
        ),
        group_exposure=draw(money) if with_group else None,
        group_limit=draw(money) if with_group else None,
    )
    rules = Rules(
        max_days_overdue=draw(st.integers(min_value=0, max_value=120)),
        max_overdue_amount=draw(money),
        require_current_approval=draw(st.booleans()),
        check_group=draw(st.booleans()),
    )
    return figures, rules


def failing_rules(f: Figures, r: Rules) -> set[str]:
    """The rules written once more, independently, as the credit team states them."""
    failed = set()
    if f.application_pending:
        failed.add(policy.APPLICATION_PENDING)
    elif not f.has_profile:
        failed.add(policy.PROFILE)
    if f.has_profile and not f.exposure + f.order_amount <= f.credit_limit:
        failed.add(policy.LIMIT)
    if r.check_group and f.group_limit is not None and not f.group_exposure + f.order_amount <= f.group_limit:
        failed.add(policy.GROUP_LIMIT)
    if not f.oldest_overdue_days <= r.max_days_overdue:
        failed.add(policy.OVERDUE_DAYS)
    if not (f.overdue_amount == 0 or f.overdue_amount < r.max_overdue_amount):
        failed.add(policy.OVERDUE_AMOUNT)
    if r.require_current_approval and f.has_profile and f.approved_until is not None and f.approved_until < f.on:
        failed.add(policy.APPROVAL)
    return failed


@settings(max_examples=500)
@given(cases())
def test_approve_exactly_when_every_rule_passes_and_a_hold_lists_each_failed_rule(case):
    figures, rules = case
    evaluation = evaluate(figures, rules)
    expected = failing_rules(figures, rules)
    assert (evaluation.outcome == policy.APPROVE) == (not expected)
    assert set(evaluation.failed_rules) == expected
    assert len(evaluation.failed_rules) == len(set(evaluation.failed_rules))  # each once
    assert len(evaluation.reasons) == len(expected) and all(reason.strip() for reason in evaluation.reasons)


@settings(max_examples=200)
@given(cases(), money)
def test_a_smaller_order_is_never_treated_worse(case, less):
    """Monotonic: taking money off the order never adds a failed rule."""
    figures, rules = case
    smaller = Figures(**{**figures.__dict__, "order_amount": max(figures.order_amount - less, Decimal("0"))})
    assert set(evaluate(smaller, rules).failed_rules) <= set(evaluate(figures, rules).failed_rules)


RULES = Rules(max_days_overdue=30, max_overdue_amount=Decimal("10000.00"))


def figures(**changes) -> Figures:
    base = dict(
        on=TODAY,
        currency="EUR",
        has_profile=True,
        application_pending=False,
        order_amount=Decimal("2000.00"),
        exposure=Decimal("7000.00"),
        credit_limit=Decimal("10000.00"),
        oldest_overdue_days=0,
        overdue_amount=Decimal("0.00"),
        approved_until=None,
    )
    return Figures(**(base | changes))


def test_worked_examples():
    # 7,000 + 2,000 = 9,000 within 10,000, nothing overdue, no expiry: approved
    assert evaluate(figures(), RULES).outcome == "approve"
    # exactly at the limit still passes: 8,000 + 2,000 = 10,000
    assert evaluate(figures(exposure=Decimal("8000.00")), RULES).outcome == "approve"
    # one cent over: held, with the sum written out
    held = evaluate(figures(exposure=Decimal("8000.01")), RULES)
    assert held.failed_rules == ["limit"]
    assert held.reasons == [
        "Credit limit exceeded: exposure 8,000.01 EUR + this order 2,000.00 EUR = 10,000.01 EUR, limit 10,000.00 EUR."
    ]
    # 31 days overdue, 10,000 overdue and approval expired yesterday: three reasons at once
    three = evaluate(
        figures(
            oldest_overdue_days=31,
            overdue_amount=Decimal("10000.00"),
            approved_until=TODAY - datetime.timedelta(days=1),
        ),
        RULES,
    )
    assert three.failed_rules == ["overdue_days", "overdue_amount", "approval"]
    assert three.reasons[0] == "Overdue: an invoice is 31 days past due (more than 30 allowed)."
    assert "expired on 22 Nov 2026" in three.reasons[2]
    # 30 days overdue and 9,999.99 overdue: both within policy
    assert evaluate(figures(oldest_overdue_days=30, overdue_amount=Decimal("9999.99")), RULES).approved
    # first-time customer, application pending
    pending = evaluate(figures(has_profile=False, application_pending=True, credit_limit=Decimal("0")), RULES)
    assert pending.failed_rules == ["application_pending"]
    assert pending.reasons == ["Credit application pending: the order waits for the credit manager's decision."]
    # the group: 40,000 + 2,000 over a 41,000 group limit
    group = evaluate(figures(group_exposure=Decimal("40000.00"), group_limit=Decimal("41000.00")), RULES)
    assert group.failed_rules == ["group_limit"]
