"""Credit decisions through the flow and the credit services: what is recorded (policy
version, exposure parts), the policy versions, limits with four eyes, applications,
temporary increases, rejections told by email, payment behaviour and the review queue."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from credit import services
from credit.models import CreditApplication, CreditDecision, CreditLimitChange, CreditPolicy, CreditProfile, ReviewItem
from credit.services import CreditError
from o2c import flow
from o2c.core.models import TimelineEvent
from orders.models import SalesOrder
from orders.services import LineInput
from receivables.models import Payment
from tests.core.factories import AR, CLERK, CREDIT, WAREHOUSE
from tests.credit.builders import open_invoice, unapplied_payment
from tests.credit.factories import credit_limit
from tests.fulfillment.factories import stock
from tests.orders.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db
FINANCE = "Finance manager"


@pytest.fixture
def widget(db):
    product = ProductFactory(sku="W-100", unit_price=Decimal("100.00"), tax_rate=Decimal("0"))
    stock(product, "1000")
    return product


def submit(customer, staff, quantity="1", sku="W-100"):
    clerk = staff(CLERK)
    clerk.email = "clerk@o2c.example"
    clerk.save()
    return flow.submit_order(by=clerk, customer_account=customer.account_number, lines=[LineInput(sku, quantity)])


def test_a_decision_records_the_policy_version_and_every_part_of_the_exposure(staff, widget):
    customer = CustomerFactory()
    credit_limit(customer, "1000.00")
    open_invoice(customer, total="300.00")
    unapplied_payment(customer, amount="50.00")
    first = submit(customer, staff, "2")  # 250 + 200 = 450 <= 1000: approved
    assert first.status == SalesOrder.Status.APPROVED
    second = submit(customer, staff, "6")  # 250 + 200 approved + 600 = 1050 > 1000: held
    assert second.status == SalesOrder.Status.CREDIT_HOLD
    decision = second.credit_decisions.get()
    policy = CreditPolicy.objects.order_by("-version").first()
    assert decision.policy == policy
    assert (decision.open_receivables, decision.approved_not_shipped, decision.unapplied_cash) == (
        Decimal("300.00"),
        Decimal("200.00"),
        Decimal("50.00"),
    )
    assert decision.exposure == Decimal("450.00") and decision.order_amount == Decimal("600.00")
    assert decision.failed_rules == "limit"
    assert decision.reason_list == [
        "Credit limit exceeded: exposure 450.00 EUR + this order 600.00 EUR = 1,050.00 EUR, limit 1,000.00 EUR."
    ]


def test_every_failed_rule_is_listed(staff, widget):
    customer = CustomerFactory()
    profile = credit_limit(customer, "100.00")
    profile.approved_until = timezone.localdate() - datetime.timedelta(days=1)
    profile.save()
    open_invoice(customer, total="20000.00", due=timezone.localdate() - datetime.timedelta(days=45))
    order = submit(customer, staff)
    assert order.status == SalesOrder.Status.CREDIT_HOLD
    decision = order.credit_decisions.get()
    assert decision.failed_rules.split(",") == ["limit", "overdue_days", "overdue_amount", "approval"]
    assert decision.oldest_overdue_days == 45 and decision.overdue_amount == Decimal("20000.00")


def test_a_policy_edit_is_a_new_version_and_old_decisions_keep_theirs(staff, widget):
    customer = CustomerFactory()
    credit_limit(customer, "100000.00")
    open_invoice(customer, total="50.00", due=timezone.localdate() - datetime.timedelta(days=20))
    finance = staff(FINANCE)
    v1 = services.publish_policy(by=finance, note="Start", max_days_overdue=30)
    approved = submit(customer, staff)
    assert approved.status == SalesOrder.Status.APPROVED
    v2 = services.publish_policy(by=finance, note="Tighter after Q3 losses", max_days_overdue=14)
    held = submit(customer, staff)
    assert held.status == SalesOrder.Status.CREDIT_HOLD
    assert v2.version == v1.version + 1
    assert approved.credit_decisions.get().policy == v1 and held.credit_decisions.get().policy == v2
    v1.refresh_from_db()
    assert v1.max_days_overdue == 30  # never updated in place
    with pytest.raises(CreditError) as error:
        services.publish_policy(by=finance, note="", max_days_overdue=1)
    assert ("policy", "note", "is required") in error.value.problems
    with pytest.raises(CreditError) as error:
        services.publish_policy(by=finance, note="x", max_overdue_amount=Decimal("-1"))
    assert error.value.problems[0][1] == "max_overdue_amount"
    assert CreditPolicy.objects.count() == v2.version  # nothing saved by the refusals


def test_a_returning_customer_with_a_current_approval_goes_straight_through(staff, widget):
    customer = CustomerFactory()
    profile = credit_limit(customer, "5000.00")
    profile.approved_until = timezone.localdate() + datetime.timedelta(days=90)
    profile.save()
    assert submit(customer, staff).status == SalesOrder.Status.APPROVED


def test_the_group_limit_holds_an_order_within_the_customer_limit(staff, widget):
    parent = CustomerFactory()
    child = CustomerFactory(parent=parent)
    sister = CustomerFactory(parent=parent)
    credit_limit(parent, "500.00")
    credit_limit(child, "1000.00")
    credit_limit(sister, "1000.00")
    open_invoice(sister, total="450.00")
    order = submit(child, staff)  # child: 0 + 100 <= 1000; group: 450 + 100 > 500
    assert order.status == SalesOrder.Status.CREDIT_HOLD
    decision = order.credit_decisions.get()
    assert decision.failed_rules == "group_limit"
    assert (decision.group_exposure, decision.group_limit) == (Decimal("450.00"), Decimal("500.00"))


def test_limit_in_another_currency_converts_and_a_missing_rate_holds_with_its_name(staff, widget):
    customer = CustomerFactory()
    profile = credit_limit(customer, "1000.00")
    profile.currency = "USD"
    profile.save()
    order = submit(customer, staff)
    assert order.status == SalesOrder.Status.CREDIT_HOLD
    assert "No exchange rate from EUR to USD" in order.credit_decisions.get().reasons
    from credit.models import ExchangeRate

    ExchangeRate.objects.create(
        from_currency="USD", to_currency="EUR", rate=Decimal("0.8"), valid_from=timezone.localdate()
    )
    order = submit(customer, staff)  # 100 EUR = 125 USD within 1000 USD
    assert order.status == SalesOrder.Status.APPROVED
    decision = order.credit_decisions.get()
    assert (decision.currency, decision.order_amount) == ("USD", Decimal("125.00"))


def test_release_with_a_temporary_increase_and_reject_tells_clerk_and_customer(staff, widget):
    customer = CustomerFactory()
    credit_limit(customer, "100.00")
    held = submit(customer, staff, "3")
    manager = staff(CREDIT)
    until = timezone.localdate() + datetime.timedelta(days=14)
    with pytest.raises(CreditError) as error:
        flow.decide_credit_hold(
            order=held, release=True, reason="x", by=manager, temporary_increase=Decimal("500"), temporary_until=None
        )
    assert ("decision", "until", "give an expiry date, today or later") in error.value.problems
    order = flow.decide_credit_hold(
        order=held,
        release=True,
        reason="Seasonal peak",
        by=manager,
        temporary_increase=Decimal("500"),
        temporary_until=until,
    )
    assert order.status == SalesOrder.Status.APPROVED
    profile = CreditProfile.objects.get(customer=customer)
    assert (profile.temporary_increase, profile.temporary_until) == (Decimal("500.00"), until)
    assert profile.effective_limit(timezone.localdate()) == Decimal("600.00")
    assert profile.effective_limit(until + datetime.timedelta(days=1)) == Decimal("100.00")
    release = order.credit_decisions.first()
    assert release.outcome == CreditDecision.Outcome.RELEASED and release.decided_by == manager
    assert TimelineEvent.objects.filter(verb="temporary_limit", trail=order.trail).exists()

    # 300 approved + 300 = 600 <= 600 (temporary limit): approved; the next 300 is held and rejected
    assert submit(customer, staff, "3").status == SalesOrder.Status.APPROVED
    held = submit(customer, staff, "3")
    assert held.status == SalesOrder.Status.CREDIT_HOLD
    order = flow.decide_credit_hold(order=held, release=False, reason="Over the limit, prepayment refused", by=manager)
    assert order.status == SalesOrder.Status.REJECTED
    assert order.credit_decisions.first().outcome == CreditDecision.Outcome.REJECTED


def test_rejection_emails_after_commit(staff, widget, django_capture_on_commit_callbacks):
    customer = CustomerFactory(email="ap@acme.example")
    credit_limit(customer, "1.00")
    held = submit(customer, staff)
    with django_capture_on_commit_callbacks(execute=True):
        flow.decide_credit_hold(order=held, release=False, reason="Prepayment refused", by=staff(CREDIT))
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["ap@acme.example", "clerk@o2c.example"]
    customer_mail = next(m for m in mail.outbox if m.to == ["ap@acme.example"])
    assert held.number in customer_mail.subject and "Reason: Prepayment refused" in customer_mail.body


def test_a_payment_releases_the_held_order_automatically(staff, widget):
    customer = CustomerFactory()
    credit_limit(customer, "250.00")
    first = submit(customer, staff, "2")
    invoice = flow.ship(order=first, by=staff(WAREHOUSE))  # 200 open
    held = submit(customer, staff, "1")  # 200 + 100 = 300 > 250
    assert held.status == SalesOrder.Status.CREDIT_HOLD
    flow.receive_payment(invoice=invoice, amount=Decimal("40.00"), value_date=timezone.localdate(), by=staff(AR))
    held.refresh_from_db()
    assert held.status == SalesOrder.Status.CREDIT_HOLD  # 160 + 100 = 260 > 250: still held
    flow.receive_payment(invoice=invoice, amount=Decimal("10.00"), value_date=timezone.localdate(), by=staff(AR))
    held.refresh_from_db()
    assert held.status == SalesOrder.Status.APPROVED  # 150 + 100 = 250: within
    approval = held.credit_decisions.first()
    assert approval.outcome == CreditDecision.Outcome.APPROVED and approval.exposure == Decimal("150.00")
    assert approval.reasons == "Within credit again after a payment."


def test_a_raise_above_the_threshold_needs_a_second_person(staff):
    customer = CustomerFactory()
    profile = credit_limit(customer, "10000.00")
    manager, other, clerk = staff(CREDIT), staff(CREDIT, "credit2"), staff(CLERK)
    with pytest.raises(CreditError, match="needs the permission"):
        services.request_limit_change(profile=profile, new_limit=Decimal("1"), reason="x", by=clerk)
    small = services.request_limit_change(profile=profile, new_limit=Decimal("20000.00"), reason="Growth", by=manager)
    assert small.status == CreditLimitChange.Status.APPLIED
    profile.refresh_from_db()
    assert profile.credit_limit == Decimal("20000.00")
    big = services.request_limit_change(profile=profile, new_limit=Decimal("90000.00"), reason="New plant", by=manager)
    assert big.status == CreditLimitChange.Status.PENDING
    profile.refresh_from_db()
    assert profile.credit_limit == Decimal("20000.00")  # not yet
    with pytest.raises(CreditError, match="Four eyes"):
        services.decide_limit_change(change=big, approve=True, by=manager)
    with pytest.raises(CreditError, match="already waits"):
        services.request_limit_change(profile=profile, new_limit=Decimal("1.00"), reason="x", by=other)
    services.decide_limit_change(change=big, approve=True, by=other, note="Checked the financials")
    profile.refresh_from_db()
    big.refresh_from_db()
    assert profile.credit_limit == Decimal("90000.00")
    assert (big.status, big.approved_by, big.old_limit) == (
        CreditLimitChange.Status.APPLIED,
        other,
        Decimal("20000.00"),
    )
    history = list(profile.limit_changes.values_list("old_limit", "new_limit", "requested_by__username", "reason"))
    assert history == [
        (Decimal("20000.00"), Decimal("90000.00"), "credit_manager", "New plant"),
        (Decimal("10000.00"), Decimal("20000.00"), "credit_manager", "Growth"),
    ]
    # the database refuses self-approval too
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditLimitChange.objects.filter(pk=big.pk).update(approved_by=manager)


def test_first_time_customer_waits_on_its_application_then_the_flow_decides_its_orders(staff, widget):
    newcomer = CustomerFactory(email="ap@new.example")
    first = submit(newcomer, staff, "2")
    assert first.status == SalesOrder.Status.CREDIT_HOLD
    assert first.credit_decisions.get().failed_rules == "profile"
    pdf = SimpleUploadedFile("financials.pdf", b"%PDF-1.4 demo", content_type="application/pdf")
    application = services.submit_application(
        customer=newcomer,
        requested_limit=Decimal("500.00"),
        trade_references="Acme, J. Doe",
        bank_name="KBC",
        by=staff(CLERK),
        document=pdf,
    )
    assert application.document.name.startswith(f"credit/applications/{newcomer.pk}/financials-")
    assert first.credit_decisions.first().reasons.startswith("Credit application pending")
    second = submit(newcomer, staff, "4")
    assert second.credit_decisions.get().failed_rules == "application_pending"
    flow.decide_credit_application(
        application=application,
        approve=True,
        by=staff(CREDIT),
        note="References good",
        approved_limit=Decimal("500.00"),
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == SalesOrder.Status.APPROVED  # 200 <= 500
    assert second.status == SalesOrder.Status.CREDIT_HOLD  # 200 + 400 > 500: stays, with today's reason
    assert second.credit_decisions.first().failed_rules == "limit"
    profile = CreditProfile.objects.get(customer=newcomer)
    assert profile.credit_limit == Decimal("500.00") and profile.review_due is not None


def test_a_rejected_application_rejects_the_waiting_orders(staff, widget, django_capture_on_commit_callbacks):
    newcomer = CustomerFactory(email="ap@risky.example")
    order = submit(newcomer, staff)
    application = services.submit_application(
        customer=newcomer, requested_limit=Decimal("500.00"), trade_references="x", bank_name="y", by=staff(CLERK)
    )
    with django_capture_on_commit_callbacks(execute=True):
        flow.decide_credit_application(application=application, approve=False, by=staff(CREDIT), note="No references")
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.REJECTED
    assert "Credit application rejected: No references" in order.credit_decisions.first().reasons
    assert {a for m in mail.outbox for a in m.to} == {"ap@risky.example", "clerk@o2c.example"}
    assert not CreditProfile.objects.filter(customer=newcomer).exists()


def test_application_input_is_checked_and_nothing_saved(staff):
    customer = CustomerFactory()
    fake = SimpleUploadedFile("financials.pdf", b"MZ\x90\x00 executable", content_type="application/pdf")
    with pytest.raises(CreditError) as error:
        services.submit_application(
            customer=customer,
            requested_limit=Decimal("0"),
            trade_references=" ",
            bank_name="",
            by=staff(CLERK),
            document=fake,
        )
    assert error.value.problems == [
        ("application", "requested limit", "must be more than zero"),
        ("application", "trade references", "give at least one"),
        ("application", "bank", "is required"),
        ("application", "document", "'financials.pdf' does not contain a PDF file"),
    ]
    exe = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    assert services.check_document(exe) == [("application", "document", "'run.exe' is not a PDF, PNG or JPEG file")]
    assert not CreditApplication.objects.exists()


def _paid_invoice(customer, *, issued_days_ago: int, paid_days_ago: int, terms: int = 30):
    today = timezone.localdate()
    invoice = open_invoice(
        customer, total="100.00", open_amount="0", due=today - datetime.timedelta(days=issued_days_ago - terms)
    )
    payment = unapplied_payment(customer, amount="100.00", applied="100.00")
    Payment.objects.filter(pk=payment.pk).update(value_date=today - datetime.timedelta(days=paid_days_ago))
    from receivables.models import Allocation

    Allocation.objects.create(payment=payment, invoice=invoice, amount=Decimal("100.00"))


@pytest.mark.parametrize("portable", [False, True])
def test_payment_behaviour_figures_and_risk_class(staff, portable):
    good, late = CustomerFactory(), CustomerFactory()
    credit_limit(good)
    credit_limit(late)
    _paid_invoice(good, issued_days_ago=100, paid_days_ago=80)  # 20 days to pay, on time
    _paid_invoice(late, issued_days_ago=100, paid_days_ago=30)  # 70 days to pay: 40 beyond terms
    _paid_invoice(late, issued_days_ago=60, paid_days_ago=25)  # 35 days: 5 beyond
    unapplied_payment(late, amount="10.00", status=Payment.Status.REVERSED)  # a returned payment
    if portable:
        services._recompute_behaviour_portably(timezone.localdate() - datetime.timedelta(days=365))
    else:
        if connection.vendor != "postgresql":
            pytest.skip("the set-based statement is PostgreSQL's")
        assert services.recompute_behaviour() == 2
    good_profile, late_profile = CreditProfile.objects.get(customer=good), CreditProfile.objects.get(customer=late)
    assert (good_profile.average_days_to_pay, good_profile.percent_paid_late, good_profile.risk_class) == (
        Decimal("20.0"),
        Decimal("0.0"),
        "A",
    )
    assert (late_profile.average_days_to_pay, late_profile.average_days_beyond_terms) == (
        Decimal("52.5"),
        Decimal("22.5"),
    )
    # signed, for the cash forecast: the good payer paid 10 days early, the late one 40 and 5 days late
    assert (good_profile.average_days_late, late_profile.average_days_late) == (Decimal("-10.0"), Decimal("22.5"))
    assert (late_profile.percent_paid_late, late_profile.nsf_count) == (Decimal("100.0"), 1)
    assert late_profile.risk_class == "D"  # a returned payment and half paid late
    assert late_profile.behaviour_computed_at is not None


@pytest.mark.parametrize(
    ("beyond", "late", "nsf", "expected"),
    [
        (None, None, 0, "A"),
        (Decimal("0"), Decimal("5"), 0, "A"),
        (Decimal("0.5"), Decimal("0"), 0, "B"),
        (Decimal("10.1"), Decimal("0"), 0, "C"),
        (Decimal("0"), Decimal("25.1"), 0, "C"),
        (Decimal("30.1"), Decimal("0"), 0, "D"),
        (Decimal("0"), Decimal("50.1"), 0, "D"),
        (Decimal("0"), Decimal("0"), 1, "D"),
        (Decimal("60.1"), Decimal("0"), 0, "E"),
        (Decimal("0"), Decimal("0"), 3, "E"),
    ],
)
def test_risk_class_scorecard(beyond, late, nsf, expected):
    assert services.risk_class_for(days_beyond_terms=beyond, percent_late=late, nsf=nsf, disputes=0) == expected


def test_weekly_review_lists_due_and_worsened_profiles_once(staff):
    today = timezone.localdate()
    due = credit_limit(CustomerFactory())
    due.review_due = today - datetime.timedelta(days=1)
    due.reviewed_at = today - datetime.timedelta(days=366)
    due.save()
    worse = credit_limit(CustomerFactory())
    worse.reviewed_at, worse.review_due = today, today + datetime.timedelta(days=300)
    worse.reviewed_risk_class, worse.risk_class = "B", "D"
    worse.save()
    fine = credit_limit(CustomerFactory())
    fine.reviewed_at, fine.review_due, fine.reviewed_risk_class, fine.risk_class = (
        today,
        today + datetime.timedelta(days=300),
        "C",
        "A",
    )
    fine.save()
    assert services.list_for_review(on=today) == 2
    assert services.list_for_review(on=today) == 0  # idempotent: open items are not listed again
    items = {(i.profile_id, i.kind) for i in ReviewItem.objects.all()}
    assert items == {(due.pk, "due"), (worse.pk, "worsened")}
    item = ReviewItem.objects.get(profile=worse)
    assert item.detail == "Risk class went from B to D."
    services.resolve_review(item=item, by=staff(CREDIT), resolution="Limit lowered, watch monthly")
    worse.refresh_from_db()
    assert worse.reviewed_risk_class == "D" and worse.reviewed_at == today
    assert services.list_for_review(on=today) == 0
