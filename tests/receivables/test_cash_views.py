"""The cash pages: permissions, the queue with constant queries, one-click accept, the split with
its running remainder, on account, upload with progress (real worker), manual check entry."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoicing.models import BankAccount, Invoice
from o2c import flow
from o2c.bench.cashapp import camt053_document
from receivables.models import PayerIdentity, Payment, StatementLine
from tests.core.factories import AR, CLERK
from tests.orders.factories import CustomerFactory

from .factories import open_invoice

pytestmark = pytest.mark.django_db
ON = datetime.date(2026, 11, 12)


@pytest.fixture
def account():
    return BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")


def _import(account, entries, statement_id="S-1"):
    data = camt053_document(
        iban=account.iban, currency="EUR", statement_id=statement_id, opening=Decimal("0"), on=ON, entries=entries
    )
    return flow.import_statement(bank_account=account, data=data, file_name=f"{statement_id}.xml")


def _entries(n, start=0):
    return [
        {
            "amount": Decimal("10.00") + n_,
            "reference": f"Q-{start + n_}",
            "name": f"Unknown {start + n_}",
            "remittance": "goods",
        }
        for n_ in range(n)
    ]


def test_the_queue_needs_the_ar_role(client, staff):
    client.force_login(staff(CLERK))
    assert client.get(reverse("desk:cash_queue")).status_code == 403


def test_the_queue_lists_exceptions_with_constant_queries(client, staff, account):
    client.force_login(staff(AR))
    _import(account, _entries(3))
    with CaptureQueriesContext(connection) as few:
        response = client.get(reverse("desk:cash_queue"))
    assert response.status_code == 200 and b"Unknown 2" in response.content
    _import(account, _entries(30, start=100), statement_id="S-2")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("desk:cash_queue"))
    assert b"Unknown 129" in response.content
    assert len(many) == len(few)


def test_accept_a_suggestion_in_one_click(client, staff, account):
    customer = CustomerFactory()
    invoice = open_invoice(customer, "120.00")
    _import(
        account, [{"amount": Decimal("100.00"), "reference": "A-1", "name": "Nobody", "remittance": invoice.number}]
    )
    line = StatementLine.objects.get()
    assert line.status == "suggested"
    client.force_login(staff(AR))
    response = client.post(reverse("desk:accept_suggestion", args=[line.pk]), {"index": "0"})
    assert response.status_code == 302
    line.refresh_from_db()
    invoice.refresh_from_db()
    assert line.status == "matched" and invoice.amount_open == Decimal("20.00")


def test_split_with_running_remainder_then_apply_teaches_the_iban(client, staff, account):
    customer = CustomerFactory()
    first, second = open_invoice(customer, "60.00"), open_invoice(customer, "50.00")
    _import(
        account,
        [
            {
                "amount": Decimal("100.00"),
                "reference": "B-1",
                "name": "Mr Payer",
                "iban": "NL91ABNA0417164300",
                "remittance": "see letter",
            }
        ],
    )
    line = StatementLine.objects.get()
    client.force_login(staff(AR))
    url = reverse("desk:cash_line", args=[line.pk])
    assert client.get(url, {"q": first.number}).status_code == 200
    data = {"invoice": [first.pk, second.pk], f"cash_{first.pk}": "60.00", f"cash_{second.pk}": "30"}
    preview = client.post(url, data, headers={"HX-Request": "true", "HX-Target": "remainder-box"})
    assert b"Remainder 10.00 EUR" in preview.content
    too_much = client.post(url, data | {f"cash_{second.pk}": "50.00", "action": "apply"})
    assert too_much.status_code == 422 and b"The invoices take 110.00, the line brings 100.00" in too_much.content
    response = client.post(url, data | {"action": "apply"})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.amount_open) == ("paid", Decimal("20.00"))
    payment = Payment.objects.get()
    assert payment.amount_unapplied == Decimal("10.00")  # credit on account
    assert PayerIdentity.objects.get(kind="iban", value="NL91ABNA0417164300").customer == customer


def test_on_account_and_ignore(client, staff, account):
    customer = CustomerFactory()
    _import(
        account,
        [
            {"amount": Decimal("75.00"), "reference": "C-1", "name": "X"},
            {"amount": Decimal("5.00"), "reference": "C-2", "name": "Y"},
        ],
    )
    first, second = StatementLine.objects.order_by("position")
    client.force_login(staff(AR))
    assert (
        client.post(
            reverse("desk:cash_line", args=[first.pk]), {"customer": customer.pk, "action": "on_account"}
        ).status_code
        == 302
    )
    assert client.post(reverse("desk:cash_line", args=[second.pk]), {"action": "ignore"}).status_code == 302
    assert Payment.objects.get().amount_unapplied == Decimal("75.00")
    assert StatementLine.objects.get(pk=second.pk).status == "ignored"


def test_manual_check_with_discount_and_write_off(client, staff):
    customer = CustomerFactory(account_number="CHK-1")
    invoice = open_invoice(customer, "100.00")
    client.force_login(staff(AR))
    url = reverse("desk:manual_payment")
    assert b"100.00" in client.get(url, {"customer_account": "CHK-1"}).content
    response = client.post(
        url,
        {
            "customer_account": "CHK-1",
            "amount": "97.50",
            "value_date": "2026-11-12",
            "method": "check",
            "reference": "CHK 000123",
            "action": "record",
            f"cash_{invoice.pk}": "97.50",
            f"discount_{invoice.pk}": "2.00",
            f"write_off_{invoice.pk}": "0.50",
            f"reason_{invoice.pk}": "small_difference",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    allocation = invoice.allocations.get()
    assert (allocation.amount, allocation.discount_amount, allocation.write_off_amount) == (
        Decimal("97.50"),
        Decimal("2.00"),
        Decimal("0.50"),
    )


def test_upload_is_refused_without_a_file(client, staff, account):
    client.force_login(staff(AR))
    response = client.post(reverse("desk:statement_upload"), {"bank_account": account.pk})
    assert response.status_code == 422 and b"File: choose a camt.053" in response.content


def test_the_ar_page_lists_the_reconciliation_differences(client, staff):
    from receivables import cashapp

    cashapp.record_reconciliation(
        lines_rematched=2, problems=["customer 7: ledger receivables 10.00 != open items 0.00"]
    )
    client.force_login(staff(AR))
    response = client.get(reverse("receivables:open_items"))
    assert b"1 difference between the ledger" in response.content
    assert b"customer 7: ledger receivables 10.00 != open items 0.00" in response.content
