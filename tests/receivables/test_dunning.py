"""Dunning and reminder services beyond the 120-day story: the skip screen's less common paths,
letters per currency, segment procedures, preview/discard/automatic, and running a day twice."""

import datetime
from decimal import Decimal

import pytest

from invoicing.models import BankAccount, Invoice
from o2c import flow
from receivables import dunning, reminders, skips
from receivables.models import (
    BankStatement,
    CollectionSkip,
    CollectionsSettings,
    Dispute,
    DunningBlock,
    DunningLetter,
    DunningLevel,
    DunningProcedure,
    DunningRun,
    PayerIdentity,
    PromiseToPay,
    Reminder,
    ReminderPolicy,
    StatementLine,
)
from tests.invoicing import factories as f
from tests.orders.factories import CustomerFactory
from tests.receivables.factories import open_invoice

pytestmark = pytest.mark.django_db
D = Decimal
ON = datetime.date(2026, 3, 1)


def overdue(customer, total, days, **extra) -> Invoice:
    """An open item `days` past due on ON."""
    due = ON - datetime.timedelta(days=days)
    return open_invoice(customer, total, issue_date=due - datetime.timedelta(days=30), **extra)


def rows_for(*invoices):
    return list(
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values("id", "customer_id", "currency", "amount_open")
    )


def test_screen_reasons_and_the_amount_left_to_chase():
    f.company()
    plain, blocked, promised_account = CustomerFactory(), CustomerFactory(), CustomerFactory()
    partly = overdue(plain, "300.00", 10)
    wholly = overdue(plain, "80.00", 10)
    tiny = overdue(plain, "4.99", 10)
    by_iban = overdue(plain, "123.45", 10)
    on_block = overdue(blocked, "50.00", 10)
    on_promise = overdue(promised_account, "70.00", 10)
    Dispute.objects.create(invoice=partly, customer=plain, reason="price", amount=D("100.00"))
    Dispute.objects.create(invoice=wholly, customer=plain, reason="price", amount=D("30.00"))
    Dispute.objects.create(invoice=wholly, customer=plain, reason="quantity", amount=D("50.00"))
    Dispute.objects.create(
        invoice=partly, customer=plain, reason="other", amount=D("200.00"), status=Dispute.Status.RESOLVED
    )  # resolved: no longer counts
    DunningBlock.objects.create(customer=blocked, reason="Court case", until=None)
    PromiseToPay.objects.create(customer=promised_account, promised_date=ON, amount=D("70"), currency="EUR")
    account = BankAccount.objects.get(iban="BE71096123456769")
    statement = BankStatement.objects.create(
        bank_account=account, statement_key="S", format="csv", file_sha256="0" * 64, currency="EUR"
    )
    PayerIdentity.objects.create(kind="iban", value="BE68539007547034", customer=plain)
    StatementLine.objects.create(
        statement=statement,
        bank_account=account,
        dedupe_key="ref:1",
        position=1,
        booking_date=ON,
        value_date=ON,
        amount=D("123.45"),
        currency="EUR",
        counterparty_iban="BE68 5390 0754 7034",
    )
    result = skips.screen(
        rows_for(partly, wholly, tiny, by_iban, on_block, on_promise), on=ON, step=CollectionSkip.Step.DUNNING
    )
    assert [(row["id"], row["amount"]) for row in result.chase] == [(partly.pk, D("200.00"))]
    assert {(s.invoice_id, s.reason) for s in result.skips} == {
        (wholly.pk, "disputed"),
        (tiny.pk, "below_minimum"),
        (by_iban.pk, "likely_paid"),
        (on_block.pk, "blocked"),
        (on_promise.pk, "promised"),
    }
    again = skips.screen(rows_for(wholly), on=ON, step=CollectionSkip.Step.DUNNING)
    assert again.skips == []  # the same skip of the same day is recorded once
    assert CollectionSkip.objects.filter(invoice=wholly).count() == 1


def test_a_block_ending_yesterday_and_a_broken_promise_no_longer_stop_dunning():
    customer = CustomerFactory()
    item = overdue(customer, "100.00", 10)
    DunningBlock.objects.create(customer=customer, reason="Holiday", until=ON - datetime.timedelta(days=1))
    promise = PromiseToPay.objects.create(
        customer=customer, promised_date=ON - datetime.timedelta(days=2), amount=D("100"), currency="EUR"
    )
    promise.invoices.add(item)  # 1 grace day: broken since yesterday
    assert [row["id"] for row in skips.screen(rows_for(item), on=ON, step="dunning").chase] == [item.pk]


def test_one_letter_per_customer_and_currency_at_the_highest_item_level():
    customer = CustomerFactory()
    a = overdue(customer, "100.00", 10)
    b = overdue(customer, "200.00", 30)
    customer.currency = "USD"
    customer.save()
    c = overdue(customer, "300.00", 50)
    run = dunning.plan_run(on=ON)
    letters = {
        letter.currency: (letter.level.level, sorted((i.invoice_id, i.level.level) for i in letter.items.all()))
        for letter in DunningLetter.objects.filter(run=run)
    }
    assert letters == {"EUR": (2, sorted([(a.pk, 1), (b.pk, 2)])), "USD": (3, [(c.pk, 3)])}
    eur = DunningLetter.objects.get(run=run, currency="EUR")
    assert eur.fee == D("10.00")  # the letter level's fee, once
    assert eur.interest == D("1.97")  # only b's level charges interest: 200 x 12% x 30/365 = 1.9726
    assert eur.total_overdue == D("300.00")


def test_a_segment_uses_its_own_procedure():
    procedure = DunningProcedure.objects.create(code="KEY", name="Key accounts", segment="key")
    DunningLevel.objects.create(procedure=procedure, level=1, name="Gentle", days_overdue=20, letter_text="Hello")
    key, other = CustomerFactory(segment="key"), CustomerFactory()
    overdue(key, "100.00", 10)
    late_key = overdue(key, "100.00", 25)
    other_item = overdue(other, "100.00", 10)
    run = dunning.plan_run(on=ON)
    assert sorted(
        (i.invoice_id, i.level.procedure.code, i.level.level) for i in dunning.counted_items().filter(letter__run=run)
    ) == sorted([(late_key.pk, "KEY", 1), (other_item.pk, "STANDARD", 1)])


def test_preview_waits_a_discarded_run_frees_its_items_and_a_day_runs_once(django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    item = overdue(customer, "100.00", 8)
    run = flow.run_dunning(on=ON)
    assert run.status == DunningRun.Status.PREVIEW and run.letters_count == 1
    assert flow.run_dunning(on=ON).pk == run.pk  # the beat firing twice
    next_day = dunning.plan_run(on=ON + datetime.timedelta(days=1))
    assert next_day.letters_count == 0  # the waiting preview counts: not proposed twice
    flow.discard_dunning_run(run=run, by=None)
    assert DunningLetter.objects.get(run=run).status == DunningLetter.Status.CANCELLED
    again = dunning.plan_run(on=ON)  # a discarded day may be run again
    assert again.pk != run.pk and [i.invoice_id for i in dunning.counted_items().filter(letter__run=again)] == [item.pk]
    with pytest.raises(dunning.DunningError):
        flow.discard_dunning_run(run=run, by=None)


def test_automatic_mode_approves_at_once_and_queues_each_letter(django_capture_on_commit_callbacks):
    settings = CollectionsSettings.current()
    settings.dunning_mode = "automatic"
    settings.save()
    overdue(CustomerFactory(), "100.00", 8)
    overdue(CustomerFactory(), "100.00", 8)
    with django_capture_on_commit_callbacks() as callbacks:
        run = flow.run_dunning(on=ON)
    assert run.status == DunningRun.Status.APPROVED
    assert len(callbacks) == 2  # one delivery task per letter, sent to the broker at commit


def test_reminders_by_segment_moment_once_per_invoice_and_moment():
    ReminderPolicy.objects.create(segment="key", days_before_due=14)
    key, other = CustomerFactory(segment="key"), CustomerFactory()
    due_in_7 = open_invoice(other, "100.00", issue_date=ON - datetime.timedelta(days=23))
    due_in_14_key = open_invoice(key, "100.00", issue_date=ON - datetime.timedelta(days=16))
    open_invoice(key, "100.00", issue_date=ON - datetime.timedelta(days=23))  # key has no 7-day moment
    planned = reminders.plan(on=ON)
    assert sorted(Reminder.objects.filter(pk__in=planned).values_list("invoice_id", "days_before_due")) == sorted(
        [(due_in_7.pk, 7), (due_in_14_key.pk, 14)]
    )
    assert reminders.plan(on=ON) == []  # twice on a day: nothing twice
    assert Reminder.objects.count() == 2


@pytest.mark.parametrize(
    ("language", "start"), [("fr", "Rappel"), ("nl", "Herinnering"), ("de", "Erinnerung"), ("es", "Reminder")]
)
def test_reminder_text_in_the_customer_language_else_english(language, start):
    invoice = open_invoice(CustomerFactory(language=language), "100.00")
    subject, body = reminders.render_email(
        "reminder",
        language,
        {
            "invoice": invoice,
            "days_before_due": 7,
            "amount": D("100.00"),
            "reference": "RF",
            "pay_link": "L",
            "seller": "S",
        },
    )
    assert subject.startswith(start) and invoice.number in subject and "L" in body
