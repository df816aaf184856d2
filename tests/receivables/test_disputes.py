"""Disputes: opening (amount rules, documents attached, owner and due date), the thread,
resolution through o2c.flow (credit notes reduce the open amount, the ledger stays whole), and
reason statistics."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from credit.models import CreditProfile
from invoicing.models import Invoice
from o2c import flow
from o2c.core.models import TimelineEvent
from receivables import dispute_selectors, disputes
from receivables.disputes import DisputedLine, DisputeError
from receivables.models import Dispute, DisputeAttachment, DisputeMessage
from receivables.selectors import ledger_integrity_problems
from tests.core.factories import AR, user_in
from tests.portal.factories import invoice_for

from .dispute_helpers import PDF, png_bytes, two_line_invoice, upload, world

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def w(staff):
    return world(staff, collector_user=user_in(AR, username="carla"))


def test_a_whole_invoice_dispute_takes_its_open_amount_owner_due_date_and_documents(w):
    invoice = w["invoice"]
    shipment = invoice.shipment or invoice.lines.get().shipment_line.shipment
    flow.record_delivery(shipment=shipment, signer_name="J. Peeters", signed_at=timezone.now(), by=w["warehouse"])
    dispute = flow.open_dispute(
        invoice=invoice,
        reason="damaged",
        by=w["ar"],
        description="Two crates broken",
        uploads=[upload("p.png", png_bytes())],
    )
    assert dispute.amount == D("121.00") and dispute.status == Dispute.Status.OPEN
    assert dispute.owner.username == "carla"  # the customer's collector
    assert dispute.due_date == timezone.localdate() + datetime.timedelta(days=14)
    sources = sorted(dispute.attachments.values_list("source", flat=True))
    assert sources == ["bol", "invoice", "order", "pod", "upload"]
    pod = dispute.attachments.get(source="pod")
    assert pod.name == f"Proof of delivery {shipment.number}, signed by J. Peeters" and pod.link.startswith("pod:")
    uploaded = dispute.attachments.get(source="upload")
    assert uploaded.content_type == "image/png" and uploaded.size > 0 and uploaded.message is not None
    assert CreditProfile.objects.get(customer=w["customer"]).open_disputes == 1
    assert dispute_selectors.disputed_amounts([invoice.pk]) == {invoice.pk: D("121.00")}
    assert TimelineEvent.objects.filter(verb="dispute_opened", trail=invoice.order.trail).count() == 1


def test_lines_dispute_their_gross_share(w, staff):
    invoice = two_line_invoice(w["clerk"], w["warehouse"], w["customer"])
    widgets, gadget = invoice.lines.order_by("line_number")
    dispute = flow.open_dispute(
        invoice=invoice,
        reason="quantity",
        by=w["ar"],
        lines=[DisputedLine(widgets.pk, quantity=D("1")), DisputedLine(gadget.pk)],
        due_date=datetime.date(2030, 1, 31),
        owner=None,
    )
    # 1 of 2 widgets: 121.00 of 242.00; the whole gadget line: 60.50
    assert dispute.amount == D("181.50")
    assert sorted((line.amount, line.quantity) for line in dispute.lines.all()) == [
        (D("60.50"), None),
        (D("121.00"), D("1.000")),
    ]
    assert dispute.due_date == datetime.date(2030, 1, 31)


BAD_OPENINGS = [  # (what, arguments, field, words in the reason)
    ("zero amount", {"amount": D("0")}, "amount", "must be above zero"),
    ("more than open", {"amount": D("121.01")}, "amount", "at most the 121.00 EUR still open"),
    ("unknown reason", {"reason": "weather"}, "reason", "choose one of"),
    ("other without words", {"reason": "other"}, "description", "say what is wrong"),
    ("foreign line", {"lines": [DisputedLine(999999)]}, "invoice line", "not a line of"),
    ("too many", {"lines": "qty3"}, "quantity", "between 0 and 1"),
    ("line over its gross", {"lines": "amount200"}, "amount", "at most the line's 121.00"),
    ("a text file", {"uploads": [upload("notes.pdf", b"just text, named .pdf")]}, "file", "only PDF, PNG or JPEG"),
    ("a broken image", {"uploads": [upload("x.png", b"\x89PNG\r\n\x1a\nbroken")]}, "file", "damaged"),
    ("too large", {"uploads": "big"}, "file", "at most 0 MB"),
]


@pytest.mark.parametrize(("what", "arguments", "field", "words"), BAD_OPENINGS, ids=[row[0] for row in BAD_OPENINGS])
def test_a_bad_dispute_is_refused_naming_the_field_and_nothing_is_saved(w, settings, what, arguments, field, words):
    invoice = w["invoice"]
    line = invoice.lines.get()
    arguments = dict(arguments)
    if arguments.get("lines") == "qty3":
        arguments["lines"] = [DisputedLine(line.pk, quantity=D("3"))]
    elif arguments.get("lines") == "amount200":
        arguments["lines"] = [DisputedLine(line.pk, amount=D("200"))]
    if arguments.get("uploads") == "big":
        settings.O2C_DISPUTE_UPLOAD_MAX_BYTES = 10
        arguments["uploads"] = [upload("scan.pdf", PDF)]
    arguments.setdefault("reason", "price")
    with pytest.raises(DisputeError) as refusal:
        flow.open_dispute(invoice=invoice, by=w["ar"], **arguments)
    assert [p[1] for p in refusal.value.problems] == [field], refusal.value.problems
    assert words in str(refusal.value)
    assert not Dispute.objects.exists() and not DisputeAttachment.objects.exists()


def test_one_open_dispute_per_invoice_and_none_on_paid_invoices(w):
    invoice = w["invoice"]
    first = flow.open_dispute(invoice=invoice, reason="price", amount=D("10.00"), by=w["ar"])
    with pytest.raises(DisputeError, match=f"dispute #{first.pk} on {invoice.number} is still open"):
        flow.open_dispute(invoice=invoice, reason="price", amount=D("5.00"), by=w["ar"])
    flow.resolve_dispute(dispute=first, outcome="rejected", note="Price as agreed in the contract", by=w["ar"])
    flow.receive_payment(invoice=invoice, amount=D("121.00"), value_date=timezone.localdate(), by=w["ar"])
    with pytest.raises(DisputeError) as refusal:
        flow.open_dispute(invoice=invoice, reason="price", by=w["ar"])
    assert refusal.value.problems == [("dispute", "invoice", f"{invoice.number} is paid: nothing is open")]


def test_full_acceptance_issues_a_credit_note_through_the_flow(w):
    invoice = w["invoice"]
    dispute = flow.open_dispute(invoice=invoice, reason="not_received", by=w["ar"])
    dispute = flow.resolve_dispute(dispute=dispute, outcome="credit_note", by=w["ar"])
    invoice.refresh_from_db()
    note = dispute.credit_note
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.status == Invoice.Status.ISSUED and note.number
    assert note.total == D("121.00") and note.credited_invoice_id == invoice.pk
    assert (invoice.amount_open, invoice.status) == (D("0.00"), Invoice.Status.PAID)
    assert (dispute.status, dispute.resolution, dispute.accepted_amount) == ("resolved", "credit_note", D("121.00"))
    assert ledger_integrity_problems() == []
    assert CreditProfile.objects.get(customer=w["customer"]).open_disputes == 0
    assert dispute_selectors.disputed_amounts([invoice.pk]) == {}


def test_partial_acceptance_credits_the_accepted_part_and_the_rest_is_dunned_again(w):
    invoice = w["invoice"]
    dispute = flow.open_dispute(invoice=invoice, reason="price", amount=D("100.00"), by=w["ar"])
    dispute = flow.resolve_dispute(
        dispute=dispute, outcome="partial", accepted_amount=D("40.00"), note="Agreed 40 off", by=w["ar"]
    )
    invoice.refresh_from_db()
    assert dispute.credit_note.total == D("40.00")
    assert invoice.amount_open == D("81.00") and invoice.status == Invoice.Status.ISSUED
    assert dispute_selectors.disputed_amounts([invoice.pk]) == {}  # the 60.00 rejected is dunned again
    assert ledger_integrity_problems() == []
    event = TimelineEvent.objects.get(verb="dispute_resolved")
    assert "60.00 EUR rejected, dunning resumes" in event.summary


def test_rejection_and_paid_credit_nothing(w):
    invoice = w["invoice"]
    dispute = flow.open_dispute(invoice=invoice, reason="duplicate", by=w["ar"])
    dispute = flow.resolve_dispute(dispute=dispute, outcome="rejected", note="Not a duplicate", by=w["ar"])
    assert dispute.credit_note is None and dispute.accepted_amount == 0
    second = flow.open_dispute(invoice=invoice, reason="price", by=w["ar"])
    second = flow.resolve_dispute(dispute=second, outcome="paid", by=w["ar"])
    invoice.refresh_from_db()
    assert invoice.amount_open == D("121.00") and second.resolution == "paid"
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


BAD_RESOLUTIONS = [
    ("partial of everything", {"outcome": "partial", "accepted_amount": D("121.00"), "note": "x"}, "accepted amount"),
    ("partial of nothing", {"outcome": "partial", "accepted_amount": D("0"), "note": "x"}, "accepted amount"),
    ("partial without a why", {"outcome": "partial", "accepted_amount": D("5")}, "note"),
    ("rejection without a why", {"outcome": "rejected"}, "note"),
    ("unknown outcome", {"outcome": "maybe"}, "outcome"),
]


@pytest.mark.parametrize(("what", "arguments", "field"), BAD_RESOLUTIONS, ids=[row[0] for row in BAD_RESOLUTIONS])
def test_a_bad_resolution_is_refused_and_the_dispute_stays_open(w, what, arguments, field):
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["ar"])
    with pytest.raises(DisputeError) as refusal:
        flow.resolve_dispute(dispute=dispute, by=w["ar"], **arguments)
    assert [p[1] for p in refusal.value.problems] == [field]
    dispute.refresh_from_db()
    assert dispute.status == "open" and not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_accepting_more_than_is_still_open_is_refused(w):
    invoice = w["invoice"]
    dispute = flow.open_dispute(invoice=invoice, reason="price", amount=D("100.00"), by=w["ar"])
    flow.receive_payment(invoice=invoice, amount=D("50.00"), value_date=timezone.localdate(), by=w["ar"])
    with pytest.raises(DisputeError, match="at most the 71.00 EUR still open"):
        flow.resolve_dispute(dispute=dispute, outcome="credit_note", by=w["ar"])
    assert flow.resolve_dispute(dispute=dispute, outcome="partial", accepted_amount=D("71.00"), note="ok", by=w["ar"])
    assert ledger_integrity_problems() == []


def test_a_resolved_dispute_is_not_resolved_again(w):
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["ar"])
    flow.resolve_dispute(dispute=dispute, outcome="paid", by=w["ar"])
    with pytest.raises(DisputeError, match="already resolved"):
        flow.resolve_dispute(dispute=dispute, outcome="credit_note", by=w["ar"])


def test_the_thread_review_and_assignment(w, mailoutbox, django_capture_on_commit_callbacks):
    customer_user = user_in("Customer", username="lupulus")
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["ar"])
    with django_capture_on_commit_callbacks(execute=True):
        disputes.add_message(
            dispute=dispute,
            body="The price list says 90.",
            by=customer_user,
            from_customer=True,
            uploads=[upload("pricelist.pdf", PDF)],
        )
    assert mailoutbox[-1].to == ["ar@northwind.example"]  # the owner has no email address: the AR mailbox
    assert "The price list says 90." in mailoutbox[-1].body
    disputes.add_message(dispute=dispute, body="We are checking.", by=w["ar"])
    assert dispute_selectors.unread_for_customer(w["customer"].pk) == 1
    assert disputes.mark_read(dispute=dispute, by_customer=True) == 1
    assert dispute_selectors.unread_for_customer(w["customer"].pk) == 0
    dispute = disputes.start_review(dispute=dispute, by=w["ar"])
    assert dispute.status == "under_review"
    with pytest.raises(DisputeError, match="only an open one"):
        disputes.start_review(dispute=dispute, by=w["ar"])
    dispute = disputes.assign(dispute=dispute, owner=w["ar"], by=w["ar"], due_date=datetime.date(2031, 1, 1))
    assert (dispute.owner, dispute.due_date) == (w["ar"], datetime.date(2031, 1, 1))
    with pytest.raises(DisputeError) as refusal:
        disputes.add_message(dispute=dispute, body="  ", by=w["ar"])
    assert refusal.value.problems[0][1] == "body"
    flow.resolve_dispute(dispute=dispute, outcome="paid", by=w["ar"])
    with pytest.raises(DisputeError, match="is resolved"):
        disputes.add_message(dispute=dispute, body="One more thing", by=customer_user, from_customer=True)
    assert DisputeMessage.objects.filter(dispute=dispute).count() == 2
    assert dispute.attachments.filter(source="upload").get().name == "pricelist.pdf"


def test_the_owner_gets_the_customers_message(w, mailoutbox, django_capture_on_commit_callbacks):
    carla = w["customer"].collector_assignment.collector.user
    carla.email = "carla@northwind.example"
    carla.save()
    dispute = flow.open_dispute(invoice=w["invoice"], reason="price", by=w["ar"])
    with django_capture_on_commit_callbacks(execute=True):
        disputes.add_message(dispute=dispute, body="Any news?", by=None, from_customer=True)
    assert mailoutbox[-1].to == ["carla@northwind.example"]
    assert f"Dispute #{dispute.pk} on {w['invoice'].number}" in mailoutbox[-1].subject


def test_reason_statistics_count_and_sum_per_reason(w, staff):
    other = invoice_for(w["clerk"], w["warehouse"], w["customer"], quantity="2")  # 242.00
    flow.open_dispute(invoice=w["invoice"], reason="price", amount=D("21.00"), by=w["ar"])
    dispute = flow.open_dispute(invoice=other, reason="price", amount=D("42.00"), by=w["ar"])
    flow.resolve_dispute(dispute=dispute, outcome="partial", accepted_amount=D("2.00"), note="ok", by=w["ar"])
    today = timezone.localdate()
    stats = {row["reason"]: row for row in dispute_selectors.dispute_reason_stats((today, today))}
    assert list(stats) == [value for value, _ in Dispute.Reason.choices]
    assert (
        stats["price"]["count"],
        stats["price"]["amount"],
        stats["price"]["accepted"],
        stats["price"]["resolved"],
    ) == (
        2,
        D("63.00"),
        D("2.00"),
        1,
    )
    assert stats["damaged"]["count"] == 0 and stats["damaged"]["amount"] == D("0.00")
    yesterday = today - datetime.timedelta(days=1)
    assert all(row["count"] == 0 for row in dispute_selectors.dispute_reason_stats((yesterday, yesterday)))
