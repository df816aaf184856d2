"""Real parallel PostgreSQL connections: two clerks applying the same payment or the same
statement line, two payments racing for one invoice, two imports of one file - never more
applied than there is, never a line twice (locks, idempotency key, constraints)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from invoicing.models import BankAccount, Invoice
from o2c import flow
from o2c.bench.cashapp import camt053_document
from receivables import cashapp, selectors
from receivables.models import Allocation, Payment, StatementLine
from receivables.services import ReceivablesError
from tests.core.factories import AR as AR_CLERK
from tests.orders.factories import CustomerFactory
from tests.test_concurrency import run_in_threads

from .factories import open_invoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]
ON = datetime.date(2026, 11, 10)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL")


def _statement(account, entries, statement_id="S-1"):
    return camt053_document(
        iban=account.iban, currency="EUR", statement_id=statement_id, opening=Decimal("0"), on=ON, entries=entries
    )


def test_two_clerks_applying_the_same_statement_line_apply_it_once(staff):
    customer = CustomerFactory()
    invoice = open_invoice(customer, "300.00")
    account = BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")
    data = _statement(account, [{"amount": Decimal("300.00"), "reference": "R-1", "name": "Who Knows"}])
    flow.import_statement(bank_account=account, data=data, file_name="s.xml")
    line = StatementLine.objects.get()
    assert line.status == "unmatched"
    clerks = [staff(AR_CLERK, "clerk-a"), staff(AR_CLERK, "clerk-b")]

    def apply(clerk):
        return flow.apply_statement_line(
            line=line,
            customer_id=customer.pk,
            parts=[(invoice.pk, Decimal("300.00"), Decimal("0"), Decimal("0"), "")],
            by=clerk,
        )

    results = run_in_threads(apply, clerks)
    refused = [r for r in results if isinstance(r, ReceivablesError)]
    assert len(refused) == 1, results
    assert Payment.objects.count() == 1 and Allocation.objects.count() == 1
    invoice.refresh_from_db()
    assert (invoice.amount_open, invoice.status) == (Decimal("0.00"), "paid")
    assert selectors.ledger_integrity_problems() == []


def test_two_clerks_applying_one_payment_never_apply_more_than_it_holds():
    customer = CustomerFactory()
    invoices = [open_invoice(customer, "100.00"), open_invoice(customer, "100.00")]
    payment = flow.receive_manual_payment(
        customer=customer,
        amount=Decimal("100.00"),
        value_date=ON,
        method="check",
        reference="CHK 1",
        parts=[],
        by=None,
    )

    def apply(invoice):
        return cashapp.apply_payment(
            payment=payment, parts=[(invoice, Decimal("100.00"), Decimal("0"), Decimal("0"), "")]
        )

    results = run_in_threads(apply, invoices)
    assert len([r for r in results if isinstance(r, ReceivablesError)]) == 1, results
    payment.refresh_from_db()
    assert (payment.amount_applied, payment.status) == (Decimal("100.00"), "applied")
    assert sorted(Invoice.objects.values_list("amount_open", flat=True)) == [Decimal("0.00"), Decimal("100.00")]
    assert selectors.ledger_integrity_problems() == []


def test_two_payments_racing_for_one_invoice_never_take_it_below_zero():
    customer = CustomerFactory()
    invoice = open_invoice(customer, "250.00")
    payments = [
        flow.receive_manual_payment(
            customer=customer,
            amount=Decimal("250.00"),
            value_date=ON,
            method="cash",
            reference=f"cash {n}",
            parts=[],
            by=None,
        )
        for n in range(2)
    ]

    def apply(payment):
        return cashapp.apply_payment(
            payment=payment, parts=[(invoice, Decimal("250.00"), Decimal("0"), Decimal("0"), "")]
        )

    results = run_in_threads(apply, payments)
    assert len([r for r in results if isinstance(r, ReceivablesError)]) == 1, results
    invoice.refresh_from_db()
    assert invoice.amount_open == Decimal("0.00")
    assert Allocation.objects.count() == 1
    assert selectors.unapplied_cash(customer) == Decimal("250.00")  # the loser stays on account
    assert selectors.ledger_integrity_problems() == []


def test_the_same_file_imported_twice_at_once_adds_its_lines_once():
    customer = CustomerFactory()
    invoice = open_invoice(customer, "80.00")
    account = BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")
    data = _statement(account, [{"amount": Decimal("80.00"), "reference": "R-9", "remittance": invoice.number}])

    def do_import(_):
        return flow.import_statement(bank_account=account, data=data, file_name="s.xml")

    results = run_in_threads(do_import, [1, 2])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert StatementLine.objects.count() == 1 and Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
