"""Two orders submitted at the same moment for one customer (or two members of one group)
cannot both be approved automatically when together they exceed the limit: real parallel
PostgreSQL transactions (RELIABILITY.md §7.4)."""

from decimal import Decimal

import pytest
from django.db import connection

from credit import selectors
from o2c import flow
from orders.models import SalesOrder
from orders.services import LineInput
from tests.core.factories import CLERK
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.test_concurrency import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL")


@pytest.fixture
def product(db):
    selectors.current_policy()  # written before the race, so its first insert serialises nothing
    item = ProductFactory(sku="P-600", unit_price=Decimal("600.00"), tax_rate=Decimal("0"))
    stock(item, "100")
    return item


def submit_for(clerk):
    def submit(customer):
        return flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("P-600", "1")])

    return submit


@pytest.mark.parametrize("attempt", range(3))  # repeated: a race that passes once by luck fails here
def test_two_orders_at_once_cannot_both_pass_one_limit(staff, product, attempt):
    customer = CustomerFactory()
    credit_limit(customer, "1000.00")  # each 600 fits alone; together 1,200 do not
    results = run_in_threads(submit_for(staff(CLERK)), [customer, customer])
    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(SalesOrder.objects.filter(customer=customer).values_list("status", flat=True))
    assert statuses == [SalesOrder.Status.APPROVED, SalesOrder.Status.CREDIT_HOLD]
    held = SalesOrder.objects.get(customer=customer, status=SalesOrder.Status.CREDIT_HOLD)
    decision = held.credit_decisions.get()
    # the second saw the first one's approved order in its exposure
    assert decision.approved_not_shipped == Decimal("600.00") and decision.failed_rules == "limit"


def test_two_members_of_a_group_at_once_cannot_both_pass_the_group_limit(staff, product):
    parent = CustomerFactory()
    credit_limit(parent, "1000.00")
    members = [CustomerFactory(parent=parent), CustomerFactory(parent=parent)]
    for member in members:
        credit_limit(member, "5000.00")
    results = run_in_threads(submit_for(staff(CLERK)), members)
    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(SalesOrder.objects.filter(customer__in=members).values_list("status", flat=True))
    assert statuses == [SalesOrder.Status.APPROVED, SalesOrder.Status.CREDIT_HOLD]
    held = SalesOrder.objects.get(customer__in=members, status=SalesOrder.Status.CREDIT_HOLD)
    assert held.credit_decisions.get().failed_rules == "group_limit"


def test_four_parallel_orders_within_the_limit_all_pass(staff, product):
    customer = CustomerFactory()
    credit_limit(customer, "2400.00")  # exactly four
    results = run_in_threads(submit_for(staff(CLERK)), [customer] * 4)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert set(SalesOrder.objects.filter(customer=customer).values_list("status", flat=True)) == {"approved"}


def test_the_profile_lock_alone_serialises_the_decisions(staff, product):
    """The same race without the order-number lock of submit (which also happens to serialise
    the flow): orders already submitted, decided in parallel, each transaction kept open a
    moment after approving, as the reservation step does. Only the profile lock prevents two
    approvals here (remove it and this test fails)."""
    import time

    from django.db import transaction

    from credit import services as credit
    from orders import services as orders

    customer = CustomerFactory()
    credit_limit(customer, "1000.00")
    clerk = staff(CLERK)
    submitted = []
    for _ in range(2):
        order = orders.create_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("P-600", "1")])
        with transaction.atomic():
            submitted.append(orders.submit_order(order=order, by=clerk))

    def decide(order):
        with transaction.atomic():
            decision = credit.decide_order(order=order)
            if decision.outcome == "approved":
                orders.approve_order(order=order)
            else:
                orders.hold_order(order=order, reasons=decision.reason_list)
            time.sleep(0.3)
        return decision.outcome

    results = run_in_threads(decide, submitted)
    assert sorted(results) == ["approved", "held"], results


def test_the_group_parent_lock_serialises_two_members(staff, product):
    """Two members of one group, each well within its own limit, decided at once: the lock on
    the group parent's profile (taken with the member's, in id order) lets only one pass the
    group limit (remove it and both pass)."""
    import time

    from django.db import transaction

    from credit import services as credit
    from orders import services as orders

    parent = CustomerFactory()
    credit_limit(parent, "1000.00")
    members = [CustomerFactory(parent=parent), CustomerFactory(parent=parent)]
    for member in members:
        credit_limit(member, "5000.00")
    clerk = staff(CLERK)
    submitted = []
    for member in members:
        order = orders.create_order(by=clerk, customer_account=member.account_number, lines=[LineInput("P-600", "1")])
        with transaction.atomic():
            submitted.append(orders.submit_order(order=order, by=clerk))

    def decide(order):
        with transaction.atomic():
            decision = credit.decide_order(order=order)
            if decision.outcome == "approved":
                orders.approve_order(order=order)
            time.sleep(0.3)
        return decision.outcome, decision.failed_rules

    results = run_in_threads(decide, submitted)
    assert sorted(results) == [("approved", ""), ("held", "group_limit")], results
