"""The same form submitted twice (a double click, a retried POST): one effect. The order form
carries an entry key (unique on the order), the payment forms an idempotency key."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from o2c.core.models import NumberSeries
from orders.models import SalesOrder
from tests.core.factories import CLERK
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory


def order_form(key="entry-1"):
    return {"customer_account": "C-1", "sku": ["W-1"], "quantity": ["2"], "action": "submit", "entry_key": key}


@pytest.fixture
def catalogue():
    customer = CustomerFactory(account_number="C-1")
    credit_limit(customer)
    stock(ProductFactory(sku="W-1", unit_price=Decimal("12.50")), "10")
    return customer


@pytest.mark.django_db
def test_order_form_shows_an_entry_key_and_a_double_click_submits_one_order(catalogue, staff, client):
    client.force_login(staff(CLERK))
    page = client.get(reverse("desk:order_new")).content.decode()
    assert 'name="entry_key"' in page

    first = client.post(reverse("desk:order_new"), order_form())
    second = client.post(reverse("desk:order_new"), order_form(), follow=True)
    order = SalesOrder.objects.get()
    assert first.status_code == 302 and first["Location"] == reverse("desk:order_detail", args=[order.pk])
    assert second.redirect_chain[0][0] == reverse("desk:order_detail", args=[order.pk])
    assert f"This order was already saved as {order.number}; it was not saved twice." in second.content.decode()
    assert order.lines.count() == 1
    assert NumberSeries.objects.get(prefix="SO").last_number == 1

    client.post(reverse("desk:order_new"), order_form("entry-2"))  # a new form: a new order
    assert SalesOrder.objects.count() == 2


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_racing_posts_of_one_order_form_save_one_order_and_use_one_number(catalogue, staff):
    if connection.vendor != "postgresql":
        pytest.skip("needs parallel PostgreSQL connections")
    user = staff(CLERK)
    clients = [Client() for _ in range(2)]
    for c in clients:
        c.force_login(user)
    barrier = threading.Barrier(2)
    results = []

    def post(c):
        try:
            barrier.wait()
            results.append(c.post(reverse("desk:order_new"), order_form("race-1")).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [302, 302]
    order = SalesOrder.objects.get()
    assert order.number.endswith("-000001")
    assert NumberSeries.objects.get(prefix="SO").last_number == 1  # the loser's number rolled back
