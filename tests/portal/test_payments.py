"""Paying in the portal: several invoices at once through the payment-provider adapter."""

from decimal import Decimal

import pytest
from django.urls import reverse

from invoicing.models import BankAccount, Invoice
from invoicing.references import format_rf, rf_reference
from o2c import flow
from o2c.core.models import TimelineEvent
from portal import payments, services
from portal.models import PaymentIntent
from receivables import selectors as receivables
from receivables.models import Payment
from tests.core.factories import AR, CLERK, WAREHOUSE
from tests.orders.factories import CustomerFactory

from .factories import invoice_for, portal_user, widget

pytestmark = pytest.mark.django_db
PAY = reverse("portal:pay")
CARD_OK = {"card_number": "4242 4242 4242 4242", "card_expiry": "12/30", "card_cvc": "123"}


@pytest.fixture
def people(staff):
    return {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE), "ar": staff(AR)}


@pytest.fixture
def acme():
    widget()
    return CustomerFactory(name="Acme Tools NV")


@pytest.fixture
def two_invoices(people, acme):
    return [invoice_for(people["clerk"], people["warehouse"], acme, quantity=q) for q in ("1", "2")]  # 121.00, 242.00


@pytest.fixture
def user(client, acme):
    user = portal_user(acme, "acme")
    client.force_login(user)
    return user


def start(client, invoices, provider):
    return client.post(PAY, {"invoice": [i.pk for i in invoices], "provider": provider})


def test_card_pays_two_invoices_at_once(client, user, two_invoices, acme):
    response = start(client, two_invoices, "test_card")
    intent = PaymentIntent.objects.get()
    assert response.status_code == 302 and response.url == reverse("portal:payment", args=[intent.reference])
    assert intent.amount == Decimal("363.00") and intent.status == PaymentIntent.Status.STARTED

    response = client.post(response.url, CARD_OK, follow=True)

    assert "363.00 EUR paid" in response.content.decode()
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED and intent.confirmed_at is not None
    for invoice in two_invoices:
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID and invoice.amount_open == 0
    payments_made = Payment.objects.order_by("amount")
    assert [(p.amount, p.method, p.received_by_id) for p in payments_made] == [
        (Decimal("121.00"), "card", user.pk),
        (Decimal("242.00"), "card", user.pk),
    ]
    assert receivables.ledger_balance(acme) == 0 and receivables.ledger_integrity_problems() == []
    # on each invoice's timeline: started, applied, paid online
    verbs = set(TimelineEvent.objects.filter(trail=two_invoices[0].order.trail).values_list("verb", flat=True))
    assert {"payment_started", "applied", "paid_online"} <= verbs


def test_a_double_submit_pays_once(client, user, two_invoices):
    start(client, two_invoices, "test_card")
    intent = PaymentIntent.objects.get()
    url = reverse("portal:payment", args=[intent.reference])
    first, second = client.post(url, CARD_OK), client.post(url, CARD_OK)
    assert first.status_code == second.status_code == 302
    # and the flow itself, called again for the same intent, changes nothing
    flow.confirm_online_payment(intent=intent, provider_reference="again", by=user)
    assert Payment.objects.count() == 2
    assert sum(p.amount for p in Payment.objects.all()) == Decimal("363.00")


def test_a_declined_card_pays_nothing(client, user, two_invoices):
    start(client, two_invoices, "test_card")
    intent = PaymentIntent.objects.get()
    response = client.post(reverse("portal:payment", args=[intent.reference]), {"card_number": "4000000000000002"})
    assert response.status_code == 422
    assert "declined" in response.content.decode()
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.FAILED
    assert not Payment.objects.exists()
    assert all(Invoice.objects.get(pk=i.pk).status == Invoice.Status.ISSUED for i in two_invoices)


def test_a_wrong_card_number_is_named_and_can_be_retried(client, user, two_invoices):
    start(client, two_invoices, "test_card")
    url = reverse("portal:payment", args=[PaymentIntent.objects.get().reference])
    response = client.post(url, {"card_number": "1234"})
    assert response.status_code == 422 and "4242 4242 4242 4242" in response.content.decode()
    assert client.post(url, CARD_OK).status_code == 302
    assert Payment.objects.count() == 2


def test_bank_transfer_shows_our_iban_and_each_rf_reference(client, user, two_invoices):
    BankAccount.objects.create(name="KBC EUR", iban="BE68539007547034", bic="KREDBEBB", currency="EUR", is_default=True)
    response = start(client, two_invoices, "bank_transfer")
    html = client.get(response.url).content.decode()
    assert "BE68539007547034" in html and "KREDBEBB" in html
    for invoice in two_invoices:
        assert format_rf(rf_reference(invoice.number)) in html
    intent = PaymentIntent.objects.get()
    assert intent.status == PaymentIntent.Status.AWAITING_TRANSFER
    assert not Payment.objects.exists()  # cash application matches the transfer when it arrives
    # a transfer cannot be "confirmed" from the page
    refused = client.post(response.url, CARD_OK)
    assert refused.status_code == 422 and "confirmed by cash application" in refused.content.decode()
    assert not Payment.objects.exists()


def test_refuses_paid_foreign_and_mixed_invoices(client, user, two_invoices, people, acme):
    paid = two_invoices[0]
    flow.receive_payment(invoice=paid, amount=paid.total, value_date=paid.issue_date, by=people["ar"])
    response = start(client, [paid], "test_card")
    assert response.status_code == 422 and "has nothing left to pay" in response.content.decode()

    other = invoice_for(people["clerk"], people["warehouse"], CustomerFactory())
    assert start(client, [two_invoices[1], other], "test_card").status_code == 404
    assert start(client, [], "test_card").status_code == 422
    assert start(client, [two_invoices[1]], "bitcoin").status_code == 422
    assert not PaymentIntent.objects.exists()


def test_start_payment_refuses_another_customers_invoice(people, acme):
    other = invoice_for(people["clerk"], people["warehouse"], CustomerFactory())
    with pytest.raises(services.PortalError) as refusal:
        services.start_payment(customer=acme, invoices=[other], provider="test_card")
    assert refusal.value.problems == [(other.number, "invoice", "not an invoice of your account")]


def test_a_user_without_the_pay_right_cannot_pay(client, acme, two_invoices):
    client.force_login(portal_user(acme, "viewer", can_pay=False))
    assert client.get(PAY).status_code == 403
    assert start(client, two_invoices, "test_card").status_code == 403
    assert f'href="{PAY}"' not in client.get(reverse("portal:home")).content.decode()  # not in the menu


def test_the_adapter_lists_the_enabled_providers(settings):
    settings.O2C_PORTAL_PAYMENT_PROVIDERS = ["test_card"]
    assert [p.key for p in payments.enabled()] == ["test_card"]
    with pytest.raises(payments.PaymentRefused):
        payments.get("bank_transfer")
