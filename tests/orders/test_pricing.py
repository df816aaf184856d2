"""Pricing: price_for's precedence (price list with quantity breaks and validity dates, list
price per currency, the product's price), discount rounding, discount limits per role, price
overrides (permission and reason), and prices and terms taken at submit."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth.models import Group
from hypothesis import given
from hypothesis import strategies as st

from o2c import flow
from o2c.core import roles
from orders import services
from orders.models import DiscountLimit, PaymentTerms, PriceList, PriceListItem, ProductPrice, SalesOrder
from orders.pricing import discounted_unit_price, price_for
from orders.services import LineInput, OrderError
from tests.core.factories import CLERK
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

D = Decimal
JAN, MAR, JUL = datetime.date(2026, 1, 1), datetime.date(2026, 3, 1), datetime.date(2026, 7, 1)


@pytest.fixture
def world(db):
    key = PriceList.objects.create(code="KEY", name="Key accounts", currency="EUR")
    widget = ProductFactory(sku="W", unit_price=D("10.00"), unit="pc")
    other = ProductFactory(sku="O", unit_price=D("5.00"))
    PriceListItem.objects.create(price_list=key, product=widget, min_quantity=1, unit_price=D("9.50"))
    PriceListItem.objects.create(price_list=key, product=widget, min_quantity=10, unit_price=D("9.00"))
    PriceListItem.objects.create(
        price_list=key, product=widget, min_quantity=100, unit_price=D("8.00"), valid_from=JAN, valid_to=datetime.date(2026, 6, 30)
    )  # fmt: skip
    PriceListItem.objects.create(price_list=key, product=widget, min_quantity=1, unit_price=D("7.00"), valid_from=JUL)
    ProductPrice.objects.create(product=widget, currency="USD", unit_price=D("11.00"))
    return {
        "key": key,
        "widget": widget,
        "other": other,
        "listed": CustomerFactory(price_list=key),
        "plain": CustomerFactory(),
        "usd": CustomerFactory(currency="USD"),
    }


@pytest.mark.parametrize(
    ("customer", "product", "quantity", "on", "price", "source"),
    [
        ("listed", "widget", "1", MAR, "9.50", "price list KEY"),
        ("listed", "widget", "9.999", MAR, "9.50", "price list KEY"),
        ("listed", "widget", "10", MAR, "9.00", "price list KEY from 10 pc"),
        ("listed", "widget", "100", MAR, "8.00", "price list KEY from 100 pc"),
        ("listed", "widget", "100", datetime.date(2026, 6, 30), "8.00", "price list KEY from 100 pc"),  # inclusive
        ("listed", "widget", "100", datetime.date(2025, 12, 31), "9.00", "price list KEY from 10 pc"),  # not yet
        ("listed", "widget", "1", JUL, "7.00", "price list KEY"),  # the later valid_from wins a tie
        ("listed", "other", "1", MAR, "5.00", "list price"),  # not on the list
        ("plain", "widget", "100", MAR, "10.00", "list price"),
        ("usd", "widget", "1", MAR, "11.00", "list price USD"),
        ("usd", "other", "1", MAR, None, None),  # no USD price at all
    ],
)
def test_price_for(world, customer, product, quantity, on, price, source):
    found = price_for(world[customer], world[product], D(quantity), on)
    if price is None:
        assert found is None
    else:
        assert (found.unit_price, found.source) == (D(price), source)


def test_an_inactive_price_list_is_ignored(world):
    PriceList.objects.filter(pk=world["key"].pk).update(is_active=False)
    world["listed"].refresh_from_db()
    assert price_for(world["listed"], world["widget"], D("10"), MAR).source == "list price"


@pytest.mark.parametrize(
    ("list_price", "discount", "charged"),
    [("10.00", "0", "10.00"), ("10.00", "5", "9.50"), ("9.99", "12.5", "8.74"), ("0.05", "10", "0.05"),
     ("0.05", "50", "0.03"), ("123.45", "100", "0.00"), ("19.99", "33.33", "13.33")],
)  # fmt: skip
def test_discounted_unit_price_table(list_price, discount, charged):
    # 9.99 x 0.875 = 8.74125 -> 8.74; 0.05 x 0.5 = 0.025 -> 0.03 (half up); 19.99 x 0.6667 = 13.327333 -> 13.33
    assert discounted_unit_price(D(list_price), D(discount), "EUR") == D(charged)


@given(
    st.decimals(min_value=0, max_value=100000, places=2),
    st.decimals(min_value=0, max_value=100, places=2),
    st.decimals(min_value=0, max_value=100, places=2),
)
def test_discounted_unit_price_properties(list_price, d1, d2):
    low, high = sorted([d1, d2])
    charged = discounted_unit_price(list_price, low, "EUR")
    assert charged == (list_price * (100 - low) / 100).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert D("0") <= charged <= list_price
    assert discounted_unit_price(list_price, high, "EUR") <= charged  # more discount never costs more
    assert charged.as_tuple().exponent == -2


# --- discounts and overrides at order entry --------------------------------------------------------
@pytest.fixture
def shop(world, staff):
    customer = world["plain"]
    credit_limit(customer, "1000000")
    stock(world["widget"], "1000")
    DiscountLimit.objects.create(group=Group.objects.get(name=roles.ORDER_CLERK), max_percent=D("5"))
    return customer


def order(customer, by, line: LineInput) -> SalesOrder:
    return flow.submit_order(by=by, customer_account=customer.account_number, lines=[line])


def test_a_discount_within_the_role_limit_is_given(shop, staff):
    placed = order(shop, staff(CLERK), LineInput("W", "3", discount_percent="5"))
    line = placed.lines.get()
    assert (line.list_price, line.discount_percent, line.unit_price, line.net_amount) == (
        D("10.00"), D("5"), D("9.50"), D("28.50")
    )  # fmt: skip
    assert placed.net_amount == D("28.50") and placed.total == D("34.49")  # 28.50 + 21% (5.985 -> 5.99)


def test_a_discount_beyond_the_limit_needs_a_manager(shop, staff):
    with pytest.raises(OrderError) as refused:
        order(shop, staff(CLERK), LineInput("W", "3", discount_percent="10"))
    assert refused.value.problems == [("line 1", "discount", "10% is above your limit of 5%; a manager must give it")]
    manager = staff(roles.FINANCE_MANAGER)
    with pytest.raises(OrderError) as no_reason:
        order(shop, manager, LineInput("W", "3", discount_percent="10"))
    assert no_reason.value.problems == [
        ("line 1", "override_reason", "say why the price or discount differs from the list")
    ]
    placed = order(shop, manager, LineInput("W", "3", discount_percent="10", override_reason="Launch deal"))
    line = placed.lines.get()
    assert (line.unit_price, line.override_reason) == (D("9.00"), "Launch deal")
    assert SalesOrder.objects.count() == 1


def test_a_price_override_needs_the_permission_and_a_reason(shop, staff):
    with pytest.raises(OrderError) as refused:
        order(shop, staff(CLERK), LineInput("W", "1", unit_price="8.00"))
    assert refused.value.problems == [
        (
            "line 1",
            "unit_price",
            "8.00 differs from the price list (the price list says 10.00); only a manager may override",
        )
    ]
    placed = order(
        shop, staff(roles.FINANCE_MANAGER), LineInput("W", "1", unit_price="8.00", override_reason="Damaged box")
    )
    line = placed.lines.get()
    assert (line.unit_price, line.price_source, line.override_reason) == (D("8.00"), "override", "Damaged box")
    # the same price as the list is no override
    same = order(shop, staff(CLERK), LineInput("W", "1", unit_price="10.00"))
    assert same.lines.get().price_source == "list price"


def test_prices_and_terms_are_taken_at_submit(world, staff):
    customer = world["listed"]
    PriceListItem.objects.filter(valid_from=JUL).delete()  # today is after July: keep the undated price
    credit_limit(customer, "1000000")
    stock(world["widget"], "100")
    draft = services.create_order(
        customer_account=customer.account_number, lines=[LineInput("W", "2")], by=staff(CLERK)
    )
    assert draft.lines.get().unit_price == D("9.50") and draft.payment_terms is None
    PriceListItem.objects.filter(price_list=world["key"], min_quantity=1, valid_from=None).update(unit_price=D("9.25"))
    slower, _ = PaymentTerms.objects.get_or_create(code="NET60", defaults={"name": "60 days", "net_days": 60})
    customer.payment_terms = slower
    customer.save()
    submitted = flow.submit_draft(order=draft, by=staff(CLERK))
    line = submitted.lines.get()
    assert (line.list_price, line.unit_price, line.net_amount) == (D("9.25"), D("9.25"), D("18.50"))
    assert submitted.net_amount == D("18.50") and submitted.payment_terms == slower
    assert submitted.status == SalesOrder.Status.APPROVED
