"""Real parallel PostgreSQL transactions (RELIABILITY.md §3, §4, §2.3): no gap, no duplicate,
no oversell, no over-application."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from fulfillment.models import Reservation, StockItem
from invoicing import services as invoicing
from invoicing.models import Invoice
from invoicing.services import InvoicingError
from o2c import flow
from o2c.core import numbering
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL")


def run_in_threads(target, arguments):
    """Start one thread per argument at the same moment; collect results or exceptions."""
    barrier = threading.Barrier(len(arguments))
    results = [None] * len(arguments)

    def work(index, argument):
        try:
            barrier.wait()
            results[index] = target(argument)
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_parallel_issuers_get_consecutive_numbers_and_aborts_leave_no_gap():
    def issue(attempt):
        with transaction.atomic():
            number = numbering.next_number(prefix="TST", year=2026)
            if attempt % 5 == 0:
                raise RuntimeError("rolled back after drawing a number")
            return number

    results = run_in_threads(issue, list(range(1, 41)))
    numbers = sorted(r for r in results if isinstance(r, str))
    aborted = [r for r in results if isinstance(r, RuntimeError)]
    assert len(aborted) == 8
    assert numbers == [f"TST-2026-{n:06d}" for n in range(1, 33)]  # 32 committed, 1..32, no gap


def test_two_orders_racing_for_the_last_unit_one_reserves_it(staff):
    product = ProductFactory(sku="LAST-1")
    stock(product, "1")
    customers = [CustomerFactory(), CustomerFactory()]
    for customer in customers:
        credit_limit(customer)
    clerk = staff(CLERK)

    def order_for(customer):
        return flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput("LAST-1", "1")])

    results = run_in_threads(order_for, customers)
    assert not [r for r in results if isinstance(r, Exception)], results
    item = StockItem.objects.get(product=product)
    assert (item.on_hand, item.reserved) == (Decimal("1"), Decimal("1"))
    assert Reservation.objects.filter(order_line__product=product).count() == 1


def test_payments_racing_for_one_invoice_never_take_it_below_zero(staff):
    customer = CustomerFactory()
    credit_limit(customer)
    product = ProductFactory(sku="P-100", unit_price=Decimal("100.00"), tax_rate=Decimal("0"))
    stock(product, "1")
    order = flow.submit_order(
        by=staff(CLERK), customer_account=customer.account_number, lines=[LineInput("P-100", "1")]
    )
    invoice = flow.ship(order=order, by=staff(WAREHOUSE))

    def apply(amount):
        with transaction.atomic():
            return invoicing.reduce_open_amount(invoice_id=invoice.pk, amount=Decimal(amount))

    results = run_in_threads(apply, ["60.00", "50.00"])
    refused = [r for r in results if isinstance(r, InvoicingError)]
    assert len(refused) == 1 and "cannot be applied" in str(refused[0])
    invoice.refresh_from_db()
    assert invoice.amount_open in (Decimal("40.00"), Decimal("50.00"))
    assert invoice.status == Invoice.Status.ISSUED
