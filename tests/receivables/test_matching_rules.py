"""Money rules of cash application, with the worked numbers: discount in its window, bank
charges and small differences written off, overpayment on account, partial, duplicates,
direct-debit returns reopening the invoice, and the finance manager's rules."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from invoicing.models import BankAccount
from o2c import flow
from o2c.bench.cashapp import camt053_document
from orders.models import PaymentTerms
from receivables import selectors
from receivables.models import Account, JournalLine, MatchingRule, Payment, StatementLine
from tests.orders.factories import CustomerFactory

from .factories import open_invoice

pytestmark = pytest.mark.django_db
ON = datetime.date(2026, 11, 10)
D = Decimal


@pytest.fixture
def account():
    return BankAccount.objects.create(name="Main", iban="BE68539007547034", currency="EUR")


def _run(account, entries, statement_id="R-1", on=ON):
    data = camt053_document(
        iban=account.iban, currency="EUR", statement_id=statement_id, opening=D("0"), on=on, entries=entries
    )
    flow.import_statement(bank_account=account, data=data, file_name="r.xml")
    return list(StatementLine.objects.filter(statement__statement_id__startswith=statement_id).order_by("position"))


def _posted(account_code) -> Decimal:
    return JournalLine.objects.filter(account=account_code).aggregate(t=Sum("debit"))["t"] or D("0")


@pytest.mark.parametrize(
    ("total", "paid", "days_after_issue", "discount", "write_off", "write_off_account", "open_after"),
    [
        ("1000.00", "980.00", 8, "20.00", "0", None, "0.00"),  # 2% inside 10 days
        ("1000.00", "980.00", 25, "0", "0", None, "20.00"),  # outside the window (+3 grace): partial
        ("500.00", "492.50", 30, "0", "7.50", Account.BANK_CHARGES, "0.00"),  # bank charges under 15.00
        ("500.00", "499.70", 30, "0", "0.30", Account.WRITE_OFFS, "0.00"),  # small difference under 2.00
        ("500.00", "450.00", 30, "0", "0", None, "50.00"),  # partial payment
        ("500.00", "525.00", 30, "0", "0", None, "0.00"),  # overpaid: 25.00 stays on account
    ],
)
def test_amount_rules(account, total, paid, days_after_issue, discount, write_off, write_off_account, open_after):
    terms = PaymentTerms.objects.create(
        code="2/10", name="2% 10 days", net_days=30, discount_percent=D("2"), discount_days=10
    )
    customer = CustomerFactory(payment_terms=terms)
    issue = ON - datetime.timedelta(days=days_after_issue)
    invoice = open_invoice(customer, total, issue_date=issue)
    [line] = _run(
        account,
        [
            {
                "amount": D(paid),
                "reference": "L-1",
                "remittance": f"Invoice {invoice.number}",
                "name": customer.name,
                "value_date": ON,
            }
        ],
    )
    assert line.status == "matched", line.explanation
    invoice.refresh_from_db()
    assert invoice.amount_open == D(open_after)
    allocation = invoice.allocations.get()
    assert (allocation.discount_amount, allocation.write_off_amount) == (D(discount), D(write_off))
    assert _posted(Account.SALES_DISCOUNTS) == D(discount)
    if write_off_account:
        assert _posted(write_off_account) == D(write_off)
    payment = Payment.objects.get()
    assert payment.amount_unapplied == max(D(paid) - D(total) + D(discount) + D(write_off), D("0"))
    assert selectors.ledger_integrity_problems() == []


def test_a_duplicate_payment_is_left_on_account_not_applied_twice(account):
    customer = CustomerFactory()
    first, second = open_invoice(customer, "100.00"), open_invoice(customer, "100.00")
    entry = {"amount": D("100.00"), "iban": "NL91ABNA0417164300", "name": "Payer BV", "remittance": first.number}
    _run(account, [entry | {"reference": "D-1"}], statement_id="D-1")
    [again] = _run(account, [entry | {"reference": "D-2"}], statement_id="D-2")
    assert again.status == "suggested" and "Possible duplicate" in again.explanation
    second.refresh_from_db()
    assert second.amount_open == D("100.00")


def test_a_direct_debit_return_reverses_the_payment_and_reopens_the_invoice(account):
    customer = CustomerFactory()
    invoice = open_invoice(customer, "240.00")
    _run(
        account,
        [{"amount": D("240.00"), "reference": "DD-1", "remittance": invoice.number, "end_to_end": "E2E-77"}],
        statement_id="DD-1",
    )
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    [returned] = _run(
        account,
        [{"amount": D("-240.00"), "reference": "DD-2", "remittance": "RETURN MD06", "end_to_end": "E2E-77"}],
        statement_id="DD-2",
    )
    assert returned.status == "matched" and "Return of payment" in returned.explanation
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_open) == ("issued", D("240.00"))
    assert Payment.objects.get().status == "reversed"
    assert selectors.ledger_balance(customer) == D("240.00")
    assert selectors.ledger_integrity_problems() == []


def test_finance_managers_rule_ignores_bank_fees_and_assigns_a_customer(account):
    customer = CustomerFactory()
    MatchingRule.objects.create(name="Fees", text_contains="ACCOUNT FEE", action=MatchingRule.Action.BANK_FEES)
    MatchingRule.objects.create(
        name="Group pays", text_contains="HOLDING XYZ", action="assign_customer", customer=customer
    )
    invoice = open_invoice(customer, "310.00")
    fee, group = _run(
        account,
        [
            {"amount": D("-12.00"), "reference": "F-1", "remittance": "Account fee November"},
            {"amount": D("310.00"), "reference": "F-2", "name": "Holding XYZ", "remittance": "October"},
        ],
    )
    assert fee.status == "ignored" and "Rule 'Fees'" in fee.explanation
    assert group.status == "matched"
    invoice.refresh_from_db()
    assert invoice.status == "paid"
