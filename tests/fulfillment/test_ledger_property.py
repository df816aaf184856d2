"""Property: whatever sequence of receipts, reservations, shipments, releases, returns and
adjustments happens, on hand is never negative, reserved never exceeds on hand, and the
ledger's sums equal the balances. Refused steps change nothing."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fulfillment import selectors
from fulfillment import services as fulfillment
from fulfillment.models import Reservation, StockItem, StockMovement
from o2c import flow
from o2c.core.errors import DomainError
from orders.models import SalesOrder
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import warehouse
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

quantity = st.integers(min_value=1, max_value=9).map(Decimal)
step = st.one_of(
    st.tuples(st.just("receive"), st.sampled_from(["P-0", "P-1"]), quantity),
    st.tuples(st.just("order"), st.sampled_from(["P-0", "P-1"]), quantity),
    st.tuples(st.just("ship"), st.integers(0, 20), quantity),
    st.tuples(st.just("release"), st.integers(0, 20), quantity),
    st.tuples(st.just("return"), st.integers(0, 20), quantity),
    st.tuples(st.just("adjust"), st.sampled_from(["P-0", "P-1"]), st.integers(-9, 9).map(Decimal)),
)


@pytest.fixture
def world(staff):
    main = warehouse()
    products = {sku: ProductFactory(sku=sku) for sku in ("P-0", "P-1")}
    customer = CustomerFactory()
    credit_limit(customer, "100000000.00")
    return {"main": main, "products": products, "customer": customer, "clerk": staff(CLERK), "wh": staff(WAREHOUSE)}


def check_invariants():
    for item in StockItem.objects.all():
        assert item.on_hand >= 0
        assert 0 <= item.reserved <= item.on_hand
        active = sum(r.quantity for r in Reservation.objects.filter(stock_item=item, status="active"))
        assert item.reserved == active  # reserved is exactly what active reservations hold
    assert selectors.stock_balances_match_ledger() == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_random_sequences_keep_the_stock_invariants(world, steps):
    orders: list[SalesOrder] = []
    shipped_lines = []
    for kind, target, amount in steps:
        before = StockMovement.objects.count()
        try:
            if kind == "receive":
                flow.receive_stock(
                    warehouse=world["main"], product=world["products"][target], quantity=amount, by=world["wh"]
                )
            elif kind == "order":
                orders.append(
                    flow.submit_order(
                        by=world["clerk"],
                        customer_account=world["customer"].account_number,
                        lines=[LineInput(target, str(amount))],
                    )
                )
            elif kind == "ship" and orders:
                order = orders[target % len(orders)]
                invoice = flow.ship(order=order, by=world["wh"])
                shipped_lines.extend(invoice.shipment.lines.all())
            elif kind == "release" and orders:
                fulfillment.release_order(order=orders[target % len(orders)], reason="Cancelled by the customer")
            elif kind == "return" and shipped_lines:
                line = shipped_lines[target % len(shipped_lines)]
                rma = fulfillment.authorise_return(
                    customer=world["customer"], lines=[(line, min(amount, line.quantity))], reason="Not needed"
                )
                return_line = rma.lines.get()
                flow.receive_return(
                    rma=rma, received={return_line.pk: (return_line.quantity, "restock")}, by=world["wh"]
                )
            elif kind == "adjust" and amount != 0:
                fulfillment.adjust_stock(
                    warehouse=world["main"], product=world["products"][target], change=amount, reason="Count"
                )
        except DomainError:
            assert StockMovement.objects.count() == before  # refused: nothing recorded
        check_invariants()
