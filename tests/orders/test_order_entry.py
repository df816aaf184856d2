"""Sales orders beyond the first submit: drafts saved and edited, ship-to addresses checked,
a duplicate PO warned about, cancel with a reason, copy into a new draft, per-line progress on
the order page, and the order list's sortable columns."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from o2c import flow
from o2c.core.models import TimelineEvent
from orders.models import Address, SalesOrder
from orders.services import LineInput
from tests.core.factories import CLERK, WAREHOUSE
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db
NEW = reverse("desk:order_new")


@pytest.fixture
def shop(db):
    customer = CustomerFactory(account_number="C-1")
    credit_limit(customer, "100000")
    stock(ProductFactory(sku="W-1", unit_price=Decimal("10.00")), "100")
    stock(ProductFactory(sku="W-2", unit_price=Decimal("4.00")), "100")
    return customer


@pytest.fixture
def clerk(staff, client):
    user = staff(CLERK)
    client.force_login(user)
    return user


def entry(**extra) -> dict:
    return {"customer_account": "C-1", "customer_po": "", "requested_date": "", "notes": "", "sku": ["W-1"], "quantity": ["2"]} | extra  # fmt: skip


def test_a_draft_is_saved_edited_and_submitted(client, clerk, shop):
    response = client.post(NEW, entry(action="draft", channel="phone"))
    draft = SalesOrder.objects.get()
    assert response.url == reverse("desk:order_detail", args=[draft.pk])
    assert (draft.status, draft.number, draft.channel) == ("draft", None, "phone")
    assert not draft.lines.get().reservations.exists()
    page = client.get(reverse("desk:order_detail", args=[draft.pk])).content.decode()
    assert 'id="edit-draft"' in page and 'id="cancel-form"' in page

    edit = reverse("desk:order_edit", args=[draft.pk])
    form = client.get(edit).content.decode()
    assert 'value="W-1"' in form and 'value="2"' in form and "readonly" in form
    client.post(edit, entry(action="draft", sku=["W-1", "W-2"], quantity=["3", "1"], customer_po="PO-7"))
    draft.refresh_from_db()
    assert [(line.product.sku, line.quantity) for line in draft.lines.all()] == [("W-1", 3), ("W-2", 1)]
    assert draft.net_amount == Decimal("34.00") and draft.customer_po == "PO-7"
    assert TimelineEvent.objects.filter(trail=draft.trail, verb="edited").exists()

    client.post(edit, entry(action="submit", sku=["W-1", "W-2"], quantity=["3", "1"], customer_po="PO-7"))
    draft.refresh_from_db()
    assert draft.status == SalesOrder.Status.APPROVED and draft.number.startswith("SO-")
    assert draft.payment_terms == shop.payment_terms
    assert client.get(edit).status_code == 302  # no longer a draft: back to the order page


def test_ship_to_must_be_a_complete_shipping_address_of_the_customer(client, clerk, shop):
    good = Address.objects.create(customer=shop, label="Ghent", address_line="Dok 1", postal_code="9000", city="Gent")
    bad = Address.objects.create(customer=shop, label="Unfinished", address_line="", postal_code="", city="Gent")
    page = client.post(NEW, entry(action="recalc"), headers={"HX-Request": "true"}).content.decode()
    assert f'<option value="{good.pk}">Ghent: Dok 1, 9000 Gent, BE</option>' in page
    refused = client.post(NEW, entry(action="submit", ship_to=str(bad.pk)))
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "Ship to: address &#x27;Unfinished&#x27; has no address line" in text
    assert "Ship to: address &#x27;Unfinished&#x27; has no postal code" in text
    assert SalesOrder.objects.count() == 0
    client.post(NEW, entry(action="submit", ship_to=str(good.pk)))
    assert SalesOrder.objects.get().ship_to == good


def test_a_po_used_before_is_a_warning(client, clerk, shop):
    first = flow.submit_order(by=clerk, customer_account="C-1", lines=[LineInput("W-1", "1")], customer_po="PO-1")
    page = client.post(NEW, entry(action="recalc", customer_po="po-1"), headers={"HX-Request": "true"}).content
    assert f'PO po-1 is already on <a href="/desk/orders/{first.pk}/">{first.number}</a>' in page.decode()
    client.post(NEW, entry(action="submit", customer_po="PO-1"))
    assert SalesOrder.objects.filter(customer_po="PO-1").count() == 2  # a warning, not a refusal


def test_cancel_needs_a_reason_and_stops_once_shipped(client, clerk, shop, staff):
    draft = flow.orders.create_order(customer_account="C-1", lines=[LineInput("W-1", "1")], by=clerk)
    cancel = reverse("desk:order_cancel", args=[draft.pk])
    client.post(cancel, {"reason": " "})
    draft.refresh_from_db()
    assert draft.status == "draft"
    client.post(cancel, {"reason": "Customer changed their mind"})
    draft.refresh_from_db()
    assert (draft.status, draft.cancel_reason) == ("cancelled", "Customer changed their mind")
    assert TimelineEvent.objects.get(trail=draft.trail, verb="cancelled").note == "Customer changed their mind"
    shipped = flow.submit_order(by=clerk, customer_account="C-1", lines=[LineInput("W-1", "1")])
    flow.ship(order=shipped, by=staff(WAREHOUSE))
    client.post(reverse("desk:order_cancel", args=[shipped.pk]), {"reason": "too late"})
    shipped.refresh_from_db()
    assert shipped.status == "approved"  # shipped: refused (returns and credit notes correct it)


def test_copy_makes_a_new_draft_priced_today(client, clerk, shop):
    original = flow.submit_order(
        by=clerk, customer_account="C-1", lines=[LineInput("W-1", "2"), LineInput("W-2", "5")], notes="Dock 4"
    )
    response = client.post(reverse("desk:order_copy", args=[original.pk]))
    copy = SalesOrder.objects.exclude(pk=original.pk).get()
    assert response.url == reverse("desk:order_edit", args=[copy.pk])
    assert (copy.status, copy.copied_from, copy.notes) == ("draft", original, "Dock 4")
    assert [(line.product.sku, line.quantity) for line in copy.lines.all()] == [("W-1", 2), ("W-2", 5)]


def test_order_page_shows_each_lines_progress(client, clerk, shop, staff):
    order = flow.submit_order(by=clerk, customer_account="C-1", lines=[LineInput("W-1", "2"), LineInput("W-2", "1")])
    flow.ship(order=order, by=staff(WAREHOUSE))
    page = client.get(reverse("desk:order_detail", args=[order.pk])).content.decode()
    assert 'aria-label="Line 1 shipped" aria-valuenow="100"' in page
    assert 'aria-label="Line 1 invoiced" aria-valuenow="100"' in page
    assert 'aria-label="Line 1 paid" aria-valuenow="0"' in page


def test_order_list_sorts_by_total_in_constant_queries(client, clerk, shop):
    for quantity in ("1", "5", "3"):
        flow.submit_order(by=clerk, customer_account="C-1", lines=[LineInput("W-1", quantity)])
    url = reverse("orders:list") + "?sort=-total"
    page = client.get(url).content.decode()
    assert page.index("60.50") < page.index("36.30") < page.index("12.10")  # 50, 30 and 10 net + 21%
    assert 'aria-sort="descending"' in page and "sort=total" in page
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(20):
        flow.submit_order(by=clerk, customer_account="C-1", lines=[LineInput("W-2", "1")])
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)


def test_order_page_takes_a_discount_and_names_the_line_when_it_is_too_big(client, clerk, shop):
    from django.contrib.auth.models import Group

    from o2c.core import roles
    from orders.models import DiscountLimit

    DiscountLimit.objects.create(group=Group.objects.get(name=roles.ORDER_CLERK), max_percent=Decimal("5"))
    lines = {"sku": ["W-1", "W-2"], "quantity": ["2", "1"], "unit_price": ["", ""], "discount_percent": ["", "20"], "override_reason": ["", ""]}  # fmt: skip
    refused = client.post(NEW, entry(action="submit", **lines)).content.decode()
    assert "Line 2, discount: 20% is above your limit of 5%; a manager must give it" in refused
    assert SalesOrder.objects.count() == 0
    lines["discount_percent"] = ["", "5"]
    client.post(NEW, entry(action="submit", **lines))
    line = SalesOrder.objects.get().lines.get(line_number=2)
    assert (line.discount_percent, line.unit_price) == (Decimal("5"), Decimal("3.80"))


def test_a_product_that_is_not_backordered_cannot_be_ordered_beyond_stock(clerk, shop):
    from orders.models import Product

    Product.objects.filter(sku="W-2").update(allow_backorder=False)
    with pytest.raises(flow.orders.OrderError) as refused:
        flow.submit_order(by=clerk, customer_account="C-1", lines=[LineInput("W-1", "500"), LineInput("W-2", "101")])
    assert refused.value.problems == [("line 2", "quantity", "only 100 of W-2 available and it is not backordered")]
