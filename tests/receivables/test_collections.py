"""Collections services: promises to pay kept or broken (to the day), collector assignment rules,
the worklist score and its order, calls, notes, tasks and template emails in the customer's
language through a real SMTP server."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from credit.models import CreditProfile
from orders.models import Contact
from receivables import collections, services
from receivables.models import (
    CollectionActivity,
    CollectionsSettings,
    Collector,
    CollectorAssignment,
    CollectorRule,
    PromiseToPay,
)
from receivables.services import ReceivablesError
from tests.core.factories import user_in
from tests.invoicing.test_sending import smtp_server  # noqa: F401 - the fixture
from tests.orders.factories import CustomerFactory

from .factories import open_invoice

pytestmark = pytest.mark.django_db
D = datetime.timedelta


@pytest.fixture
def today():
    return timezone.localdate()


def overdue_invoice(customer, total, *, days_overdue: int, today):
    """An open invoice that fell due `days_overdue` days before today."""
    return open_invoice(customer, total, issue_date=today - D(days=days_overdue + 30), due_days=30)


def collector(name: str) -> Collector:
    return Collector.objects.create(user=user_in("AR clerk", username=name))


# --- promises to pay ---------------------------------------------------------------------------------
# (payments as (days from today, amount), promised in days, grace days, review on day, expected status)
PROMISE_TABLE = [
    ([(2, "100.00")], 5, 1, 3, "kept"),  # paid in full before the date: kept at once
    ([(5, "100.00")], 5, 1, 5, "kept"),  # paid on the promised date itself
    ([(2, "60.00"), (4, "40.00")], 5, 1, 4, "kept"),  # two part payments reach the amount
    ([(2, "60.00")], 5, 1, 5, "open"),  # short, but the day is not over
    ([(2, "60.00")], 5, 1, 6, "broken"),  # short: broken exactly the day after
    ([], 5, 1, 5, "open"),
    ([], 5, 1, 6, "broken"),
    ([(6, "100.00")], 5, 1, 6, "broken"),  # paid a day late: does not keep the promise
    ([(-1, "100.00")], 5, 1, 6, "broken"),  # paid before the promise was made: not towards it
    ([], 5, 3, 7, "open"),  # three grace days: still open two days after
    ([], 5, 3, 8, "broken"),  # ... and broken on the third
]


@pytest.mark.parametrize(("payments", "promised_in", "grace", "review_on", "expected"), PROMISE_TABLE)
def test_promise_kept_or_broken(today, payments, promised_in, grace, review_on, expected):
    settings_row = CollectionsSettings.current()
    settings_row.promise_grace_days = grace
    settings_row.save()
    customer = CustomerFactory()
    invoice = overdue_invoice(customer, "250.00", days_overdue=10, today=today)
    promise = collections.record_promise(
        customer=customer, promised_date=today + D(days=promised_in), amount=Decimal("100.00"), on=today
    )
    for days, amount in payments:
        payment = services.record_payment(customer=customer, amount=Decimal(amount), value_date=today + D(days=days))
        services.allocate_payment(payment=payment, invoice=invoice, amount=Decimal(amount))
    counts = collections.review_promises(on=today + D(days=review_on))
    promise.refresh_from_db()
    assert promise.status == expected
    assert counts == {"kept": int(expected == "kept"), "broken": int(expected == "broken")}
    if expected != "open":
        assert promise.closed_on == today + D(days=review_on)


def test_broken_promise_creates_one_call_task_and_a_follow_up(today):
    customer = CustomerFactory()
    overdue_invoice(customer, "300.00", days_overdue=20, today=today)
    CollectorAssignment.objects.create(customer=customer, collector=collector("cora"))
    collections.record_promise(customer=customer, promised_date=today, amount=Decimal("300.00"), on=today)
    assert collections.review_promises(on=today) == {"kept": 0, "broken": 0}
    tomorrow = today + D(days=1)
    assert collections.review_promises(on=tomorrow) == {"kept": 0, "broken": 1}
    assert collections.review_promises(on=tomorrow) == {"kept": 0, "broken": 0}  # twice: nothing more
    (task,) = CollectionActivity.objects.filter(customer=customer)
    assert (task.kind, task.done, task.follow_up_on) == (CollectionActivity.Kind.CALL_TASK, False, tomorrow)
    assert "300.00 EUR" in task.summary and "broken" in task.summary
    assert CollectorAssignment.objects.get(customer=customer).next_action_on == tomorrow
    collections.complete_task(activity=task, outcome=CollectionActivity.Outcome.PROMISED, note="pays Friday")
    task.refresh_from_db()
    assert task.done and task.outcome == "promised" and task.summary.endswith("pays Friday")
    with pytest.raises(ReceivablesError, match="already done"):
        collections.complete_task(activity=task)


def test_promise_on_invoices_counts_only_cash_applied_to_them(today):
    customer = CustomerFactory()
    promised = overdue_invoice(customer, "100.00", days_overdue=10, today=today)
    other = overdue_invoice(customer, "100.00", days_overdue=10, today=today)
    promise = collections.record_promise(
        customer=customer, promised_date=today + D(days=3), amount=Decimal("100.00"), on=today, invoices=[promised]
    )
    payment = services.record_payment(customer=customer, amount=Decimal("100.00"), value_date=today)
    services.allocate_payment(payment=payment, invoice=other, amount=Decimal("100.00"))
    collections.review_promises(on=today + D(days=1))
    promise.refresh_from_db()
    assert promise.status == "open"
    payment = services.record_payment(customer=customer, amount=Decimal("100.00"), value_date=today + D(days=2))
    services.allocate_payment(payment=payment, invoice=promised, amount=Decimal("100.00"))
    collections.review_promises(on=today + D(days=2))
    promise.refresh_from_db()
    assert promise.status == "kept"


@pytest.mark.parametrize(
    ("amount", "promised_in", "own_invoice", "message"),
    [
        ("0", 3, True, "promise, amount: must be above zero"),
        ("-5", 3, True, "promise, amount: must be above zero"),
        ("50", -1, True, "promise, promised date: must be today"),
        ("50", 181, True, "promise, promised date: must be within 180 days"),
        ("50", 3, False, "belongs to another customer"),
        ("150.01", 3, True, "promise, amount: is more than the 150.00 open on the promised invoices"),
    ],
)
def test_promise_refused_with_a_clear_message(today, amount, promised_in, own_invoice, message):
    customer, stranger = CustomerFactory(), CustomerFactory()
    invoice = overdue_invoice(customer if own_invoice else stranger, "150.00", days_overdue=5, today=today)
    with pytest.raises(ReceivablesError, match="The promise to pay was not recorded") as refused:
        collections.record_promise(
            customer=customer,
            promised_date=today + D(days=promised_in),
            amount=Decimal(amount),
            on=today,
            invoices=[invoice],
        )
    assert message in str(refused.value)
    assert not PromiseToPay.objects.exists()


def test_promise_on_the_account_is_limited_to_what_is_open(today):
    customer = CustomerFactory()
    overdue_invoice(customer, "80.00", days_overdue=5, today=today)
    with pytest.raises(ReceivablesError, match="more than the 80.00 open on the account"):
        collections.record_promise(customer=customer, promised_date=today, amount=Decimal("80.01"), on=today)


# --- assignment rules --------------------------------------------------------------------------------
def test_rules_assign_by_priority_segment_and_balance_and_explicit_wins(today):
    retail_desk, key_accounts, everyone = collector("retail"), collector("keys"), collector("rest")
    CollectorRule.objects.create(collector=retail_desk, priority=10, segment="retail")
    CollectorRule.objects.create(collector=key_accounts, priority=20, min_balance=Decimal("1000.00"))
    CollectorRule.objects.create(collector=everyone, priority=100)
    small_shop = CustomerFactory(segment="retail")
    big_shop = CustomerFactory(segment="retail")
    big_wholesaler = CustomerFactory(segment="wholesale")
    small_wholesaler = CustomerFactory(segment="wholesale")
    hand_picked = CustomerFactory(segment="wholesale")
    for customer, total in [(small_shop, "50"), (big_shop, "5000"), (big_wholesaler, "1000.00")]:
        overdue_invoice(customer, total, days_overdue=3, today=today)
    overdue_invoice(small_wholesaler, "999.99", days_overdue=3, today=today)
    overdue_invoice(hand_picked, "9000", days_overdue=3, today=today)
    collections.assign_collector(customer=hand_picked, collector=retail_desk)

    counts = collections.apply_collector_rules()
    assigned = dict(CollectorAssignment.objects.values_list("customer_id", "collector_id"))
    assert assigned == {
        small_shop.pk: retail_desk.pk,  # segment rule first (priority 10)
        big_shop.pk: retail_desk.pk,  # retail wins over size: lower priority number
        big_wholesaler.pk: key_accounts.pk,  # the minimum is included
        small_wholesaler.pk: everyone.pk,
        hand_picked.pk: retail_desk.pk,  # explicit: no rule touches it
    }
    assert counts == {"created": 4, "changed": 0, "removed": 0}
    assert collections.apply_collector_rules() == {"created": 0, "changed": 0, "removed": 0}  # idempotent

    CollectorRule.objects.filter(collector=retail_desk).update(max_balance=Decimal("100.00"))
    CollectorRule.objects.filter(collector=everyone).delete()
    assert collections.apply_collector_rules() == {"created": 0, "changed": 1, "removed": 1}
    assigned = dict(CollectorAssignment.objects.values_list("customer_id", "collector_id"))
    assert assigned[big_shop.pk] == key_accounts.pk and small_wholesaler.pk not in assigned
    assert assigned[hand_picked.pk] == retail_desk.pk

    collections.assign_collector(customer=hand_picked, collector=None)  # back to the rules
    collections.apply_collector_rules()
    assert CollectorAssignment.objects.get(customer=hand_picked).collector == key_accounts


# --- the worklist score ------------------------------------------------------------------------------
def test_worklist_score_parts_and_order(today):
    mine = collector("me")
    big_recent = CustomerFactory(name="Big recent")  # 5,000 overdue 5 days, class A
    small_old = CustomerFactory(name="Small old")  # 200 overdue 90 days, class C
    promise_breaker = CustomerFactory(name="Breaker")  # 1,000 overdue 40 days, class D, 1 broken promise
    overdue_invoice(big_recent, "5000.00", days_overdue=5, today=today)
    overdue_invoice(small_old, "150.00", days_overdue=90, today=today)
    overdue_invoice(small_old, "50.00", days_overdue=10, today=today)
    overdue_invoice(promise_breaker, "1000.00", days_overdue=40, today=today)
    open_invoice(promise_breaker, "700.00", issue_date=today, due_days=30)  # not due: not in the score
    CreditProfile.objects.create(customer=big_recent, risk_class="A")
    CreditProfile.objects.create(customer=small_old, risk_class="C")
    CreditProfile.objects.create(customer=promise_breaker, risk_class="D")
    PromiseToPay.objects.create(
        customer=promise_breaker, promised_date=today - D(days=3), amount=Decimal("10"), currency="EUR", status="broken"
    )
    CollectorAssignment.objects.create(customer=promise_breaker, collector=mine, next_action_on=today)
    no_profile = CustomerFactory(name="No profile")
    overdue_invoice(no_profile, "100.00", days_overdue=1, today=today)

    page = collections.worklist(on=today)
    scores = [
        (row.name, row.amount_points, row.days_points, row.risk_points, row.promise_points, row.score)
        for row in page.rows
    ]
    assert scores == [
        ("Breaker", Decimal("10.00"), 40, 60, 50, Decimal("160.00")),
        ("Small old", Decimal("2.00"), 90, 30, 0, Decimal("122.00")),
        ("Big recent", Decimal("50.00"), 5, 0, 0, Decimal("55.00")),
        ("No profile", Decimal("1.00"), 1, 10, 0, Decimal("12.00")),
    ]
    breaker = page.rows[0]
    assert (breaker.overdue_amount, breaker.overdue_items, breaker.risk_class) == (Decimal("1000.00"), 1, "D")
    assert breaker.collector == str(mine) and breaker.next_action == f"Follow up on {today:%Y-%m-%d}"
    assert page.rows[1].overdue_items == 2 and page.rows[1].oldest_due == today - D(days=90)
    assert page.total == 4
    assert [row.name for row in collections.worklist(on=today, collector_id=mine.pk).rows] == ["Breaker"]
    second = collections.worklist(on=today, page=2, per_page=3)
    assert [row.name for row in second.rows] == ["No profile"] and second.total == 4 and not second.has_next


def test_worklist_segment_filter_and_next_actions(today):
    shop = CustomerFactory(segment="retail")
    overdue_invoice(shop, "100.00", days_overdue=3, today=today)
    other = CustomerFactory(segment="public")
    overdue_invoice(other, "100.00", days_overdue=3, today=today)
    CollectionActivity.objects.create(customer=shop, kind="call_task", summary="Call", done=False)
    collections.record_promise(customer=other, promised_date=today + D(days=4), amount=Decimal("50"), on=today)
    (row,) = collections.worklist(on=today, segment="retail").rows
    assert row.customer_id == shop.pk and row.next_action == "1 open call task"
    (row,) = collections.worklist(on=today, segment="public").rows
    assert row.next_action == f"Promise due {today + D(days=4):%Y-%m-%d}"
    assert collections.worklist(on=today, segment="export").rows == []


# --- activities ----------------------------------------------------------------------------------------
def test_log_call_sets_the_follow_up_and_refuses_bad_input(today):
    customer = CustomerFactory()
    CollectorAssignment.objects.create(customer=customer, collector=collector("cal"))
    call = collections.log_call(
        customer=customer, outcome="no_answer", summary="Voicemail", on=today, follow_up_on=today + D(days=2)
    )
    assert (call.kind, call.outcome, call.follow_up_on) == ("call", "no_answer", today + D(days=2))
    assert CollectorAssignment.objects.get(customer=customer).next_action_on == today + D(days=2)
    with pytest.raises(ReceivablesError) as refused:
        collections.log_call(customer=customer, outcome="", summary=" ", on=today, follow_up_on=today - D(days=1))
    assert "call, outcome: choose what came of the call" in str(refused.value)
    assert "call, summary: say what was said" in str(refused.value)
    assert "call, follow up on: must be today or later" in str(refused.value)
    assert CollectionActivity.objects.count() == 1


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Overdue notice: account {account}"),
        ("fr", "Avis de retard de paiement : compte {account}"),
        ("nl", "Betalingsachterstand: rekening {account}"),
        ("de", "Zahlungsrückstand: Konto {account}"),
        ("es", "Overdue notice: account {account}"),  # no Spanish: English
    ],
)
def test_template_email_in_the_customers_language_to_the_dunning_contact(smtp_server, today, language, subject):  # noqa: F811
    mailbox, _ = smtp_server
    customer = CustomerFactory(language=language)
    Contact.objects.create(customer=customer, name="AP", email="ap-invoices@buyer.example", role="invoices")
    Contact.objects.create(customer=customer, name="Dunning", email="dunning@buyer.example", role="dunning")
    overdue_invoice(customer, "1234.50", days_overdue=12, today=today)
    activity = collections.send_template_email(customer=customer, template="overdue_notice", on=today)
    (message,) = mailbox.messages
    assert message["To"] == "dunning@buyer.example"
    assert message["Subject"] == subject.format(account=customer.account_number)
    assert "1,234.50 EUR" in message.get_body(("plain",)).get_content()
    assert activity.kind == "email" and "dunning@buyer.example" in activity.summary


def test_template_email_falls_back_to_invoice_contacts_then_the_invoice_email(smtp_server, today):  # noqa: F811
    mailbox, _ = smtp_server
    customer = CustomerFactory(email="billing@buyer.example")
    collections.send_template_email(customer=customer, template="friendly_reminder", on=today)
    Contact.objects.create(customer=customer, name="AP", email="ap@buyer.example", role="invoices")
    collections.send_template_email(customer=customer, template="friendly_reminder", on=today)
    assert [m["To"] for m in mailbox.messages] == ["billing@buyer.example", "ap@buyer.example"]
    with pytest.raises(ReceivablesError, match="unknown template"):
        collections.send_template_email(customer=customer, template="nope", on=today)
