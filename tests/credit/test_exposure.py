"""Exposure = open receivables + shipped-not-invoiced + approved-not-shipped - unapplied cash,
in the limit's currency, computed by the database: checked against the definition on random
books (hypothesis), with a worked example and the missing-rate message."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit import selectors
from credit.models import ExchangeRate
from o2c.core.money import round_money
from tests.credit.builders import approved_order, open_invoice, unapplied_payment
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

USD_EUR = Decimal("0.9")
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000"), places=2)
currencies = st.sampled_from(["EUR", "USD"])


class Rollback(Exception):
    pass


@st.composite
def books(draw):
    invoices = draw(
        st.lists(
            st.tuples(currencies, st.sampled_from(["invoice", "credit_note"]), amounts, st.integers(0, 100)), max_size=5
        )
    )
    payments = draw(st.lists(st.tuples(currencies, amounts, st.integers(0, 100)), max_size=4))
    orders = draw(
        st.lists(
            st.tuples(currencies, amounts, st.integers(1, 5), st.integers(0, 5), st.booleans()).map(
                lambda t: (t[0], t[1], t[2], min(t[3], t[2]), t[4])
            ),
            max_size=4,
        )
    )
    return invoices, payments, orders


def part(amount: Decimal, percent: int) -> Decimal:
    return round_money(amount * percent / 100)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(books())
def test_exposure_equals_its_definition_in_the_limit_currency(db, book):
    invoices, payments, orders = book
    expected: dict[tuple[str, str], Decimal] = {}

    def add(key_part, currency, amount):
        expected[(key_part, currency)] = expected.get((key_part, currency), Decimal("0")) + amount

    try:
        with transaction.atomic():
            ExchangeRate.objects.create(
                from_currency="USD", to_currency="EUR", rate=USD_EUR, valid_from=timezone.localdate()
            )
            customer, other = CustomerFactory(), CustomerFactory()
            product = ProductFactory()
            for currency, kind, total, percent_open in invoices:
                open_amount = part(total, percent_open)
                open_invoice(customer, total=str(total), open_amount=str(open_amount), currency=currency, kind=kind)
                if open_amount > 0:
                    add("open_receivables", currency, -open_amount if kind == "credit_note" else open_amount)
            for currency, amount, percent_applied in payments:
                applied = part(amount, percent_applied)
                unapplied_payment(customer, amount=str(amount), applied=str(applied), currency=currency)
                add("unapplied_cash", currency, amount - applied)
            for currency, price, quantity, shipped, billed in orders:
                approved_order(
                    customer,
                    product,
                    price=str(price),
                    quantity=quantity,
                    shipped=shipped,
                    billed=billed,
                    currency=currency,
                )
                add("approved_not_shipped", currency, price * (quantity - shipped))
                if shipped and billed:
                    add("open_receivables", currency, price * shipped)
                elif shipped:
                    add("shipped_not_invoiced", currency, price * shipped)
            # another customer's books never count
            open_invoice(other, total="999.00")
            unapplied_payment(other, amount="5.00")

            exposure = selectors.exposure_of(customer, currency="EUR", on=timezone.localdate())

            for name in selectors.PARTS:
                want = sum(
                    (round_money(v * (USD_EUR if c == "USD" else 1)) for (p, c), v in expected.items() if p == name),
                    Decimal("0"),
                )
                assert getattr(exposure, name) == want, name
            assert exposure.total == (
                exposure.open_receivables
                + exposure.shipped_not_invoiced
                + exposure.approved_not_shipped
                - exposure.unapplied_cash
            )
            raise Rollback
    except Rollback:
        pass


def test_worked_example_and_group(db):
    parent = CustomerFactory()
    child = CustomerFactory(parent=parent)
    product = ProductFactory()
    open_invoice(child, total="1000.00", open_amount="400.00")  # 400 open
    unapplied_payment(child, amount="150.00")  # -150
    approved_order(child, product, price="10.00", quantity=10, shipped=4)  # 60 approved + 40 shipped not billed
    approved_order(parent, product, price="100.00", quantity=1)  # parent's own 100
    exposure = selectors.exposure_of(child, currency="EUR", on=timezone.localdate())
    assert (exposure.open_receivables, exposure.shipped_not_invoiced, exposure.approved_not_shipped) == (
        Decimal("400.00"),
        Decimal("40.00"),
        Decimal("60.00"),
    )
    assert exposure.unapplied_cash == Decimal("150.00")
    assert exposure.total == Decimal("350.00")  # 400 + 40 + 60 - 150
    parent_id, members = selectors.group_ids(child)
    assert parent_id == parent.pk and sorted(members) == sorted([parent.pk, child.pk])
    group = selectors.group_exposure_of(members, currency="EUR", rates=selectors.Rates(timezone.localdate()))
    assert group.total == Decimal("450.00")


def test_a_missing_rate_is_named(db):
    customer = CustomerFactory()
    open_invoice(customer, total="100.00", currency="GBP")
    with pytest.raises(selectors.MissingRate) as error:
        selectors.exposure_of(customer, currency="EUR", on=datetime.date(2026, 11, 23))
    assert "No exchange rate from GBP to EUR valid on 23 Nov 2026" in error.value.message
    # the inverse rate serves too
    ExchangeRate.objects.create(
        from_currency="EUR", to_currency="GBP", rate=Decimal("0.80"), valid_from=datetime.date(2026, 1, 1)
    )
    exposure = selectors.exposure_of(customer, currency="EUR", on=datetime.date(2026, 11, 23))
    assert exposure.open_receivables == Decimal("125.00")
