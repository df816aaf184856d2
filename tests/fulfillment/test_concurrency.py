"""Real parallel PostgreSQL transactions competing for stock (RELIABILITY.md §2.3, §3)."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection

from fulfillment import selectors
from fulfillment.models import Backorder, Reservation, StockItem
from o2c import flow
from orders.models import SalesOrder
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock, warehouse
from tests.orders.factories import CustomerFactory, ProductFactory
from tests.test_concurrency import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL")


def test_twenty_parallel_approvals_for_ten_units_reserve_exactly_ten(staff, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    product = ProductFactory(sku="HOT-1")
    stock(product, "10")
    customers = [CustomerFactory() for _ in range(20)]
    for customer in customers:
        credit_limit(customer)
    clerk = staff(CLERK)

    def approve(customer):
        return flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("HOT-1", "1")])

    results = run_in_threads(approve, customers)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(order.status == SalesOrder.Status.APPROVED for order in results)
    item = StockItem.objects.get(product=product)
    assert (item.on_hand, item.reserved) == (Decimal("10"), Decimal("10"))
    assert Reservation.objects.filter(stock_item=item, status="active").count() == 10
    assert Backorder.objects.filter(order_line__product=product, status="open").count() == 10
    assert len(mail.outbox) == 10  # each short customer told once
    assert selectors.stock_balances_match_ledger() == []


def test_parallel_receipts_and_approvals_never_oversell(staff):
    product = ProductFactory(sku="HOT-2")
    warehouse()
    customers = [CustomerFactory() for _ in range(10)]
    for customer in customers:
        credit_limit(customer)
    clerk, keeper = staff(CLERK), staff(WAREHOUSE)

    def work(argument):
        if argument is None:
            return flow.receive_stock(warehouse=warehouse(), product=product, quantity=Decimal("3"), by=keeper)
        return flow.submit_order(by=clerk, customer_account=argument.account_number, lines=[LineInput("HOT-2", "2")])

    results = run_in_threads(work, [*customers, None, None])

    assert not [r for r in results if isinstance(r, Exception)], results
    item = StockItem.objects.get(product=product)
    assert item.on_hand == Decimal("6") and item.reserved <= item.on_hand  # nothing oversold
    backordered = sum(b.quantity for b in Backorder.objects.filter(order_line__product=product, status="open"))
    assert item.reserved + backordered == Decimal("20")  # every unit ordered is either reserved or waiting
    assert selectors.stock_balances_match_ledger() == []
