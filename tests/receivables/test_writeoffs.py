"""Write-offs (small balances automatically, bad debt with four eyes) and refunds of credit
balances: the money rules as tables, the ledger after every path, and the nightly task run twice."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from invoicing.models import Invoice
from o2c.core.models import TimelineEvent
from receivables import selectors, services, writeoffs
from receivables.models import Account, CollectionsSettings, Dispute, JournalEntry, JournalLine, Refund, WriteOff
from receivables.tasks import write_off_small_balances
from receivables.writeoffs import WriteOffError
from tests.core.factories import AR
from tests.orders.factories import CustomerFactory
from tests.receivables.factories import open_invoice

pytestmark = pytest.mark.django_db

D = datetime.date
ON = D(2027, 1, 31)
FINANCE = "Finance manager"
GOOD_IBAN = "BE71 0961 2345 6769"


@pytest.fixture
def people(staff):
    return {
        "clerk": staff(AR, username="clerk"),
        "other_clerk": staff(AR, username="other-clerk"),
        "manager": staff(FINANCE, username="manager"),
        "manager2": staff(FINANCE, username="manager2"),
    }


@pytest.fixture
def customer():
    return CustomerFactory(name="Gamma SA")


def lines(account, customer) -> tuple[Decimal, Decimal]:
    totals = JournalLine.objects.filter(account=account, customer=customer)
    return (sum((x.debit for x in totals), Decimal("0")), sum((x.credit for x in totals), Decimal("0")))


def assert_books_agree():
    assert selectors.ledger_integrity_problems() == []


# --- small balances -------------------------------------------------------------------------------
# settings: limit 1.00, min days 30; ON = 31 Jan 2027, so "due more than 30 days ago" = due before 1 Jan 2027
@pytest.mark.parametrize(
    ("open_amount", "due", "written_off"),
    [
        ("0.99", D(2026, 12, 31), True),  # under the limit, due 31 days before ON
        ("1.00", D(2026, 12, 31), True),  # exactly the limit: "up to" includes it
        ("1.01", D(2026, 12, 31), False),  # 1 cent above the limit
        ("0.50", D(2027, 1, 1), False),  # due exactly 30 days before ON: not MORE than 30
        ("0.50", D(2027, 1, 15), False),  # due 16 days ago
        ("0.01", D(2026, 6, 1), True),  # one cent, long overdue
    ],
)
def test_small_balance_rule(customer, open_amount, due, written_off):
    invoice = open_invoice(customer, "100.00", open_amount=open_amount, issue_date=due - datetime.timedelta(days=30))
    done = writeoffs.write_off_small_balances(on=ON)
    invoice.refresh_from_db()
    assert (len(done) == 1) is written_off
    if written_off:
        assert invoice.status == Invoice.Status.PAID and invoice.amount_open == 0
        (w,) = done
        assert (w.kind, w.status, w.amount) == (
            WriteOff.Kind.SMALL_BALANCE,
            WriteOff.Status.POSTED,
            Decimal(open_amount),
        )
        assert lines(Account.WRITE_OFFS, customer) == (Decimal(open_amount), Decimal("0"))
        assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WRITE_OFF, invoice=invoice).count() == 1
        assert TimelineEvent.objects.filter(trail=f"invoice:{invoice.pk}", verb="written_off").exists()
    else:
        assert invoice.amount_open == Decimal(open_amount)
    assert_books_agree()


def test_small_balance_limits_come_from_the_settings(customer):
    rules = CollectionsSettings.current()
    rules.small_balance_limit, rules.small_balance_min_days = Decimal("5.00"), 10
    rules.save()
    invoice = open_invoice(customer, "50.00", open_amount="4.99", issue_date=D(2026, 12, 1))  # due 31 Dec
    assert [w.invoice for w in writeoffs.write_off_small_balances(on=ON)] == [invoice]


def test_small_balance_under_dispute_is_left_for_a_person(customer):
    disputed = open_invoice(customer, "80.00", open_amount="0.40", issue_date=D(2026, 10, 1))
    Dispute.objects.create(invoice=disputed, customer=customer, reason=Dispute.Reason.PRICE, amount=Decimal("0.40"))
    assert writeoffs.write_off_small_balances(on=ON) == []
    Dispute.objects.filter(invoice=disputed).update(status=Dispute.Status.RESOLVED)
    assert [w.invoice for w in writeoffs.write_off_small_balances(on=ON)] == [disputed]


def test_nightly_task_is_idempotent(customer):
    """Run twice (a retried task): one write-off, one ledger entry, the books agree."""
    invoice = open_invoice(customer, "80.00", open_amount="0.40", issue_date=D(2026, 10, 1))
    assert write_off_small_balances.apply(kwargs={"on": ON.isoformat()}).get() == 1
    assert write_off_small_balances.apply(kwargs={"on": ON.isoformat()}).get() == 0
    assert WriteOff.objects.filter(invoice=invoice).count() == 1
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WRITE_OFF).count() == 1
    assert_books_agree()


# --- bad debt ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("open_amount", "asked", "ok", "message"),
    [
        ("500.00", "500.00", True, ""),  # all of it
        ("500.00", "120.50", True, ""),  # part of it: 379.50 stays open
        ("500.00", "500.01", False, "at most 500.00"),  # one cent more than open
        ("500.00", "0", False, "must be above zero"),
        ("500.00", "-5", False, "must be above zero"),
        ("500.00", "1.005", False, "at most 2 decimals"),
    ],
)
def test_bad_debt_amount_rule(customer, people, open_amount, asked, ok, message):
    invoice = open_invoice(customer, "500.00", open_amount=open_amount)
    if not ok:
        with pytest.raises(WriteOffError, match=message):
            writeoffs.request_bad_debt_write_off(
                invoice=invoice, amount=Decimal(asked), reason="Bankrupt", by=people["clerk"]
            )
        assert not WriteOff.objects.exists()
        return
    w = writeoffs.request_bad_debt_write_off(
        invoice=invoice, amount=Decimal(asked), reason="Bankrupt", by=people["clerk"]
    )
    assert w.status == WriteOff.Status.REQUESTED
    invoice.refresh_from_db()
    assert invoice.amount_open == Decimal(open_amount)  # nothing posted before approval
    writeoffs.approve_write_off(write_off=w, by=people["manager"], on=ON)
    invoice.refresh_from_db()
    assert invoice.amount_open == Decimal(open_amount) - Decimal(asked)  # 500 - 120.50 = 379.50
    assert invoice.status == (Invoice.Status.PAID if invoice.amount_open == 0 else Invoice.Status.ISSUED)
    assert lines(Account.BAD_DEBTS, customer) == (Decimal(asked), Decimal("0"))
    assert_books_agree()


def test_requests_together_never_exceed_the_open_amount(customer, people):
    invoice = open_invoice(customer, "300.00")
    writeoffs.request_bad_debt_write_off(invoice=invoice, amount=Decimal("200"), reason="A", by=people["clerk"])
    with pytest.raises(WriteOffError, match=r"200(\.00)? already waiting for approval; at most 100"):
        writeoffs.request_bad_debt_write_off(invoice=invoice, amount=Decimal("150"), reason="B", by=people["clerk"])


def test_same_request_twice_is_one_request(customer, people):
    invoice = open_invoice(customer, "300.00")
    first = writeoffs.request_bad_debt_write_off(
        invoice=invoice, amount=Decimal("300"), reason="Gone", by=people["clerk"]
    )
    again = writeoffs.request_bad_debt_write_off(
        invoice=invoice, amount=Decimal("300"), reason="Gone", by=people["clerk"]
    )
    assert first.pk == again.pk and WriteOff.objects.count() == 1


def test_four_eyes_refuses_the_requester(customer, people):
    """A finance manager who asked may not approve: clear message, and the database agrees."""
    invoice = open_invoice(customer, "300.00")
    w = writeoffs.request_bad_debt_write_off(
        invoice=invoice, amount=Decimal("300"), reason="Gone", by=people["manager"]
    )
    with pytest.raises(WriteOffError, match="another person must approve"):
        writeoffs.approve_write_off(write_off=w, by=people["manager"])
    with pytest.raises(WriteOffError, match="another person"):
        writeoffs.reject_write_off(write_off=w, by=people["manager"])
    w.refresh_from_db()
    assert w.status == WriteOff.Status.REQUESTED
    assert not JournalEntry.objects.filter(kind=JournalEntry.Kind.WRITE_OFF).exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOff.objects.filter(pk=w.pk).update(decided_by=people["manager"])


def test_approver_needs_the_permission(customer, people):
    invoice = open_invoice(customer, "300.00")
    w = writeoffs.request_bad_debt_write_off(invoice=invoice, amount=Decimal("10"), reason="Gone", by=people["clerk"])
    with pytest.raises(WriteOffError, match="receivables.change_writeoff"):
        writeoffs.approve_write_off(write_off=w, by=people["other_clerk"])


def test_approve_twice_posts_once_and_reject_after_post_is_refused(customer, people):
    invoice = open_invoice(customer, "300.00")
    w = writeoffs.request_bad_debt_write_off(invoice=invoice, amount=Decimal("100"), reason="Gone", by=people["clerk"])
    writeoffs.approve_write_off(write_off=w, by=people["manager"], on=ON)
    writeoffs.approve_write_off(write_off=w, by=people["manager2"], on=ON)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WRITE_OFF).count() == 1
    with pytest.raises(WriteOffError, match="already posted"):
        writeoffs.reject_write_off(write_off=w, by=people["manager"])
    assert TimelineEvent.objects.filter(trail=f"invoice:{invoice.pk}", verb="written_off").count() == 1
    assert_books_agree()


def test_rejected_posts_nothing_and_cannot_be_approved(customer, people):
    invoice = open_invoice(customer, "300.00")
    w = writeoffs.request_bad_debt_write_off(invoice=invoice, amount=Decimal("100"), reason="Gone", by=people["clerk"])
    writeoffs.reject_write_off(write_off=w, by=people["manager"], note="Call them first")
    with pytest.raises(WriteOffError, match="was rejected"):
        writeoffs.approve_write_off(write_off=w, by=people["manager"])
    invoice.refresh_from_db()
    assert invoice.amount_open == Decimal("300.00")
    assert not JournalEntry.objects.filter(kind=JournalEntry.Kind.WRITE_OFF).exists()


def test_paid_meanwhile_is_refused_at_approval(customer, people):
    invoice = open_invoice(customer, "300.00")
    w = writeoffs.request_bad_debt_write_off(invoice=invoice, amount=Decimal("300"), reason="Gone", by=people["clerk"])
    payment = services.record_payment(customer=customer, amount=Decimal("250"), value_date=ON)
    services.allocate_payment(payment=payment, invoice=invoice, amount=Decimal("250"))
    with pytest.raises(WriteOffError, match="has only 50.00 EUR open now"):
        writeoffs.approve_write_off(write_off=w, by=people["manager"])
    assert_books_agree()


# --- refunds -------------------------------------------------------------------------------------------
@pytest.fixture
def credit_balance(customer):
    """A payment of 400 with 250 applied to an invoice: 150 unapplied (a credit balance)."""
    invoice = open_invoice(customer, "250.00")
    payment = services.record_payment(customer=customer, amount=Decimal("400"), value_date=ON)
    services.allocate_payment(payment=payment, invoice=invoice, amount=Decimal("250"))
    return payment


@pytest.mark.parametrize(
    ("asked", "iban", "ok", "message"),
    [
        ("150.00", GOOD_IBAN, True, ""),  # the whole credit balance: 400 - 250
        ("49.99", "be71096123456769", True, ""),  # part; IBAN typed in lower case without spaces
        ("150.01", GOOD_IBAN, False, "at most 150.00"),
        ("0.00", GOOD_IBAN, False, "must be above zero"),
        ("10.00", "BE71 0961 2345 6760", False, "iban"),  # checksum wrong
        ("10.00", "", False, "iban"),
    ],
)
def test_refund_rule(credit_balance, people, customer, asked, iban, ok, message):
    payment = credit_balance
    if not ok:
        with pytest.raises(WriteOffError, match=message):
            writeoffs.request_refund(
                payment=payment, amount=Decimal(asked), iban=iban, reason="Overpaid", by=people["clerk"]
            )
        assert not Refund.objects.exists()
        return
    refund = writeoffs.request_refund(
        payment=payment, amount=Decimal(asked), iban=iban, reason="Overpaid", by=people["clerk"]
    )
    assert refund.iban == "BE71096123456769"
    assert selectors.unapplied_cash(customer) == Decimal("150.00")  # unchanged until approved
    writeoffs.approve_refund(refund=refund, by=people["manager"], on=ON)
    payment.refresh_from_db()
    assert payment.amount_unapplied == Decimal("150.00") - Decimal(asked)
    assert selectors.unapplied_cash(customer) == Decimal("150.00") - Decimal(asked)
    assert selectors.ledger_balance(customer) == -(Decimal("150.00") - Decimal(asked))
    assert lines(Account.BANK, customer) == (Decimal("400.00"), Decimal(asked))
    assert_books_agree()


def test_refunded_cash_cannot_be_applied_again(credit_balance, people, customer):
    refund = writeoffs.request_refund(
        payment=credit_balance, amount=Decimal("150"), iban=GOOD_IBAN, reason="x", by=people["clerk"]
    )
    writeoffs.approve_refund(refund=refund, by=people["manager"])
    other = open_invoice(customer, "10.00")
    with pytest.raises(services.ReceivablesError, match="only 0.00"):
        services.allocate_payment(payment=credit_balance, invoice=other, amount=Decimal("10"))


def test_refund_four_eyes_and_idempotent_approval(credit_balance, people):
    refund = writeoffs.request_refund(
        payment=credit_balance, amount=Decimal("100"), iban=GOOD_IBAN, reason="x", by=people["manager"]
    )
    with pytest.raises(WriteOffError, match="another person must approve"):
        writeoffs.approve_refund(refund=refund, by=people["manager"])
    with pytest.raises(WriteOffError, match="receivables.change_refund"):
        writeoffs.approve_refund(refund=refund, by=people["clerk"])
    writeoffs.approve_refund(refund=refund, by=people["manager2"])
    writeoffs.approve_refund(refund=refund, by=people["manager2"])
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.REFUND).count() == 1
    credit_balance.refresh_from_db()
    assert credit_balance.amount_unapplied == Decimal("50.00")
    assert_books_agree()


def test_waiting_refunds_count_against_the_balance(credit_balance, people):
    writeoffs.request_refund(
        payment=credit_balance, amount=Decimal("100"), iban=GOOD_IBAN, reason="x", by=people["clerk"]
    )
    with pytest.raises(WriteOffError, match="100.00 already waiting to be refunded; at most 50.00"):
        writeoffs.request_refund(
            payment=credit_balance, amount=Decimal("60"), iban=GOOD_IBAN, reason="y", by=people["clerk"]
        )


def test_integrity_check_sees_a_refund_not_counted(credit_balance, people):
    """If a refund were posted without taking it off the payment, the nightly check says so."""
    refund = writeoffs.request_refund(
        payment=credit_balance, amount=Decimal("100"), iban=GOOD_IBAN, reason="x", by=people["clerk"]
    )
    writeoffs.approve_refund(refund=refund, by=people["manager"])
    type(credit_balance).objects.filter(pk=credit_balance.pk).update(amount_applied=Decimal("250"))
    problems = selectors.ledger_integrity_problems()
    assert any("ledger unapplied cash 50.00 != payments 150.00" in p for p in problems)
    assert any(
        f"payment {credit_balance.pk}: applied 250.00 != allocations 250.00 + refunds 100.00" in p for p in problems
    )
