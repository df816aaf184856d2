"""120 days of collections, day by day, with the clock in the test's hands.

Six customers and nine invoices go through pre-due reminders and dunning while things happen to
them: partial and full payments, a dispute (whole and partial), a promise to pay that is broken,
a dunning block, unapplied cash, an unmatched bank line, an item below the minimum. Every day
the beat tasks' flow functions run twice (the second run must add nothing) for that date, the
finance manager approves the preview, and the queued work runs (Celery eager, after commit).
Asserted for every day: exactly which reminders went out, which dunning letters (customer,
items, levels, amounts), fees and interest; the emails as a real SMTP server received them;
the letter PDFs read back. Nothing is ever sent for disputed, promised or paid items.
"""

import datetime
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from invoicing import services as invoicing
from invoicing.models import BankAccount, Invoice
from o2c import flow
from o2c.celery import app as celery_app
from orders.models import Contact
from receivables import services as receivables
from receivables.models import (
    Account,
    BankStatement,
    CollectionActivity,
    CollectionSkip,
    CollectionsSettings,
    Dispute,
    DunningBlock,
    DunningLetter,
    DunningRun,
    JournalLine,
    PromiseToPay,
    Reminder,
    ReminderPolicy,
    StatementLine,
)
from tests.core.factories import user_in
from tests.invoicing import factories as f
from tests.invoicing.test_sending import smtp_server  # noqa: F401 - the fixture
from tests.orders.factories import CustomerFactory

pytestmark = pytest.mark.django_db

D = Decimal
START = datetime.date(2026, 1, 1)
DAYS = 120


def day(month: int, dom: int) -> datetime.date:
    return datetime.date(2026, month, dom)


# What must happen, worked out by hand from the default procedure (migration 0008): level 1 at
# 7 days (email, no fee), 2 at 21 (email, fee 10 + interest), 3 at 45 (final notice, stored
# letter, fee 25 + interest), 4 at 75 (call task, collection agency); reference rate 4% +
# margin 8% = 12% a year; reminders 7 days before due and on the due date (segment "key": 3
# days before only).
EXPECTED_REMINDERS = {
    day(1, 24): {("A1", 7)},  # D1 blocked, E2 below the minimum: skipped
    day(1, 28): {("C1", 7)},
    day(1, 31): {("A1", 0)},
    day(2, 2): {("E1", 7)},
    day(2, 4): {("C1", 0)},
    day(2, 6): {("B2", 3)},  # B1 wholly disputed: skipped; B2 partly, still reminded
    day(2, 7): {("A2", 7)},
    day(2, 9): {("E1", 0)},
    day(2, 12): {("F1", 7)},
    day(2, 14): {("A2", 0)},
    day(2, 19): {("F1", 0)},
}
# (customer, letter level, fee, interest, ((invoice, item level, amount, days overdue, interest), ...))
EXPECTED_LETTERS = {
    day(2, 7): {("SIM-A", 1, "0.00", "0.00", (("A1", 1, "1000.00", 7, "0.00"),))},
    day(2, 16): {("SIM-B", 1, "0.00", "0.00", (("B2", 1, "200.00", 7, "0.00"),))},  # 300 - 100 disputed
    day(2, 21): {
        # A1: 1000 x 12% x 21/365 = 6.904 -> 6.90; A2: 50 left after 150 paid
        ("SIM-A", 2, "10.00", "6.90", (("A1", 2, "1000.00", 21, "6.90"), ("A2", 1, "50.00", 7, "0.00")))
    },
    day(2, 22): {("SIM-C", 1, "0.00", "0.00", (("C1", 1, "800.00", 18, "0.00"),))},  # promise broken
    day(2, 25): {("SIM-C", 2, "10.00", "5.52", (("C1", 2, "800.00", 21, "5.52"),))},  # 800 x .12 x 21/365
    day(3, 1): {("SIM-B", 1, "0.00", "0.00", (("B1", 1, "500.00", 20, "0.00"),))},  # dispute rejected
    day(3, 2): {
        # B1: 500 x .12 x 21/365 = 3.452; B2: 200 x .12 x 21/365 = 1.381
        ("SIM-B", 2, "10.00", "4.83", (("B1", 2, "500.00", 21, "3.45"), ("B2", 2, "200.00", 21, "1.38")))
    },
    # A1: interest since it was last charged (21 Feb): 24 days, 1000 x .12 x 24/365 = 7.890
    day(3, 17): {("SIM-A", 3, "25.00", "7.89", (("A1", 3, "1000.00", 45, "7.89"),))},
    day(3, 26): {
        # since 2 Mar: 24 days; 500 -> 3.945 -> 3.95, 200 -> 1.578 -> 1.58
        ("SIM-B", 3, "25.00", "5.53", (("B1", 3, "500.00", 45, "3.95"), ("B2", 3, "200.00", 45, "1.58")))
    },
    # D1: the block ended on 31 Mar; 60 days overdue -> level 3 at once, 400 x .12 x 60/365 = 7.890
    day(4, 1): {("SIM-D", 3, "25.00", "7.89", (("D1", 3, "400.00", 60, "7.89"),))},
    day(4, 16): {
        ("SIM-A", 4, "0.00", "0.00", (("A1", 4, "1000.00", 75, "0.00"),)),
        ("SIM-D", 4, "0.00", "0.00", (("D1", 4, "400.00", 75, "0.00"),)),
    },
    day(4, 25): {("SIM-B", 4, "0.00", "0.00", (("B1", 4, "500.00", 75, "0.00"), ("B2", 4, "200.00", 75, "0.00")))},
}
EMAIL_LEVELS, LETTER_LEVELS, CALL_LEVELS = {1, 2}, {3}, {4}
NEVER_CHASED = {  # invoice -> days on which nothing may be sent for it (reminder or dunning)
    "B1": (day(1, 1), day(2, 28)),  # wholly disputed until 1 Mar
    "C1": (day(2, 8), day(2, 21)),  # promised for 20 Feb (+1 grace day)
    "D1": (day(1, 1), day(3, 31)),  # blocked
    "E1": (day(2, 12), day(5, 1)),  # unapplied cash covers it
    "E2": (day(1, 1), day(5, 1)),  # below the minimum, then likely paid
    "F1": (day(2, 25), day(5, 1)),  # an unmatched bank line of its amount
    "A2": (day(3, 1), day(5, 1)),  # paid
}


@pytest.fixture
def eager_celery():
    """Queued tasks run at once in this process (after commit): the worker's code, the test's clock."""
    before = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


def customer(code: str, *, language: str, segment: str = ""):
    return CustomerFactory(
        account_number=f"SIM-{code}",
        name=f"{code} Trading",
        email=f"ap@{code.lower()}.example",
        language=language,
        segment=segment,
        payment_terms=f.terms(),
    )


def invoice(customer, total: str, issued: datetime.date) -> Invoice:
    """An invoice issued on `issued` (30 days net) and posted, as the billing flow makes them."""
    draft = invoicing._new_draft(customer=customer, orders=set(), currency="EUR")
    invoicing.fill_lines(
        invoice=draft,
        lines=[invoicing.DraftLine("Consulting", D("1"), "h", D(total), "O", D("0"))],
    )
    return flow.issue_and_post(invoice=draft, by=None, on=issued)


def pay(customer, inv: Invoice, amount: str, on: datetime.date) -> None:
    payment = receivables.record_payment(customer=customer, amount=D(amount), value_date=on)
    receivables.allocate_payment(payment=payment, invoice=inv, amount=D(amount))


class World:
    def __init__(self):
        f.company()
        CollectionsSettings.current()
        ReminderPolicy.objects.create(segment="key", days_before_due=3)
        self.finance = user_in("Finance manager", username="finance-sim")
        self.a = customer("A", language="en")
        Contact.objects.create(customer=self.a, name="A payables", email="payables@a.example", role="invoices")
        Contact.objects.create(customer=self.a, name="A treasurer", email="treasurer@a.example", role="dunning")
        self.b = customer("B", language="fr", segment="key")
        self.c = customer("C", language="nl")
        self.d = customer("D", language="de")
        self.e = customer("E", language="en")
        self.f = customer("F", language="en")
        self.invoices = {
            "A1": invoice(self.a, "1000.00", day(1, 1)),
            "A2": invoice(self.a, "200.00", day(1, 15)),
            "B1": invoice(self.b, "500.00", day(1, 10)),
            "B2": invoice(self.b, "300.00", day(1, 10)),
            "C1": invoice(self.c, "800.00", day(1, 5)),
            "D1": invoice(self.d, "400.00", day(1, 1)),
            "E1": invoice(self.e, "120.00", day(1, 10)),
            "E2": invoice(self.e, "4.00", day(1, 1)),
            "F1": invoice(self.f, "600.00", day(1, 20)),
        }
        self.code_of = {inv.number: code for code, inv in self.invoices.items()}
        DunningBlock.objects.create(customer=self.d, reason="Restructuring talks", until=day(3, 31))

    def events_of(self, today: datetime.date) -> None:
        """What happens to the customers during the day, before the night's runs."""
        inv = self.invoices
        if today == day(2, 1):
            self.b1_dispute = Dispute.objects.create(
                invoice=inv["B1"], customer=self.b, reason="price", amount=D("500")
            )
            Dispute.objects.create(invoice=inv["B2"], customer=self.b, reason="quantity", amount=D("100"))
        if today == day(2, 8):
            promise = PromiseToPay.objects.create(
                customer=self.c, promised_date=day(2, 20), amount=D("800"), currency="EUR"
            )
            promise.invoices.add(inv["C1"])
        if today == day(2, 10):
            pay(self.a, inv["A2"], "150.00", today)
        if today == day(2, 12):
            receivables.record_payment(customer=self.e, amount=D("120.00"), value_date=today)  # not applied yet
        if today == day(2, 25):
            account = BankAccount.objects.get(iban="BE71096123456769")
            statement = BankStatement.objects.create(
                bank_account=account, statement_key="SIM-1", format="csv", file_sha256="0" * 64, currency="EUR"
            )
            StatementLine.objects.create(
                statement=statement,
                bank_account=account,
                dedupe_key="ref:SIM-1",
                position=1,
                booking_date=today,
                value_date=today,
                amount=D("600.00"),
                currency="EUR",
                counterparty_name="F Trading",
                customer=self.f,
                remittance="payment",
            )
        if today == day(3, 1):
            Dispute.objects.filter(pk=self.b1_dispute.pk).update(status="resolved", resolution="rejected")
            pay(self.a, inv["A2"], "50.00", today)
        if today == day(3, 5):
            pay(self.c, inv["C1"], "800.00", today)


def letters_of(today: datetime.date, world) -> set:
    found = set()
    for letter in DunningLetter.objects.filter(run__run_date=today).exclude(status="cancelled"):
        items = tuple(
            (
                world.code_of[item.invoice.number],
                item.level.level,
                str(item.amount),
                item.days_overdue,
                str(item.interest),
            )
            for item in letter.items.select_related("invoice", "level").order_by("invoice__issue_date", "invoice__id")
        )
        found.add((letter.customer.account_number, letter.level.level, str(letter.fee), str(letter.interest), items))
    return found


def reminders_of(today: datetime.date, world) -> set:
    return {
        (world.code_of[r.invoice.number], r.days_before_due)
        for r in Reminder.objects.filter(sent_on=today, sent_at__isnull=False).select_related("invoice")
    }


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def test_120_days_of_reminders_and_dunning(smtp_server, eager_celery, django_capture_on_commit_callbacks):  # noqa: F811
    mailbox, _ = smtp_server
    world = World()
    seen_mail = 0
    for offset in range(DAYS + 1):
        today = START + datetime.timedelta(days=offset)
        world.events_of(today)
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(2):  # the beat firing twice (a redelivered task) changes nothing
                flow.send_reminders(on=today)
                run = flow.run_dunning(on=today)
            if run.status == DunningRun.Status.PREVIEW:
                flow.approve_dunning_run(run=run, by=world.finance)
        assert DunningRun.objects.filter(run_date=today).count() == 1, today
        assert reminders_of(today, world) == EXPECTED_REMINDERS.get(today, set()), today
        assert letters_of(today, world) == EXPECTED_LETTERS.get(today, set()), today
        new_mail = mailbox.messages[seen_mail:]
        seen_mail = len(mailbox.messages)
        check_mail(today, new_mail, world)
        check_letters_sent(today)

    # Nothing was ever sent for an item while it was disputed, promised, paid or blocked.
    for code, (first, last) in NEVER_CHASED.items():
        number = world.invoices[code].number
        assert not Reminder.objects.filter(invoice__number=number, sent_on__range=(first, last)).exists(), number
        assert not DunningLetter.objects.filter(
            items__invoice__number=number, run__run_date__range=(first, last)
        ).exists(), number

    # The skips were recorded with their reasons.
    def skip_reasons(code, on, step="dunning"):
        return set(
            CollectionSkip.objects.filter(invoice=world.invoices[code], on=on, step=step).values_list(
                "reason", flat=True
            )
        )

    assert skip_reasons("D1", day(1, 24), "reminder") == {"blocked"}
    assert skip_reasons("E2", day(1, 24), "reminder") == {"below_minimum"}
    assert skip_reasons("B1", day(2, 6), "reminder") == {"disputed"}
    assert skip_reasons("B1", day(2, 16)) == {"disputed"}
    assert skip_reasons("C1", day(2, 11)) == {"promised"}
    assert skip_reasons("C1", day(2, 21)) == {"promised"}
    assert skip_reasons("C1", day(2, 22)) == set()
    assert skip_reasons("D1", day(3, 31)) == {"blocked"}
    assert skip_reasons("E2", day(2, 7)) == {"below_minimum"}
    assert skip_reasons("E2", day(2, 12)) == {"likely_paid"}
    assert skip_reasons("E1", day(2, 16)) == {"likely_paid"}
    assert skip_reasons("F1", day(2, 26)) == {"likely_paid"}
    assert CollectionSkip.objects.filter(invoice=world.invoices["B1"], on=day(2, 16), step="dunning").count() == 1

    # Fees and interest: one DUN charge per letter with something to charge, posted to the ledger.
    charges = {
        (c.customer.account_number, c.issue_date, str(c.total))
        for c in Invoice.objects.filter(kind=Invoice.Kind.CHARGE).select_related("customer")
    }
    assert charges == {
        ("SIM-A", day(2, 21), "16.90"),
        ("SIM-C", day(2, 25), "15.52"),
        ("SIM-B", day(3, 2), "14.83"),
        ("SIM-A", day(3, 17), "32.89"),
        ("SIM-B", day(3, 26), "30.53"),
        ("SIM-D", day(4, 1), "32.89"),
    }
    charge = Invoice.objects.get(kind=Invoice.Kind.CHARGE, customer=world.b, issue_date=day(3, 2))
    assert charge.number.startswith("DUN-2026-")
    assert [(line.description, str(line.net_amount), line.tax_category) for line in charge.lines.all()] == [
        ("Dunning fee (level 2)", "10.00", "O"),
        (f"Late-payment interest on {world.invoices['B1'].number}, 21 days at 12%", "3.45", "O"),
        (f"Late-payment interest on {world.invoices['B2'].number}, 21 days at 12%", "1.38", "O"),
    ]
    assert charge.tax_lines.get().exemption_reason
    income = {
        account: sum(line.credit for line in JournalLine.objects.filter(account=account))
        for account in (Account.FEE_INCOME, Account.INTEREST_INCOME)
    }
    assert income == {Account.FEE_INCOME: D("105.00"), Account.INTEREST_INCOME: D("38.56")}
    assert not receivables_problems()

    # Level 4: a call task each, and the agency list.
    tasks = CollectionActivity.objects.filter(kind="call_task", done=False)
    assert sorted(t.customer.account_number for t in tasks) == ["SIM-A", "SIM-B", "SIM-D"]
    from receivables.dunning import agency_items

    assert sorted(world.code_of[i.invoice.number] for i in agency_items()) == ["A1", "B1", "B2", "D1"]

    # A redelivered letter task sends nothing again.
    from o2c import tasks as o2c_tasks

    before = len(mailbox.messages), Invoice.objects.filter(kind=Invoice.Kind.CHARGE).count()
    for letter_id in DunningLetter.objects.values_list("pk", flat=True):
        o2c_tasks.deliver_dunning_letter(letter_id)
    assert (len(mailbox.messages), Invoice.objects.filter(kind=Invoice.Kind.CHARGE).count()) == before


def receivables_problems():
    from receivables.selectors import ledger_integrity_problems

    return ledger_integrity_problems()


def check_mail(today, messages, world) -> None:
    """Reminder emails carry the invoice PDF and pay link, in the customer's language; letters
    of email levels carry their PDF; nothing else is mailed."""
    expected_subjects = set()
    for number, _days in EXPECTED_REMINDERS.get(today, set()):
        expected_subjects.add(("reminder", number))
    for account, level, *_ in EXPECTED_LETTERS.get(today, set()):
        if level in EMAIL_LEVELS:
            expected_subjects.add(("letter", account))
    got = set()
    for message in messages:
        attachments = {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
        body = message.get_body(preferencelist=("plain",)).get_content()
        if "overdue on your account" not in message["Subject"]:
            number = next(code for code, inv in world.invoices.items() if inv.number in message["Subject"])
            filename = f"{world.invoices[number].number}.pdf"
            got.add(("reminder", number))
            assert list(attachments) == [filename], message["Subject"]
            assert attachments[filename].startswith(b"%PDF")
            assert "/portal/pay-link/" in body
            expected_to = {
                "A": "payables@a.example",
                "C": "ap@c.example",
                "E": "ap@e.example",
                "F": "ap@f.example",
                "B": "ap@b.example",
            }[number[0]]
            assert message["To"] == expected_to
            if number[0] == "C":  # Dutch
                assert message["Subject"].startswith(("Herinnering: factuur", "Factuur")), message["Subject"]
            if number[0] == "B":  # French
                assert message["Subject"].startswith("Rappel"), message["Subject"]
        else:
            account = message["Subject"].split("account ")[-1]
            got.add(("letter", account))
            (name,) = attachments
            text = pdf_text(attachments[name])
            letter = DunningLetter.objects.get(run__run_date=today, customer__account_number=account)
            for item in letter.items.all():
                assert item.invoice.number in body and item.invoice.number in text
            assert letter.level.letter_text.split(".")[0] in text
            if account == "SIM-A":
                assert message["To"] == "treasurer@a.example"  # the dunning contact
    assert got == expected_subjects, today


def check_letters_sent(today) -> None:
    """Every letter of the day is sent on its level's channel; PDFs read back with every item."""
    for letter in DunningLetter.objects.filter(run__run_date=today).select_related("level"):
        assert letter.status == DunningLetter.Status.SENT and letter.sent_at, letter
        level = letter.level.level
        if level in EMAIL_LEVELS | LETTER_LEVELS:
            with letter.pdf.open("rb") as handle:
                text = pdf_text(handle.read())
            for item in letter.items.select_related("invoice", "level"):
                assert item.invoice.number in text
                assert item.invoice.due_date.strftime("%d %b %Y") in text
            assert letter.level.name in text
            assert ("FINAL NOTICE" in text) == letter.level.is_final_notice
            total = letter.total_overdue + letter.fee + letter.interest
            assert f"{total:,.2f}" in text
        if level in CALL_LEVELS:
            assert not letter.pdf
            assert CollectionActivity.objects.filter(dunning_letter=letter, kind="call_task", done=False).exists()
        if letter.fee + letter.interest:
            assert letter.charge.total == letter.fee + letter.interest
        else:
            assert letter.charge_id is None
