"""Pages of write-offs and refunds: ask from the invoice / credit balance, approve in the queue,
see what is posted; errors named beside their fields; constant query counts."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from receivables import selectors, services, writeoffs
from receivables.models import Refund, WriteOff
from tests.core.factories import AR
from tests.orders.factories import CustomerFactory
from tests.receivables.factories import open_invoice

pytestmark = pytest.mark.django_db
FINANCE = "Finance manager"


@pytest.fixture
def clerk(staff):
    return staff(AR, username="clerk")


@pytest.fixture
def manager(staff):
    return staff(FINANCE, username="manager")


def test_clerk_asks_and_manager_approves_a_write_off(client, clerk, manager):
    invoice = open_invoice(CustomerFactory(), "300.00")
    client.force_login(clerk)
    page = client.get(reverse("desk:invoice_detail", args=[invoice.pk]))
    assert reverse("receivables:write_off_new", args=[invoice.pk]) in page.content.decode()
    url = reverse("receivables:write_off_new", args=[invoice.pk])
    too_much = client.post(url, {"amount": "300.01", "reason": "Bankrupt"})
    assert too_much.status_code == 200 and "at most 300.00" in too_much.content.decode()
    no_reason = client.post(url, {"amount": "10", "reason": ""})
    assert "This field is required" in no_reason.content.decode()
    assert not WriteOff.objects.exists()
    response = client.post(url, {"amount": "300.00", "reason": "Bankrupt"})
    assert response.status_code == 302
    (w,) = WriteOff.objects.all()

    client.force_login(manager)
    queue = client.get(reverse("receivables:write_off_approvals"))
    assert invoice.number in queue.content.decode()
    client.post(reverse("receivables:write_off_decide", args=[w.pk]), {"action": "approve"})
    w.refresh_from_db()
    invoice.refresh_from_db()
    assert w.status == WriteOff.Status.POSTED and invoice.amount_open == 0
    listing = client.get(reverse("receivables:write_offs"))
    assert invoice.number in listing.content.decode() and "Bankrupt" in listing.content.decode()
    assert selectors.ledger_integrity_problems() == []


def test_approving_your_own_request_is_refused_with_a_reason(client, staff):
    both = staff(AR, username="both")
    both.groups.add(Group.objects.get(name=FINANCE))
    invoice = open_invoice(CustomerFactory(), "300.00")
    w = writeoffs.request_bad_debt_write_off(invoice=invoice, amount=Decimal("50"), reason="x", by=both)
    client.force_login(both)
    response = client.post(reverse("receivables:write_off_decide", args=[w.pk]), {"action": "approve"}, follow=True)
    assert "another person must approve" in response.content.decode()
    w.refresh_from_db()
    assert w.status == WriteOff.Status.REQUESTED


def test_refund_request_and_rejection(client, clerk, manager):
    customer = CustomerFactory()
    payment = services.record_payment(customer=customer, amount=Decimal("75.00"), value_date=customer_day())
    client.force_login(clerk)
    balances = client.get(reverse("receivables:refunds"))
    assert reverse("receivables:refund_new", args=[payment.pk]) in balances.content.decode()
    url = reverse("receivables:refund_new", args=[payment.pk])
    bad = client.post(url, {"amount": "75.00", "iban": "BE00 1234", "reason": "Overpaid"})
    assert bad.status_code == 200 and "IBAN" in bad.content.decode()
    client.post(url, {"amount": "75.00", "iban": "BE71 0961 2345 6769", "reason": "Overpaid"})
    (refund,) = Refund.objects.all()
    client.force_login(manager)
    client.post(reverse("receivables:refund_decide", args=[refund.pk]), {"action": "reject", "note": "Apply it"})
    refund.refresh_from_db()
    assert refund.status == Refund.Status.REJECTED
    assert selectors.unapplied_cash(customer) == Decimal("75.00")


def customer_day():
    import datetime

    return datetime.date(2026, 11, 2)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["write_offs", "write_off_approvals", "refunds", "refund_approvals"])
def test_query_count_does_not_grow(client, clerk, manager, name):
    client.force_login(manager)
    url = reverse(f"receivables:{name}")

    def add(n):
        for _ in range(n):
            customer = CustomerFactory()
            invoice = open_invoice(customer, "100.00")
            w = writeoffs.request_bad_debt_write_off(invoice=invoice, amount=Decimal("10"), reason="x", by=clerk)
            payment = services.record_payment(customer=customer, amount=Decimal("20"), value_date=customer_day())
            r = writeoffs.request_refund(
                payment=payment, amount=Decimal("5"), iban="BE71096123456769", reason="x", by=clerk
            )
            if n > 1:
                writeoffs.approve_write_off(write_off=w, by=manager)
                writeoffs.approve_refund(refund=r, by=manager)

    add(1)
    few = _queries(client, url)
    add(4)
    assert _queries(client, url) == few
