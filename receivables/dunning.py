"""Dunning: the daily run that chases overdue items, level by level.

A run on a day (`on`) looks at every issued invoice (not credit notes, not dunning charges)
with something open and past due, screens it (receivables.skips: disputed, promised, likely
paid, blocked, below the minimum, each skip recorded on the run), and gives each item left its
level: the highest level of the customer's procedure (its segment's, else the default one)
whose `days_overdue` it has reached, when that is above the highest level it was dunned at
before. An item is never dunned twice at the same level; levels only go up, and an item may
jump levels when earlier runs did not see it.

Items of one customer and currency go on one letter; the letter's level is its highest item
level, whose fee is charged once per letter. Statutory interest is charged per item at levels
that say so (see `interest`). In preview mode the run waits for a finance manager's approval;
in automatic mode it is approved at once. Approval queues the letters; each letter is then
charged (its own DUN document, posted to fee and interest income), rendered and sent on its
level's channel by a worker (o2c.flow.deliver_dunning_letter), once.

Dunning history: items on letters of runs not discarded (and letters not cancelled) count as
dunned, including a preview waiting for approval, so the next day's run does not propose them
again. Discarding a run frees its items for the next run.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from invoicing.models import Invoice
from o2c.core import timeline
from o2c.core.errors import DomainError

from . import skips
from .models import (
    CollectionActivity,
    CollectionSkip,
    CollectionsSettings,
    DunningItem,
    DunningLetter,
    DunningLevel,
    DunningProcedure,
    DunningRun,
)

ZERO = Decimal("0")
CENT = Decimal("0.01")


class DunningError(DomainError):
    pass


# The two money rules -------------------------------------------------------------------------------
def interest(*, amount: Decimal, reference_rate: Decimal, margin: Decimal, days: int) -> Decimal:
    """Statutory late-payment interest on one item, simple interest on a 365-day year:

        interest = amount x (reference_rate + margin) / 100 x days / 365

    computed exactly in Decimal and rounded once, ROUND_HALF_UP, to the cent. `days` are the
    days since interest was last charged on the item (the run date of its last item with
    interest), or since its due date when none was; no interest for 0 days or less.
    E.g. 1,000.00 at 4% + 8% for 30 days = 1000 x 12/100 x 30/365 = 9.8630... -> 9.86."""
    if days <= 0 or amount <= 0:
        return ZERO.quantize(CENT)
    exact = amount * (reference_rate + margin) / Decimal(100) * Decimal(days) / Decimal(365)
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)


def choose_level(*, days_overdue: int, levels: list[tuple[int, int]], last_level: int | None) -> int | None:
    """The level an item is dunned at now, or None: the highest level (number) whose days
    overdue (the pair's second value) the item has reached, if it is above `last_level`,
    the highest it was dunned at before. `levels` are (level, days_overdue) pairs."""
    reached = [level for level, days in levels if days_overdue >= days]
    if not reached:
        return None
    level = max(reached)
    return level if last_level is None or level > last_level else None


# Which procedure ---------------------------------------------------------------------------------
@dataclass
class Ladder:
    procedure: DunningProcedure
    levels: dict[int, DunningLevel] = field(default_factory=dict)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return [(number, level.days_overdue) for number, level in self.levels.items()]


def ladders() -> dict[str, Ladder]:
    """Active procedures with their levels, by segment ("" is the default)."""
    found: dict[str, Ladder] = {}
    for level in (
        DunningLevel.objects.filter(procedure__is_active=True)
        .select_related("procedure")
        .order_by("procedure__segment", "procedure__code", "level")
    ):
        ladder = found.setdefault(level.procedure.segment, Ladder(level.procedure))
        if ladder.procedure.pk == level.procedure_id:  # the first procedure of a segment wins
            ladder.levels[level.level] = level
    return found


def counted_items():
    """Dunning items that count as history: not on a discarded run or a cancelled letter."""
    return DunningItem.objects.exclude(letter__run__status=DunningRun.Status.DISCARDED).exclude(
        letter__status=DunningLetter.Status.CANCELLED
    )


def candidates(*, on: datetime.date, min_days: int) -> list[dict]:
    """Issued invoices with something open, at least `min_days` past due on `on`, each with the
    highest level it was dunned at and when interest was last charged on it (two queries: the
    items, and their history grouped per invoice)."""
    overdue = Invoice.objects.filter(
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.ISSUED,
        amount_open__gt=0,
        due_date__lte=on - datetime.timedelta(days=min_days),
    )
    rows = list(
        overdue.values(
            "id", "number", "customer_id", "customer__segment", "currency", "due_date", "amount_open"
        ).order_by("customer_id", "currency", "due_date", "id")
    )
    history = {
        row["invoice_id"]: row
        for row in counted_items()
        .filter(invoice__in=overdue)
        .values("invoice_id")
        .annotate(
            last_level=Max("level__level"),
            last_interest_on=Max("letter__run__run_date", filter=Q(interest__gt=0)),
        )
        .order_by()
    }
    for row in rows:
        past = history.get(row["id"])
        row["last_level"] = past["last_level"] if past else None
        row["last_interest_on"] = past["last_interest_on"] if past else None
    return rows


# The run ---------------------------------------------------------------------------------------------
@transaction.atomic
def plan_run(*, on: datetime.date, by=None) -> DunningRun:
    """The day's run: letters and items (planned), and the skips, in one transaction. A second
    call for the same day returns the first run (unless it was discarded): nothing twice.
    Charges are not made here: they are made when a letter is sent, after approval."""
    existing = DunningRun.objects.filter(run_date=on).exclude(status=DunningRun.Status.DISCARDED).first()
    if existing:
        return existing
    settings = CollectionsSettings.current()
    run = DunningRun.objects.create(run_date=on, status=DunningRun.Status.PREVIEW)
    by_segment = ladders()
    if not by_segment:
        return _finish_empty(run)
    min_days = min(level.days_overdue for ladder in by_segment.values() for level in ladder.levels.values())
    rows = candidates(on=on, min_days=min_days)
    screened = skips.screen(rows, on=on, step=CollectionSkip.Step.DUNNING, run=run, settings=settings)
    letters: dict[tuple[int, str], list[tuple[dict, DunningLevel]]] = defaultdict(list)
    for row in screened.chase:
        ladder = by_segment.get(row["customer__segment"]) or by_segment.get("")
        if ladder is None:
            continue
        days = (on - row["due_date"]).days
        number = choose_level(days_overdue=days, levels=ladder.pairs, last_level=row["last_level"])
        if number is not None:
            letters[(row["customer_id"], row["currency"])].append((row, ladder.levels[number]))
    letter_rows, item_rows = [], []
    for (customer_id, currency), items in letters.items():
        top = max((level for _, level in items), key=lambda level: level.level)
        letter = DunningLetter(run=run, customer_id=customer_id, currency=currency, level=top, fee=top.fee)
        letter_items = []
        for row, level in items:
            item_interest = ZERO
            if level.charge_interest:
                since = row["last_interest_on"] or row["due_date"]
                item_interest = interest(
                    amount=row["amount"],
                    reference_rate=settings.reference_rate,
                    margin=level.interest_margin,
                    days=(on - since).days,
                )
            # (letter, invoice, level, days overdue, amount, interest): rows, not model objects
            letter_items.append(
                (letter, row["id"], level.pk, (on - row["due_date"]).days, row["amount"], item_interest)
            )
        letter.total_overdue = sum((item[4] for item in letter_items), ZERO)
        letter.interest = sum((item[5] for item in letter_items), ZERO)
        letter_rows.append(letter)
        item_rows.extend(letter_items)
    DunningLetter.objects.bulk_create(letter_rows, batch_size=5000)
    _insert_items([(letter.pk, *rest) for letter, *rest in item_rows])
    run.letters_count, run.items_count, run.skipped_count = len(letter_rows), len(item_rows), len(screened.skips)
    if not letter_rows:
        run.status = DunningRun.Status.SENT  # nothing to approve or send
    run.save(update_fields=["letters_count", "items_count", "skipped_count", "status"])
    return run


ITEM_COLUMNS = ("letter_id", "invoice_id", "level_id", "days_overdue", "amount", "interest")


def _insert_items(rows: list[tuple]) -> None:
    """Write the run's items: COPY on PostgreSQL (a run writes up to ~100,000 of them, and
    COPY is several times faster than INSERTs built by the ORM), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        DunningItem.objects.bulk_create(DunningItem(**dict(zip(ITEM_COLUMNS, row, strict=True))) for row in rows)
        return
    table = DunningItem._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f'COPY "{table}" ({", ".join(ITEM_COLUMNS)}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _finish_empty(run: DunningRun) -> DunningRun:
    run.status = DunningRun.Status.SENT
    run.save(update_fields=["status"])
    return run


@transaction.atomic
def approve_run(*, run: DunningRun, by=None) -> list[int]:
    """Preview -> approved; returns the ids of the letters to send (a worker sends each)."""
    run = DunningRun.objects.select_for_update().get(pk=run.pk)
    if run.status != DunningRun.Status.PREVIEW:
        raise DunningError(
            f"The dunning run of {run.run_date} is {run.get_status_display().lower()}; only a preview is approved."
        )
    run.status = DunningRun.Status.APPROVED
    run.approved_by = by if getattr(by, "is_authenticated", False) else None
    run.approved_at = timezone.now()
    run.save(update_fields=["status", "approved_by", "approved_at"])
    timeline.record(
        run,
        "approved",
        summary=f"Dunning run of {run.run_date} approved: {run.letters_count} letters",
        trail=f"dunningrun:{run.pk}",
        by=run.approved_by,
    )
    return list(run.letters.filter(status=DunningLetter.Status.PLANNED).values_list("pk", flat=True))


@transaction.atomic
def discard_run(*, run: DunningRun, by=None) -> DunningRun:
    """A preview a manager does not want: its letters are cancelled and its items free again."""
    run = DunningRun.objects.select_for_update().get(pk=run.pk)
    if run.status != DunningRun.Status.PREVIEW:
        raise DunningError(
            f"The dunning run of {run.run_date} is {run.get_status_display().lower()}; only a preview is discarded."
        )
    run.status = DunningRun.Status.DISCARDED
    run.save(update_fields=["status"])
    run.letters.update(status=DunningLetter.Status.CANCELLED)
    timeline.record(
        run, "discarded", summary=f"Dunning run of {run.run_date} discarded", trail=f"dunningrun:{run.pk}", by=by
    )
    return run


def letters_to_send(run: DunningRun) -> list[int]:
    return list(run.letters.filter(status=DunningLetter.Status.PLANNED).values_list("pk", flat=True))


# One letter: charge, then render and send ---------------------------------------------------------
def charge_lines(letter: DunningLetter, settings: CollectionsSettings | None = None) -> list[tuple[str, Decimal]]:
    """(description, amount) of the letter's charge: the level's fee, then each item's interest."""
    settings = settings or CollectionsSettings.current()
    lines = []
    if letter.fee:
        lines.append((f"Dunning fee (level {letter.level.level})", letter.fee))
    for item in letter.items.select_related("invoice", "level").order_by("invoice__due_date", "invoice_id"):
        if item.interest:
            since = _interest_since(item)
            days = (letter.run.run_date - since).days
            rate = (settings.reference_rate + item.level.interest_margin).normalize()
            lines.append((f"Late-payment interest on {item.invoice.number}, {days} days at {rate:f}%", item.interest))
    return lines


def _interest_since(item: DunningItem) -> datetime.date:
    earlier = (
        counted_items()
        .filter(invoice_id=item.invoice_id, interest__gt=0, letter__run__run_date__lt=item.letter.run.run_date)
        .aggregate(m=Max("letter__run__run_date"))["m"]
    )
    return earlier or item.invoice.due_date


def lock_letter_for_charge(letter_id: int) -> DunningLetter | None:
    """The letter, locked, when it still needs its charge (planned, none yet, something to charge)."""
    letter = (
        DunningLetter.objects.select_for_update(of=("self",))
        .select_related("run", "customer__payment_terms", "level")
        .filter(pk=letter_id)
        .first()
    )
    if letter is None or letter.status != DunningLetter.Status.PLANNED or letter.charge_id:
        return None
    if letter.run.status != DunningRun.Status.APPROVED or not (letter.fee + letter.interest):
        return None
    return letter


def attach_charge(*, letter: DunningLetter, charge: Invoice) -> None:
    DunningLetter.objects.filter(pk=letter.pk).update(charge=charge)


@transaction.atomic
def send_letter(*, letter_id: int) -> DunningLetter | None:
    """Send one approved letter on its level's channel, once: email with the PDF to the
    customer's dunning contacts, a stored PDF (letter), or an open call task for the collector
    (call). A letter already sent (or being sent by another worker: its row is locked) is left
    alone; a failed email rolls the whole send back, so the retry sends it once."""
    from . import documents  # WeasyPrint loads only where letters are rendered

    letter = (
        DunningLetter.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("run", "customer", "level")
        .filter(pk=letter_id)
        .first()
    )
    if letter is None or letter.status != DunningLetter.Status.PLANNED or letter.sent_at:
        return None
    if letter.run.status != DunningRun.Status.APPROVED:
        return None
    channel = letter.level.channel
    if channel in (DunningLevel.Channel.EMAIL, DunningLevel.Channel.LETTER):
        pdf = store_pdf(letter=letter, content=documents.letter_pdf(letter))
        if channel == DunningLevel.Channel.EMAIL:
            email_letter(letter, pdf, documents.letter_context(letter))
    else:
        CollectionActivity.objects.create(
            customer=letter.customer,
            kind=CollectionActivity.Kind.CALL_TASK,
            summary=(
                f"Call about {letter.total_overdue} {letter.currency} overdue "
                f"({letter.level.name}, dunning run {letter.run.run_date})"
            )[:300],
            follow_up_on=letter.run.run_date,
            done=False,
            dunning_letter=letter,
        )
    letter.status = DunningLetter.Status.SENT
    letter.sent_at = timezone.now()
    letter.save(update_fields=["status", "sent_at"])
    if not letter.run.letters.filter(status=DunningLetter.Status.PLANNED).exists():
        DunningRun.objects.filter(pk=letter.run_id, status=DunningRun.Status.APPROVED).update(
            status=DunningRun.Status.SENT
        )
    return letter


def email_letter(letter: DunningLetter, pdf: bytes, context: dict) -> None:
    from django.conf import settings
    from django.core.mail import EmailMessage

    from orders.selectors import contact_emails

    from .reminders import render_email

    subject, body = render_email("dunning_letter", letter.customer.language, context)
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=contact_emails(letter.customer, "dunning"),
    )
    message.attach(f"{letter.level.name} {letter.run.run_date}.pdf", pdf, "application/pdf")
    message.send(fail_silently=False)


def store_pdf(*, letter: DunningLetter, content: bytes) -> bytes:
    import hashlib

    from django.core.files.base import ContentFile

    if letter.pdf:
        return content
    letter.pdf.save(
        f"dunning-{letter.run.run_date}-{letter.customer.account_number}-{letter.pk}.pdf",
        ContentFile(content),
        save=False,
    )
    letter.pdf_sha256 = hashlib.sha256(content).hexdigest()
    letter.save(update_fields=["pdf", "pdf_sha256"])
    return content


# Reads for pages and the agency list -------------------------------------------------------------
def history_for(invoice: Invoice):
    """The invoice's dunning history, oldest first, for the partial other pages include."""
    return (
        counted_items()
        .filter(invoice=invoice)
        .select_related("level", "letter__run")
        .order_by("letter__run__run_date", "id")
    )


def agency_items():
    """Items that reached a level handing them to the collection agency and are still open."""
    return (
        counted_items()
        .filter(level__hand_over_to_agency=True, invoice__status=Invoice.Status.ISSUED, invoice__amount_open__gt=0)
        .select_related("invoice__customer", "level", "letter__run")
    )
