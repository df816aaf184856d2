"""The desk pages that walk one order through the stages (o2c/views.py)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from o2c import flow
from orders.models import Customer, SalesOrder
from orders.services import LineInput, OrderError
from receivables.models import JournalEntry, Payment
from tests.core.factories import AR, CLERK, CREDIT, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    customer = CustomerFactory(account_number="C-1")
    credit_limit(customer)
    stock(ProductFactory(sku="W-1", unit_price=Decimal("12.50")), "10")
    ProductFactory(sku="NOPRICE", unit_price=None)
    ProductFactory(sku="OLD", is_active=False)
    return customer


@pytest.mark.parametrize(
    ("lines", "account", "expected"),
    [
        ([LineInput("NOPRICE", "1")], "C-1", ("line 1", "price", "NOPRICE has no price; ask for one to be set")),
        ([LineInput("W-1", "1"), LineInput("W-1", "0")], "C-1", ("line 2", "quantity", "must be greater than zero")),
        ([LineInput("W-1", "1"), LineInput("W-1", "-3")], "C-1", ("line 2", "quantity", "must be greater than zero")),
        ([LineInput("W-1", "abc")], "C-1", ("line 1", "quantity", "'abc' is not a number")),
        ([LineInput("NOPE", "1")], "C-1", ("line 1", "product", "unknown product 'NOPE'")),
        ([LineInput("OLD", "1")], "C-1", ("line 1", "product", "OLD is no longer sold (inactive)")),
        ([], "C-1", ("order", "lines", "add at least one line")),
        ([LineInput("W-1", "1")], "C-404", ("order", "customer", "no customer with account number 'C-404'")),
    ],
)
def test_bad_orders_are_refused_naming_line_and_field_and_nothing_is_saved(catalogue, staff, lines, account, expected):
    with pytest.raises(OrderError) as refused:
        flow.submit_order(by=staff(CLERK), customer_account=account, lines=lines)
    assert expected in refused.value.problems
    assert SalesOrder.objects.count() == 0


def test_inactive_customer_is_refused(catalogue, staff):
    Customer.objects.filter(pk=catalogue.pk).update(is_active=False, blocked_reason="insolvent")
    with pytest.raises(OrderError) as refused:
        flow.submit_order(by=staff(CLERK), customer_account="C-1", lines=[LineInput("W-1", "1")])
    assert refused.value.problems == [
        ("order", "customer", f"{catalogue.name} is inactive (insolvent); orders cannot be taken")
    ]
    assert SalesOrder.objects.count() == 0


def test_order_page_refuses_bad_lines_keeps_the_data_and_saves_nothing(catalogue, staff, client):
    client.force_login(staff(CLERK))
    response = client.post(
        reverse("desk:order_new"),
        {
            "customer_account": "C-1",
            "customer_po": "PO-77",
            "sku": ["W-1", "NOPE"],
            "quantity": ["2", "0"],
            "action": "submit",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Line 2, product: unknown product &#x27;NOPE&#x27;" in page
    assert "Line 2, quantity: must be greater than zero" in page
    assert 'value="PO-77"' in page and 'value="NOPE"' in page  # nothing the clerk typed is lost
    assert SalesOrder.objects.count() == 0


def test_order_page_recalculates_lines_with_htmx(catalogue, staff, client):
    client.force_login(staff(CLERK))
    response = client.post(
        reverse("desk:order_new"),
        {"customer_account": "C-1", "sku": ["W-1"], "quantity": ["3"], "action": "add"},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert "<html" not in page  # only the lines fragment
    assert page.count('name="sku"') == 2  # the typed line plus the added one
    assert "45.38 EUR" in page  # 3 x 12.50 = 37.50 + 21% 7.88
    assert "10 available" in page


def test_order_page_submits_and_shows_the_credit_decision(catalogue, staff, client):
    client.force_login(staff(CLERK))
    response = client.post(
        reverse("desk:order_new"),
        {"customer_account": "C-1", "sku": ["W-1", ""], "quantity": ["2", "1"], "action": "submit"},
        follow=True,
    )
    order = SalesOrder.objects.get()
    assert response.redirect_chain[-1][0] == reverse("desk:order_detail", args=[order.pk])
    assert f"Order {order.number} submitted and approved" in response.content.decode()


def test_pages_need_login_and_the_role_permission(catalogue, staff, client):
    url = reverse("desk:order_new")
    assert client.get(url).status_code == 302
    client.force_login(staff(WAREHOUSE))
    response = client.get(url)
    assert response.status_code == 403
    assert "orders.add_salesorder" in response.content.decode()


def test_credit_manager_releases_from_the_queue_and_warehouse_ships(catalogue, staff, client):
    catalogue.credit_profile.credit_limit = Decimal("1.00")
    catalogue.credit_profile.save()
    order = flow.submit_order(by=staff(CLERK), customer_account="C-1", lines=[LineInput("W-1", "2")])
    assert order.status == SalesOrder.Status.CREDIT_HOLD

    client.force_login(staff(CREDIT))
    queue = client.get(reverse("credit:holds")).content.decode()
    assert order.number in queue and "Credit limit exceeded" in queue
    missing_reason = client.post(
        reverse("desk:credit_decision", args=[order.pk]),
        {"decision": "release", "reason": "", "from": "queue"},
        headers={"HX-Request": "true"},
    )
    assert "Reason: This field is required." in missing_reason.content.decode()
    client.post(reverse("desk:credit_decision", args=[order.pk]), {"decision": "release", "reason": "Paid upfront"})
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.APPROVED

    client.force_login(staff(WAREHOUSE))
    response = client.post(reverse("desk:ship_order", args=[order.pk]), {"carrier": "DHL"}, follow=True)
    assert "shipped and invoice INV-" in response.content.decode()
    assert order.invoices.get().total == Decimal("30.25")


def test_payment_form_posted_twice_records_one_payment(catalogue, staff, client):
    order = flow.submit_order(by=staff(CLERK), customer_account="C-1", lines=[LineInput("W-1", "2")])
    invoice = flow.ship(order=order, by=staff(WAREHOUSE))
    client.force_login(staff(AR))
    data = {
        "amount": "30.25",
        "value_date": "2026-11-20",
        "method": "transfer",
        "reference": "x",
        "idempotency_key": "k-1",
    }
    first = client.post(reverse("desk:record_payment", args=[invoice.pk]), data)
    second = client.post(reverse("desk:record_payment", args=[invoice.pk]), data)
    assert first.status_code == second.status_code == 302
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(kind="payment").count() == 1
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.COMPLETED


def test_overpayment_is_refused_with_a_message(catalogue, staff, client):
    order = flow.submit_order(by=staff(CLERK), customer_account="C-1", lines=[LineInput("W-1", "2")])
    invoice = flow.ship(order=order, by=staff(WAREHOUSE))
    client.force_login(staff(AR))
    data = {"amount": "0", "value_date": "2026-11-20", "method": "transfer", "idempotency_key": "k-2"}
    response = client.post(reverse("desk:record_payment", args=[invoice.pk]), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0.01" in response.content.decode()
    assert Payment.objects.count() == 0


def test_order_page_queries_do_not_grow_with_lines(catalogue, staff, client, django_assert_max_num_queries):
    for n in range(20):
        stock(ProductFactory(sku=f"X-{n}"), "5")
    small = flow.submit_order(by=staff(CLERK), customer_account="C-1", lines=[LineInput("W-1", "1")])
    large = flow.submit_order(
        by=staff(CLERK), customer_account="C-1", lines=[LineInput(f"X-{n}", "1") for n in range(20)]
    )
    flow.ship(order=large, by=staff(WAREHOUSE))
    client.force_login(staff(CLERK))
    with django_assert_max_num_queries(24) as small_queries:
        client.get(reverse("desk:order_detail", args=[small.pk]))
    with django_assert_max_num_queries(len(small_queries) + 2):
        assert client.get(reverse("desk:order_detail", args=[large.pk])).status_code == 200


def test_payment_on_a_paid_invoice_is_refused_and_nothing_recorded(catalogue, staff, client):
    order = flow.submit_order(by=staff(CLERK), customer_account="C-1", lines=[LineInput("W-1", "2")])
    invoice = flow.ship(order=order, by=staff(WAREHOUSE))
    flow.receive_payment(invoice=invoice, amount=Decimal("30.25"), value_date=invoice.issue_date, by=staff(AR))
    client.force_login(staff(AR))
    data = {"amount": "5.00", "value_date": "2026-11-20", "method": "transfer", "idempotency_key": "k-3"}
    response = client.post(reverse("desk:record_payment", args=[invoice.pk]), data)
    assert response.status_code == 422
    assert "payments apply only to issued, open invoices" in response.content.decode()
    assert Payment.objects.count() == 1
