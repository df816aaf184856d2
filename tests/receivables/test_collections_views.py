"""The collections pages: the worklist and the customer account (360) page with their labels,
empty states, forms and constant query counts at two sizes; the statement of account PDF read
back with pypdf (every document, the running balance, the aging at the end)."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from credit.models import CreditProfile
from invoicing import services as invoicing
from o2c import flow
from orders.models import Contact
from receivables import account_statement, services
from receivables.models import (
    CollectionActivity,
    Collector,
    CollectorAssignment,
    JournalEntry,
    PromiseToPay,
)
from tests.core.factories import AR, CLERK, WAREHOUSE
from tests.invoicing.test_sending import smtp_server  # noqa: F401 - the fixture
from tests.orders.factories import CustomerFactory
from tests.portal.factories import invoice_for, widget

from .factories import open_invoice

pytestmark = pytest.mark.django_db
D = datetime.timedelta
WORKLIST = reverse("receivables:worklist")


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def ar(client, staff):
    user = staff(AR)
    client.force_login(user)
    return user


def overdue_accounts(count: int, today, *, collector=None, start: int = 0):
    customers = []
    for n in range(start, start + count):
        customer = CustomerFactory(name=f"Overdue {n:03d} BV", segment="retail" if n % 2 else "public")
        open_invoice(customer, f"{100 + n}.00", issue_date=today - D(days=40 + n), due_days=30)
        open_invoice(customer, "10.00", issue_date=today - D(days=35), due_days=30)
        CreditProfile.objects.create(customer=customer, risk_class="BCDE"[n % 4])
        PromiseToPay.objects.create(
            customer=customer, promised_date=today - D(days=2), amount=Decimal("5"), currency="EUR", status="broken"
        )
        CollectionActivity.objects.create(customer=customer, kind="call_task", summary="Call", done=False)
        if collector is not None:
            CollectorAssignment.objects.create(customer=customer, collector=collector, next_action_on=today)
        customers.append(customer)
    return customers


def queries_for(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


# --- the worklist ------------------------------------------------------------------------------------
def test_worklist_empty_state_for_a_collector_and_for_all(client, ar):
    html = client.get(WORKLIST).content.decode()
    assert "Collections worklist" in html and "No account is overdue" in html
    Collector.objects.create(user=ar)
    html = client.get(WORKLIST).content.decode()
    assert "None of your accounts is overdue" in html


def test_worklist_rows_filters_and_a_constant_query_count(client, ar, today):
    me = Collector.objects.create(user=ar)
    overdue_accounts(3, today, collector=me)
    small, html = queries_for(client, WORKLIST)
    assert "3 accounts with overdue items" in html
    for label in (
        "Score",
        "Overdue",
        "Days (oldest)",
        "Risk",
        "Broken promises",
        "Next action",
        "How the score is made",
    ):
        assert label in html
    assert "1 open call task" in html
    overdue_accounts(12, today, start=3)  # not mine
    assert queries_for(client, WORKLIST)[0] == small
    count, html = queries_for(client, WORKLIST + "?collector=all")
    assert count == small and "15 accounts with overdue items" in html
    html = client.get(WORKLIST, {"collector": "all", "segment": "retail"}).content.decode()
    assert "7 accounts with overdue items" in html
    html = client.get(WORKLIST, {"collector": "all", "segment": "export"}).content.decode()
    assert "No overdue accounts match these filters" in html
    partial = client.get(WORKLIST, {"collector": "all"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<table" in partial and "<html" not in partial


def test_worklist_pages(client, ar, today):
    overdue_accounts(55, today)
    html = client.get(WORKLIST).content.decode()
    assert "page 1 of 2" in html and "page=2" in html
    html = client.get(WORKLIST, {"page": "2"}).content.decode()
    assert html.count('href="/desk/customers/') == 5 and "← Previous" in html


# --- the customer account page -------------------------------------------------------------------------
def account_with_history(customer, today, n: int):
    for i in range(n):
        invoice = open_invoice(customer, f"{50 + i}.00", issue_date=today - D(days=45 + i), due_days=30)
        payment = services.record_payment(customer=customer, amount=Decimal("20.00"), value_date=today)
        services.allocate_payment(payment=payment, invoice=invoice, amount=Decimal("10.00"))
        PromiseToPay.objects.create(
            customer=customer, promised_date=today + D(days=i), amount=Decimal("5"), currency="EUR"
        ).invoices.add(invoice)
        CollectionActivity.objects.create(customer=customer, kind="call", outcome="no_answer", summary=f"Call {i}")
        CollectionActivity.objects.create(customer=customer, kind="call_task", summary=f"Task {i}", done=False)
        Contact.objects.create(customer=customer, name=f"Contact {i}", email=f"c{i}@x.example", role="dunning")


def test_account_page_sections_and_a_constant_query_count(client, ar, today):
    customer = CustomerFactory(name="Acme Tools NV")
    CreditProfile.objects.create(customer=customer, credit_limit=Decimal("5000.00"), risk_class="C")
    account_with_history(customer, today, 2)
    url = reverse("desk:customer_account", args=[customer.pk])
    small, html = queries_for(client, url)
    for label in (
        "Balance (ledger)",
        "Aging on",
        "Open items",
        "Payments",
        "Credit notes",
        "Disputes",
        "Promises to pay",
        "Activities",
        "Open call tasks",
        "Contacts",
        "Dunning history",
        "Risk class",
        "C - watch",
        "Exposure",
        "Log a call",
        "Record a promise to pay",
        "Send a template email",
        "Statement of account",
    ):
        assert label in html, label
    assert "Never dunned." in html and "No disputes." in html
    account_with_history(customer, today, 10)
    assert queries_for(client, url)[0] == small


def test_account_page_of_a_quiet_customer(client, ar):
    customer = CustomerFactory()
    html = client.get(reverse("desk:customer_account", args=[customer.pk])).content.decode()
    assert "Nothing is open" in html and "No credit profile" in html and "No calls, emails or notes yet" in html


def test_account_forms_log_a_call_record_a_promise_and_refuse_bad_input(client, ar, today):
    customer = CustomerFactory()
    open_invoice(customer, "400.00", issue_date=today - D(days=50), due_days=30)
    CollectorAssignment.objects.create(customer=customer, collector=Collector.objects.create(user=ar))
    url = reverse("desk:customer_account", args=[customer.pk])
    response = client.post(
        reverse("desk:account_log_call", args=[customer.pk]),
        {"outcome": "promised", "summary": "Will pay half Friday", "follow_up_on": (today + D(days=3)).isoformat()},
    )
    assert response.status_code == 302 and response["Location"] == url
    assert CollectionActivity.objects.get(customer=customer).summary == "Will pay half Friday"
    assert CollectorAssignment.objects.get(customer=customer).next_action_on == today + D(days=3)

    promise_url = reverse("desk:account_record_promise", args=[customer.pk])
    response = client.post(promise_url, {"promised_date": today.isoformat(), "amount": "500.00"})
    assert response.status_code == 400
    assert "is more than the 400.00 open on the account" in response.content.decode()
    assert not PromiseToPay.objects.exists()
    response = client.post(promise_url, {"promised_date": (today + D(days=4)).isoformat(), "amount": "200.00"})
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert "Promise to pay 200.00 EUR" in html and "the account" in html

    task = CollectionActivity.objects.create(customer=customer, kind="call_task", summary="Level 2 call", done=False)
    client.post(reverse("desk:account_task_done", args=[task.pk]), {"outcome": "reached", "note": "ok"})
    task.refresh_from_db()
    assert task.done and task.outcome == "reached"

    response = client.post(reverse("desk:account_follow_up", args=[customer.pk]), {"follow_up_on": "2000-01-01"})
    assert response.status_code == 400 and "must be today or later" in response.content.decode()


def test_account_template_email_with_the_statement_attached(client, ar, today, smtp_server):  # noqa: F811
    mailbox, _ = smtp_server
    customer = CustomerFactory(language="nl", email="boekhouding@klant.example")
    open_invoice(customer, "75.00", issue_date=today - D(days=40), due_days=30)
    response = client.post(reverse("desk:account_send_email", args=[customer.pk]), {"template": "statement_enclosed"})
    assert response.status_code == 302
    (message,) = mailbox.messages
    assert message["Subject"] == f"Uw rekeningoverzicht {customer.account_number}"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename().startswith(f"statement-{customer.account_number}-")
    assert CollectionActivity.objects.get(customer=customer, kind="email")


# --- the statement of account ------------------------------------------------------------------------
@pytest.fixture
def statement_account(staff, today):
    widget()
    acme = CustomerFactory(name="Acme Tools NV")
    people = {"clerk": staff(CLERK), "warehouse": staff(WAREHOUSE), "ar": staff(AR)}
    first = invoice_for(people["clerk"], people["warehouse"], acme)  # 121.00
    second = invoice_for(people["clerk"], people["warehouse"], acme, quantity="2")  # 242.00
    earlier = open_invoice(acme, "50.00", number="GO-LIVE-1", issue_date=today - D(days=90), due_days=30)
    note = invoicing.propose_credit_note_for_amount(invoice=second, amount=Decimal("24.20"), reason="Price")
    note = flow.issue_credit_note(note=note, by=people["ar"])
    flow.receive_payment(invoice=first, amount=Decimal("100.00"), value_date=today, by=people["ar"])
    services._post(  # a dunning fee, as the dunning run posts it
        kind=JournalEntry.Kind.CHARGE,
        customer=acme,
        currency="EUR",
        effective_date=today,
        description="Dunning fee, level 2",
        lines=[("1200", Decimal("15.00"), Decimal("0")), ("4100", Decimal("0"), Decimal("15.00"))],
    )
    return {"customer": acme, "earlier": earlier, "invoices": [first, second], "note": note}


def test_statement_pdf_lists_every_document_with_the_running_balance(client, ar, today, statement_account):
    acme = statement_account["customer"]
    ar.refresh_from_db()  # the fixture signed the same AR user up again after the sign-in
    client.force_login(ar)
    start = today - D(days=30)
    response = client.get(
        reverse("desk:account_statement", args=[acme.pk]), {"start": start.isoformat(), "end": today.isoformat()}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="statement-{acme.account_number}-{start:%Y%m%d}-{today:%Y%m%d}.pdf"'
    )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = re.sub(r"[ \t]+", " ", text)
    assert "Statement of account" in text and "Acme Tools NV" in text
    first, second = statement_account["invoices"]
    expected = [  # description, then the running balance on the same line
        ("Opening balance", "50.00"),
        (f"Invoice {first.number}", "171.00"),
        (f"Invoice {second.number}", "413.00"),
        (f"Credit note {statement_account['note'].number}", "388.80"),
        ("received", "288.80"),  # the payment
        ("Dunning fee, level 2", "303.80"),
    ]
    positions = []
    for description, balance in expected:
        line = next(line for line in text.splitlines() if description in line)
        assert line.rstrip().endswith(balance), (description, line)
        positions.append(text.index(description))
    assert positions == sorted(positions)
    assert "Closing balance 303.80 EUR" in text
    assert f"Aging on {today:%Y-%m-%d}" in text and "Over 90 days" in text


def test_statement_builder_aging_at_the_end_agrees_with_the_closing_balance(today, statement_account):
    acme = statement_account["customer"]
    result = account_statement.statement(acme, start=today - D(days=30), end=today)
    assert result.opening == Decimal("50.00") and result.closing == Decimal("303.80")
    assert [line.balance for line in result.lines] == [
        Decimal("171.00"),
        Decimal("413.00"),
        Decimal("388.80"),
        Decimal("288.80"),
        Decimal("303.80"),
    ]
    aging = {bucket.key: bucket.amount for bucket in result.aging}
    assert aging["31_60"] == Decimal("50.00")  # the earlier invoice fell due 60 days ago
    assert sum(aging.values()) - result.unapplied_at_end == result.closing
    before = account_statement.statement(acme, start=today - D(days=90), end=today - D(days=1))
    assert before.closing == Decimal("50.00") and [b.amount for b in before.aging if b.amount] == [Decimal("50.00")]


def test_statement_period_must_be_valid(client, ar):
    customer = CustomerFactory()
    response = client.get(
        reverse("desk:account_statement", args=[customer.pk]), {"start": "2026-05-01", "end": "2026-04-01"}
    )
    assert response.status_code == 400 and "The end is before the start." in response.content.decode()
