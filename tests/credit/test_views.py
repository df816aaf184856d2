"""Credit pages: the hold queue (keyset pages, sorts, a constant query count), the order
page's credit panel, the policy page, limit changes with four eyes, applications, review."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from credit import selectors, services
from credit.models import CreditApplication, CreditLimitChange, CreditPolicy, CreditProfile, ReviewItem
from orders.models import SalesOrder
from tests.core.factories import CLERK, CREDIT
from tests.credit.builders import approved_order, held_order, open_invoice, unapplied_payment
from tests.credit.factories import credit_limit
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db
FINANCE = "Finance manager"


@pytest.fixture
def product(db):
    return ProductFactory()


def make_held(product, count: int, *, start: int = 0):
    orders = []
    for index in range(start, start + count):
        customer = CustomerFactory()
        if index % 2:
            credit_limit(customer, "500.00")
            open_invoice(customer, total="300.00", due=timezone.localdate() - datetime.timedelta(days=40))
            unapplied_payment(customer, amount="20.00")
        orders.append(held_order(customer, product, total=f"{100 + index}.00", days_ago=index))
    return orders


def queue_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(reverse("credit:holds"), params)
    assert response.status_code == 200
    return len(context)


def test_hold_queue_query_count_is_constant_and_pages_by_keyset(client, staff, product):
    client.force_login(staff(CREDIT))
    make_held(product, 3)
    few = queue_queries(client)
    make_held(product, 60, start=3)
    many = queue_queries(client)
    assert few == many
    first = client.get(reverse("credit:holds")).content.decode()
    assert first.count('id="hold-') == 50 and 'rel="next"' in first
    oldest = SalesOrder.objects.filter(status="credit_hold").order_by("submitted_at", "id")
    assert f'id="hold-{oldest[0].pk}"' in first and f'id="hold-{oldest[50].pk}"' not in first
    next_url = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(next_url).content.decode()
    assert second.count('id="hold-') == 13 and f'id="hold-{oldest[50].pk}"' in second
    assert queue_queries(client, after=next_url.split("after=")[1]) == many


def test_hold_queue_sorts_largest_first_and_shows_exposure_parts(client, staff, product):
    client.force_login(staff(CREDIT))
    orders = make_held(product, 4)
    page = client.get(reverse("credit:holds"), {"sort": "largest"}).content.decode()
    positions = [page.index(f'id="hold-{o.pk}"') for o in sorted(orders, key=lambda o: -o.total)]
    assert positions == sorted(positions)
    row = page.split(f'id="hold-{orders[1].pk}"')[1].split("</tr>")[0]
    assert "280.00 EUR" in row  # exposure 300 open - 20 unapplied cash
    assert "AR 300.00" in row and "− cash 20.00" in row
    assert "500.00 EUR" in row  # limit
    assert "oldest 40 d" in row  # overdue
    assert "Credit limit exceeded: test." in row


def test_the_queue_needs_the_permission_and_says_what_to_do_when_empty(client, staff):
    client.force_login(staff(CLERK))
    assert client.get(reverse("credit:holds")).status_code == 403
    client.force_login(staff(CREDIT))
    assert "No orders on credit hold" in client.get(reverse("credit:holds")).content.decode()


def test_temporary_increase_needs_amount_and_date_in_the_queue_form(client, staff, product):
    client.force_login(staff(CREDIT))
    customer = CustomerFactory()
    credit_limit(customer, "10.00")
    order = held_order(customer, product)
    response = client.post(
        reverse("desk:credit_decision", args=[order.pk]),
        {"decision": "release_temporary", "reason": "Peak", "from": "queue"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "Increase: Give the amount of the temporary increase." in html
    assert "Until: Give the last day the increase applies." in html
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.CREDIT_HOLD


def test_order_page_shows_the_credit_panel_with_parts(client, staff, product):
    client.force_login(staff(CREDIT))
    customer = CustomerFactory()
    credit_limit(customer, "1000.00")
    open_invoice(customer, total="250.00")
    approved_order(customer, product, price="10.00", quantity=5, shipped=2)
    order = held_order(customer, product)
    html = client.get(reverse("desk:order_detail", args=[order.pk])).content.decode()
    panel = html.split('id="credit-panel"')[1].split("</section>")[0]
    assert "250.00 EUR" in panel and "20.00 EUR" in panel and "30.00 EUR" in panel
    assert '<td class="num" id="exposure-total">300.00 EUR</td>' in panel


def test_finance_manager_publishes_a_policy_version(client, staff):
    selectors.current_policy()
    client.force_login(staff(FINANCE))
    data = {
        "currency": "EUR",
        "max_days_overdue": "21",
        "max_overdue_amount": "5000.00",
        "require_current_approval": "on",
        "check_group": "on",
        "four_eyes_threshold": "25000.00",
        "review_interval_days": "180",
        "note": "",
    }
    response = client.post(reverse("credit:policy"), data)
    assert response.status_code == 422 and CreditPolicy.objects.count() == 1
    response = client.post(reverse("credit:policy"), data | {"note": "Tighter terms"})
    assert response.status_code == 302
    latest = CreditPolicy.objects.order_by("-version").first()
    assert (latest.version, latest.max_days_overdue, latest.note) == (2, 21, "Tighter terms")
    client.force_login(staff(CREDIT))  # may read the policy, not publish it
    assert client.post(reverse("credit:policy"), data | {"note": "x"}).status_code == 200
    assert CreditPolicy.objects.count() == 2


def test_limit_change_pages_keep_four_eyes(client, staff):
    customer = CustomerFactory()
    profile = credit_limit(customer, "1000.00")
    requester, approver = staff(CREDIT), staff(FINANCE)
    client.force_login(requester)
    client.post(reverse("credit:change_limit", args=[customer.pk]), {"new_limit": "900000.00", "reason": "Big deal"})
    change = CreditLimitChange.objects.get()
    assert change.status == "pending"
    html = client.get(reverse("credit:limit_approvals")).content.decode()
    assert "Your request: someone else approves it." in html
    client.post(reverse("credit:decide_limit", args=[change.pk]), {"decision": "approve"})
    profile.refresh_from_db()
    assert profile.credit_limit == Decimal("1000.00")
    client.force_login(approver)
    client.post(reverse("credit:decide_limit", args=[change.pk]), {"decision": "approve", "note": "ok"})
    profile.refresh_from_db()
    assert profile.credit_limit == Decimal("900000.00")
    page = client.get(reverse("credit:profile", args=[customer.pk])).content.decode()
    assert "Big deal" in page and "900,000.00 EUR" in page


def test_application_upload_is_type_checked_and_decided_through_the_desk(client, staff, product):
    customer = CustomerFactory(account_number="NEW-1")
    order = held_order(customer, product, total="100.00")
    client.force_login(staff(CLERK))
    form = {
        "customer_account": "NEW-1",
        "requested_limit": "5000.00",
        "trade_references": "Acme",
        "bank_name": "KBC",
    }
    bad = SimpleUploadedFile("accounts.pdf", b"GIF89a not a pdf", content_type="application/pdf")
    response = client.post(reverse("credit:application_new"), form | {"document": bad})
    assert response.status_code == 422
    assert "&#x27;accounts.pdf&#x27; does not contain a PDF file" in response.content.decode()
    assert not CreditApplication.objects.exists()
    good = SimpleUploadedFile("accounts.pdf", b"%PDF-1.7 ok", content_type="application/pdf")
    assert client.post(reverse("credit:application_new"), form | {"document": good}).status_code == 302
    application = CreditApplication.objects.get()
    client.force_login(staff(CREDIT))
    assert "Acme" in client.get(reverse("credit:applications")).content.decode()
    download = client.get(reverse("credit:application_document", args=[application.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="application-{application.pk}.pdf"'
    client.post(
        reverse("desk:credit_application_decision", args=[application.pk]),
        {"decision": "approve", "approved_limit": "5000.00", "note": "Good references"},
    )
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.APPROVED
    assert CreditProfile.objects.get(customer=customer).credit_limit == Decimal("5000.00")


def test_review_queue_lists_and_resolves(client, staff):
    profile = credit_limit(CustomerFactory())
    services.list_for_review(on=timezone.localdate())
    item = ReviewItem.objects.get(profile=profile)
    client.force_login(staff(CREDIT))
    assert "never reviewed" in client.get(reverse("credit:review_queue")).content.decode()
    client.post(reverse("credit:resolve_review", args=[item.pk]), {"resolution": "Fine"})
    item.refresh_from_db()
    assert item.resolved_at is not None
    assert "Nothing to review" in client.get(reverse("credit:review_queue")).content.decode()
