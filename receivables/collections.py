"""Collections: who works which account (collector rules and assignments), promises to pay, the
activities a collector logs (calls, template emails, notes, follow-ups) and the worklist that
ranks accounts by a transparent score.

Credit sits above receivables in the layers, so the risk class the score uses is read through
the customer's `credit_profile` relation by the database (no import of the credit app)."""

import dataclasses
import datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from invoicing.models import Invoice
from o2c.core import timeline
from orders.models import Contact, Customer

from .models import (
    Allocation,
    CollectionActivity,
    CollectionsSettings,
    Collector,
    CollectorAssignment,
    CollectorRule,
    Payment,
    PromiseToPay,
)
from .services import ReceivablesError

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
PROMISE_HORIZON_DAYS = 180  # a promise further out than this is not a promise, it is a payment plan


# --- assignment ------------------------------------------------------------------------------------
def rule_matches(rule: CollectorRule, *, segment: str, balance: Decimal) -> bool:
    """A rule takes a customer when its segment is empty or the customer's, and the customer's
    open balance lies within [min_balance, max_balance] (an empty bound is no bound)."""
    if rule.segment and rule.segment != segment:
        return False
    if rule.min_balance is not None and balance < rule.min_balance:
        return False
    return rule.max_balance is None or balance <= rule.max_balance


def collector_for(rules: list[CollectorRule], *, segment: str, balance: Decimal) -> int | None:
    """The collector id of the first matching rule, rules in (priority, id) order."""
    for rule in rules:
        if rule_matches(rule, segment=segment, balance=balance):
            return rule.collector_id
    return None


def apply_collector_rules() -> dict[str, int]:
    """Assign every active customer to the collector of the first rule it matches (by segment and
    open balance). Explicit assignments (by_rule=False) are never touched; an assignment made by
    a rule that no longer matches anything is removed. Safe to run twice: the second run changes
    nothing. Returns counts of created, changed and removed assignments."""
    rules = list(CollectorRule.objects.filter(collector__is_active=True).order_by("priority", "id"))
    balances = dict(
        Invoice.objects.filter(status=Invoice.Status.ISSUED, amount_open__gt=0)
        .values("customer_id")
        .annotate(total=Sum("amount_open"))
        .values_list("customer_id", "total")
        .order_by()
    )
    counts = {"created": 0, "changed": 0, "removed": 0}
    with transaction.atomic():
        existing = {a.customer_id: a for a in CollectorAssignment.objects.select_for_update()}
        new, changed, stale = [], [], []
        for customer_id, segment in Customer.objects.filter(is_active=True).values_list("id", "segment"):
            current = existing.get(customer_id)
            if current is not None and not current.by_rule:
                continue  # an explicit assignment wins over every rule
            collector_id = collector_for(rules, segment=segment, balance=balances.get(customer_id, Decimal("0")))
            if collector_id is None:
                if current is not None:
                    stale.append(current.pk)
            elif current is None:
                new.append(CollectorAssignment(customer_id=customer_id, collector_id=collector_id, by_rule=True))
            elif current.collector_id != collector_id:
                current.collector_id = collector_id
                changed.append(current)
        CollectorAssignment.objects.bulk_create(new, batch_size=2000)
        CollectorAssignment.objects.bulk_update(changed, ["collector"], batch_size=2000)
        CollectorAssignment.objects.filter(pk__in=stale).delete()
    counts.update(created=len(new), changed=len(changed), removed=len(stale))
    return counts


def assign_collector(*, customer: Customer, collector: Collector | None, by=None) -> CollectorAssignment | None:
    """An explicit assignment: it wins over the rules until it is cleared (collector=None), after
    which the next rule run assigns the customer again."""
    with transaction.atomic():
        current = CollectorAssignment.objects.select_for_update().filter(customer=customer).first()
        if collector is None:
            if current is not None:
                current.by_rule = True  # the rules take over at their next run
                current.save(update_fields=["by_rule", "assigned_at"])
            return current
        if not collector.is_active:
            raise ReceivablesError(
                f"{collector} is not an active collector.", [("assignment", "collector", "inactive")]
            )
        if current is None:
            current = CollectorAssignment(customer=customer)
        current.collector = collector
        current.by_rule = False
        current.save()
        timeline.record(
            current, "assigned", summary=f"{customer.name} assigned to {collector}", trail=_trail(customer), by=by
        )
    return current


def _trail(customer: Customer) -> str:
    return f"customer:{customer.pk}"


# --- promises to pay -------------------------------------------------------------------------------
def record_promise(
    *,
    customer: Customer,
    promised_date: datetime.date,
    amount: Decimal,
    on: datetime.date,
    invoices: list[Invoice] | None = None,
    note: str = "",
    by=None,
) -> PromiseToPay:
    """The customer promises to pay `amount` by `promised_date`, for the account or for the given
    open invoices. Refused (nothing recorded) when the amount is not above zero or above what is
    open, the date is in the past or too far out, or an invoice is not this customer's open one."""
    invoices = list(invoices or [])
    problems = []
    if amount is None or amount <= 0:
        problems.append(("promise", "amount", "must be above zero"))
    if promised_date is None or promised_date < on:
        problems.append(("promise", "promised date", f"must be today ({on:%Y-%m-%d}) or later"))
    elif promised_date > on + datetime.timedelta(days=PROMISE_HORIZON_DAYS):
        problems.append(("promise", "promised date", f"must be within {PROMISE_HORIZON_DAYS} days"))
    for invoice in invoices:
        if invoice.customer_id != customer.pk:
            problems.append((f"invoice {invoice.number}", "customer", "belongs to another customer"))
        elif invoice.status != Invoice.Status.ISSUED or invoice.amount_open <= 0:
            problems.append((f"invoice {invoice.number}", "status", "has nothing open"))
    if not problems and amount is not None:
        scope = Invoice.objects.filter(pk__in=[i.pk for i in invoices]) if invoices else customer.invoices.all()
        open_amount = scope.filter(status=Invoice.Status.ISSUED, amount_open__gt=0).aggregate(
            total=Coalesce(Sum("amount_open"), ZERO)
        )["total"]
        if amount > open_amount:
            what = "the promised invoices" if invoices else "the account"
            problems.append(("promise", "amount", f"is more than the {open_amount} open on {what}"))
    if problems:
        raise ReceivablesError("The promise to pay was not recorded.", problems)
    with transaction.atomic():
        promise = PromiseToPay.objects.create(
            customer=customer,
            promised_date=promised_date,
            amount=amount,
            currency=invoices[0].currency if invoices else customer.currency,
            note=note[:200],
            created_by=by,
        )
        if invoices:
            promise.invoices.set(invoices)
        _set_next_action(
            customer, promised_date + datetime.timedelta(days=CollectionsSettings.current().promise_grace_days)
        )
        timeline.record(
            promise,
            "promised",
            summary=f"Promise to pay {amount} {promise.currency} by {promised_date:%Y-%m-%d}",
            trail=_trail(customer),
            by=by,
        )
    return promise


def paid_towards(promise: PromiseToPay) -> Decimal:
    """What has been paid towards a promise: payments with a value date from the day it was made
    up to its date; for a promise on invoices, only the cash applied to those invoices."""
    made_on = promise.created_at.date() if promise.created_at else promise.promised_date
    window = {"gte": made_on, "lte": promise.promised_date}
    invoice_ids = [invoice.pk for invoice in promise.invoices.all()]
    if invoice_ids:
        return Allocation.objects.filter(
            invoice_id__in=invoice_ids,
            reversed_at__isnull=True,
            payment__value_date__gte=window["gte"],
            payment__value_date__lte=window["lte"],
        ).aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
    return (
        Payment.objects.filter(
            customer_id=promise.customer_id, value_date__gte=window["gte"], value_date__lte=window["lte"]
        )
        .exclude(status=Payment.Status.REVERSED)
        .aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
    )


def review_promises(*, on: datetime.date) -> dict[str, int]:
    """The daily check of open promises on day `on`: kept when what was paid towards one reaches
    its amount; broken on the day `promise_grace_days` after its date when not kept, with a call
    task for the collector. Safe to run twice on the same day (only open promises are looked at)."""
    grace = datetime.timedelta(days=CollectionsSettings.current().promise_grace_days)
    counts = {"kept": 0, "broken": 0}
    for promise in PromiseToPay.objects.filter(status=PromiseToPay.Status.OPEN).prefetch_related("invoices"):
        with transaction.atomic():
            locked = PromiseToPay.objects.select_for_update().get(pk=promise.pk)
            if locked.status != PromiseToPay.Status.OPEN:
                continue
            if paid_towards(promise) >= promise.amount:
                locked.status, locked.closed_on = PromiseToPay.Status.KEPT, on
                locked.save(update_fields=["status", "closed_on"])
                counts["kept"] += 1
            elif on >= promise.promised_date + grace:
                locked.status, locked.closed_on = PromiseToPay.Status.BROKEN, on
                locked.save(update_fields=["status", "closed_on"])
                CollectionActivity.objects.create(
                    customer_id=promise.customer_id,
                    kind=CollectionActivity.Kind.CALL_TASK,
                    summary=(
                        f"Promise to pay {promise.amount} {promise.currency} by {promise.promised_date:%Y-%m-%d} "
                        "was broken: call the customer."
                    ),
                    follow_up_on=on,
                    done=False,
                )
                _set_next_action(promise.customer, on)
                counts["broken"] += 1
    return counts


def cancel_promise(*, promise: PromiseToPay, on: datetime.date, by=None) -> PromiseToPay:
    with transaction.atomic():
        promise = PromiseToPay.objects.select_for_update().get(pk=promise.pk)
        if promise.status != PromiseToPay.Status.OPEN:
            raise ReceivablesError(f"This promise is already {promise.get_status_display().lower()}.")
        promise.status, promise.closed_on = PromiseToPay.Status.CANCELLED, on
        promise.save(update_fields=["status", "closed_on"])
    return promise


# --- activities --------------------------------------------------------------------------------------
def _set_next_action(customer: Customer, day: datetime.date | None) -> None:
    """The follow-up date on the customer's assignment (when it has a collector)."""
    CollectorAssignment.objects.filter(customer=customer).update(next_action_on=day)


def log_call(
    *,
    customer: Customer,
    outcome: str,
    summary: str,
    on: datetime.date,
    follow_up_on: datetime.date | None = None,
    by=None,
) -> CollectionActivity:
    """A call made to the customer, with its outcome and an optional follow-up date."""
    problems = []
    if outcome not in CollectionActivity.Outcome.values or not outcome:
        problems.append(("call", "outcome", "choose what came of the call"))
    if not summary.strip():
        problems.append(("call", "summary", "say what was said"))
    if follow_up_on is not None and follow_up_on < on:
        problems.append(("call", "follow up on", "must be today or later"))
    if problems:
        raise ReceivablesError("The call was not logged.", problems)
    with transaction.atomic():
        activity = CollectionActivity.objects.create(
            customer=customer,
            kind=CollectionActivity.Kind.CALL,
            outcome=outcome,
            summary=summary.strip()[:300],
            follow_up_on=follow_up_on,
            by=by,
        )
        if follow_up_on is not None:
            _set_next_action(customer, follow_up_on)
    return activity


def add_note(
    *, customer: Customer, text: str, follow_up_on: datetime.date | None = None, by=None
) -> CollectionActivity:
    if not text.strip():
        raise ReceivablesError("The note was not saved.", [("note", "text", "is empty")])
    with transaction.atomic():
        activity = CollectionActivity.objects.create(
            customer=customer,
            kind=CollectionActivity.Kind.NOTE,
            summary=text.strip()[:300],
            follow_up_on=follow_up_on,
            by=by,
        )
        if follow_up_on is not None:
            _set_next_action(customer, follow_up_on)
    return activity


def set_follow_up(*, customer: Customer, on: datetime.date, follow_up_on: datetime.date | None, by=None) -> None:
    if follow_up_on is not None and follow_up_on < on:
        raise ReceivablesError("The follow-up date was not set.", [("follow-up", "date", "must be today or later")])
    if not CollectorAssignment.objects.filter(customer=customer).exists():
        raise ReceivablesError(
            f"{customer.name} has no collector yet; assign one first.", [("follow-up", "collector", "none")]
        )
    _set_next_action(customer, follow_up_on)


def complete_task(*, activity: CollectionActivity, outcome: str = "", note: str = "", by=None) -> CollectionActivity:
    """Close an open call task (e.g. one a dunning level asked for), noting what came of it."""
    with transaction.atomic():
        activity = CollectionActivity.objects.select_for_update().get(pk=activity.pk)
        if activity.done:
            raise ReceivablesError("This task is already done.")
        if outcome and outcome not in CollectionActivity.Outcome.values:
            raise ReceivablesError("The task was not completed.", [("task", "outcome", "unknown outcome")])
        activity.done = True
        activity.outcome = outcome
        if note.strip():
            activity.summary = f"{activity.summary} — {note.strip()}"[:300]
        activity.save(update_fields=["done", "outcome", "summary"])
        if by is not None:
            CollectionActivity.objects.filter(pk=activity.pk).update(by=by)
    return activity


# --- template emails ---------------------------------------------------------------------------------
LANGUAGES = ("en", "fr", "nl", "de")
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    # key -> language -> (subject, body). Placeholders: {customer}, {account}, {overdue}, {company}.
    "friendly_reminder": {
        "en": (
            "A friendly reminder from {company}",
            "Dear {customer},\n\nOur records show {overdue} past due on your account {account}. "
            "If you have already paid, thank you and please ignore this message; otherwise we would "
            "appreciate your payment soon.\n\nKind regards,\n{company}",
        ),
        "fr": (
            "Un rappel amical de {company}",
            "Madame, Monsieur ({customer}),\n\nSelon nos données, {overdue} sont échus sur votre compte {account}. "
            "Si vous avez déjà payé, merci et veuillez ignorer ce message ; sinon, nous vous remercions de "
            "régler ce montant rapidement.\n\nCordialement,\n{company}",
        ),
        "nl": (
            "Een vriendelijke herinnering van {company}",
            "Beste {customer},\n\nVolgens onze gegevens staat er {overdue} vervallen op uw rekening {account}. "
            "Hebt u al betaald, dank u wel en beschouw dit bericht als niet verzonden; anders zien wij uw "
            "betaling graag spoedig tegemoet.\n\nMet vriendelijke groet,\n{company}",
        ),
        "de": (
            "Eine freundliche Erinnerung von {company}",
            "Sehr geehrte Damen und Herren ({customer}),\n\nlaut unseren Unterlagen sind auf Ihrem Konto {account} "
            "{overdue} überfällig. Falls Sie bereits bezahlt haben, danken wir Ihnen; andernfalls bitten wir um "
            "baldige Zahlung.\n\nMit freundlichen Grüßen\n{company}",
        ),
    },
    "overdue_notice": {
        "en": (
            "Overdue notice: account {account}",
            "Dear {customer},\n\n{overdue} on your account {account} is overdue. Please pay it within 7 days "
            "or contact us if something is wrong with the invoices.\n\nKind regards,\n{company}",
        ),
        "fr": (
            "Avis de retard de paiement : compte {account}",
            "Madame, Monsieur ({customer}),\n\n{overdue} sont en retard sur votre compte {account}. Merci de "
            "régler sous 7 jours ou de nous contacter en cas de problème.\n\nCordialement,\n{company}",
        ),
        "nl": (
            "Betalingsachterstand: rekening {account}",
            "Beste {customer},\n\n{overdue} op uw rekening {account} is vervallen. Gelieve binnen 7 dagen te "
            "betalen of contact op te nemen als er iets mis is met de facturen.\n\nMet vriendelijke groet,\n{company}",
        ),
        "de": (
            "Zahlungsrückstand: Konto {account}",
            "Sehr geehrte Damen und Herren ({customer}),\n\n{overdue} auf Ihrem Konto {account} sind überfällig. "
            "Bitte zahlen Sie innerhalb von 7 Tagen oder melden Sie sich bei Unklarheiten.\n\n"
            "Mit freundlichen Grüßen\n{company}",
        ),
    },
    "statement_enclosed": {
        "en": (
            "Your statement of account {account}",
            "Dear {customer},\n\nPlease find your statement of account enclosed. {overdue} of it is past due."
            "\n\nKind regards,\n{company}",
        ),
        "fr": (
            "Votre relevé de compte {account}",
            "Madame, Monsieur ({customer}),\n\nVeuillez trouver ci-joint votre relevé de compte. {overdue} sont échus."
            "\n\nCordialement,\n{company}",
        ),
        "nl": (
            "Uw rekeningoverzicht {account}",
            "Beste {customer},\n\nIn bijlage vindt u uw rekeningoverzicht. Daarvan is {overdue} vervallen."
            "\n\nMet vriendelijke groet,\n{company}",
        ),
        "de": (
            "Ihr Kontoauszug {account}",
            "Sehr geehrte Damen und Herren ({customer}),\n\nanbei erhalten Sie Ihren Kontoauszug. Davon sind "
            "{overdue} überfällig.\n\nMit freundlichen Grüßen\n{company}",
        ),
    },
}
TEMPLATE_CHOICES = [
    ("friendly_reminder", "Friendly reminder"),
    ("overdue_notice", "Overdue notice"),
    ("statement_enclosed", "Statement enclosed"),
]


def collections_recipients(customer: Customer) -> list[str]:
    """Who collections writes to: the dunning contacts, else the invoice contacts, else the
    customer's invoice email."""
    contacts = list(
        customer.contacts.filter(role__in=[Contact.Role.DUNNING, Contact.Role.INVOICES]).values_list("role", "email")
    )
    for role in (Contact.Role.DUNNING, Contact.Role.INVOICES):
        emails = [email for r, email in contacts if r == role]
        if emails:
            return emails
    return [customer.email]


def render_template_email(*, template: str, customer: Customer, on: datetime.date) -> tuple[str, str]:
    """(subject, body) of a template in the customer's language (English when there is none)."""
    if template not in TEMPLATES:
        raise ReceivablesError("The email was not sent.", [("email", "template", "unknown template")])
    by_language = TEMPLATES[template]
    subject, body = by_language.get(customer.language, by_language["en"])
    overdue = Invoice.objects.filter(
        customer=customer, status=Invoice.Status.ISSUED, amount_open__gt=0, due_date__lt=on
    ).aggregate(total=Coalesce(Sum("amount_open"), ZERO))["total"]
    values = {
        "customer": customer.name,
        "account": customer.account_number,
        "overdue": f"{overdue:,.2f} {customer.currency}",
        "company": settings.O2C_COMPANY["name"],
    }
    return subject.format(**values), body.format(**values)


def send_template_email(
    *,
    customer: Customer,
    template: str,
    on: datetime.date,
    by=None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> CollectionActivity:
    """Email a template to the customer's collections contacts and log it as an activity. The
    activity is written only when the mail server accepted the message."""
    subject, body = render_template_email(template=template, customer=customer, on=on)
    recipients = collections_recipients(customer)
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=recipients)
    for name, content, content_type in attachments or []:
        message.attach(name, content, content_type)
    message.send(fail_silently=False)
    return CollectionActivity.objects.create(
        customer=customer,
        kind=CollectionActivity.Kind.EMAIL,
        summary=f"{dict(TEMPLATE_CHOICES)[template]} emailed to {', '.join(recipients)}: {subject}"[:300],
        by=by,
    )


# --- the worklist ------------------------------------------------------------------------------------
RISK_POINTS = {"A": 0, "B": 10, "C": 30, "D": 60, "E": 100}
NO_PROFILE_RISK_POINTS = 10  # a customer without a credit profile counts as class B
AMOUNT_UNIT = Decimal("100")  # one point per 100 overdue (in the account's currency)
BROKEN_PROMISE_POINTS = 50
WORKLIST_PER_PAGE = 50


@dataclasses.dataclass
class WorklistRow:
    customer_id: int
    name: str
    account_number: str
    segment: str
    currency: str
    collector: str
    overdue_amount: Decimal
    overdue_items: int
    oldest_due: datetime.date
    days_overdue: int
    risk_class: str
    broken_promises: int
    follow_up_on: datetime.date | None
    open_tasks: int
    promise_due: datetime.date | None
    amount_points: Decimal
    days_points: int
    risk_points: int
    promise_points: int
    score: Decimal

    @property
    def next_action(self) -> str:
        """What to do next, soonest first: an open call task, a follow-up, a promise falling due."""
        if self.open_tasks:
            return f"{self.open_tasks} open call task{'s' if self.open_tasks > 1 else ''}"
        if self.follow_up_on:
            return f"Follow up on {self.follow_up_on:%Y-%m-%d}"
        if self.promise_due:
            return f"Promise due {self.promise_due:%Y-%m-%d}"
        return "Call"


@dataclasses.dataclass
class WorklistPage:
    rows: list[WorklistRow]
    total: int
    number: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.number * self.per_page < self.total

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def score_explained() -> list[str]:
    risk = ", ".join(f"{k} {v}" for k, v in RISK_POINTS.items())
    return [
        f"1 point per {AMOUNT_UNIT} overdue",
        "1 point per day the oldest overdue item is past due",
        f"risk class points: {risk} (no credit profile: {NO_PROFILE_RISK_POINTS})",
        f"{BROKEN_PROMISE_POINTS} points per broken promise",
    ]


def worklist(
    *,
    on: datetime.date,
    collector_id: int | None = None,
    segment: str = "",
    page: int = 1,
    per_page: int = WORKLIST_PER_PAGE,
) -> WorklistPage:
    """Accounts with overdue items, highest score first, one page, in ONE query computed by the
    database (aggregates over the overdue items, never a Python loop over rows).

    score = overdue amount / 100 + days the oldest item is overdue + risk class points
            + 50 x broken promises; every part is returned with the row."""
    t = {
        model: model._meta.db_table
        for model in (Invoice, Customer, CollectorAssignment, Collector, PromiseToPay, CollectionActivity)
    }
    profile_model = Customer._meta.get_field("credit_profile").related_model  # credit, read by the database
    user_table = Collector._meta.get_field("user").related_model._meta.db_table
    days = (
        "(%(on)s::date - o.oldest_due)"
        if connection.vendor == "postgresql"
        else "CAST(julianday(%(on)s) - julianday(o.oldest_due) AS INTEGER)"
    )
    risk_case = " ".join(f"WHEN '{k}' THEN {v}" for k, v in RISK_POINTS.items())
    risk = f"(CASE p.risk_class {risk_case} ELSE {NO_PROFILE_RISK_POINTS} END)"
    amount_points = f"ROUND(o.overdue_amount / {AMOUNT_UNIT:.1f}, 2)"  # .0: SQLite divides integers as integers
    broken = f"COALESCE(bp.n, 0) * {BROKEN_PROMISE_POINTS}"
    narrow = []  # the filters, applied to the items before they are summed
    params = {"on": on, "issued": Invoice.Status.ISSUED, "broken": PromiseToPay.Status.BROKEN}
    if collector_id is not None:
        narrow.append(
            f"customer_id IN (SELECT customer_id FROM {t[CollectorAssignment]} WHERE collector_id = %(collector)s)"
        )
        params["collector"] = collector_id
    if segment:
        narrow.append(f"customer_id IN (SELECT id FROM {t[Customer]} WHERE segment = %(segment)s)")
        params["segment"] = segment
    narrow_items = "".join(f" AND {condition}" for condition in narrow)
    params |= {"limit": per_page, "offset": (max(page, 1) - 1) * per_page, "open": PromiseToPay.Status.OPEN}
    sql = f"""
        WITH o AS (
            SELECT customer_id, SUM(amount_open) AS overdue_amount, MIN(due_date) AS oldest_due, COUNT(*) AS items
            FROM {t[Invoice]}
            WHERE status = %(issued)s AND amount_open > 0 AND due_date < %(on)s{narrow_items}
            GROUP BY customer_id
        ),
        bp AS (
            SELECT customer_id, COUNT(*) AS n FROM {t[PromiseToPay]} WHERE status = %(broken)s GROUP BY customer_id
        ),
        ranked AS (  -- the score needs only the sums, the risk class and the broken promises
            SELECT o.customer_id AS id, o.overdue_amount, o.items, o.oldest_due, {days} AS days_overdue,
                   COALESCE(p.risk_class, '') AS risk_class, COALESCE(bp.n, 0) AS broken_promises,
                   {amount_points} AS amount_points, {risk} AS risk_points, {broken} AS promise_points,
                   {amount_points} + {days} + {risk} + {broken} AS score
            FROM o
            LEFT JOIN {profile_model._meta.db_table} p ON p.customer_id = o.customer_id
            LEFT JOIN bp ON bp.customer_id = o.customer_id
        ),
        page AS (
            SELECT ranked.*, COUNT(*) OVER () AS total FROM ranked ORDER BY score DESC, id LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT page.*, c.name, c.account_number, c.segment, c.currency, a.next_action_on,
               (SELECT COUNT(*) FROM {t[CollectionActivity]} ca WHERE ca.customer_id = page.id AND NOT ca.done) AS open_tasks,
               (SELECT MIN(promised_date) FROM {t[PromiseToPay]} pp WHERE pp.customer_id = page.id AND pp.status = %(open)s) AS promise_due,
               (SELECT COALESCE(NULLIF(TRIM(u.first_name || ' ' || u.last_name), ''), u.username)
                  FROM {t[Collector]} k JOIN {user_table} u ON u.id = k.user_id WHERE k.id = a.collector_id) AS collector
        FROM page
        JOIN {t[Customer]} c ON c.id = page.id
        LEFT JOIN {t[CollectorAssignment]} a ON a.customer_id = page.id
        ORDER BY page.score DESC, page.id
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the per-customer sums fit in memory instead of spilling to disk
            cursor.execute("SET LOCAL work_mem = '32MB'")
        cursor.execute(sql, params)
        columns = [col[0] for col in cursor.description]
        records = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    rows = [
        WorklistRow(
            customer_id=r["id"],
            name=r["name"],
            account_number=r["account_number"],
            segment=r["segment"],
            currency=r["currency"],
            collector=r["collector"] or "",
            overdue_amount=Decimal(r["overdue_amount"]),
            overdue_items=r["items"],
            oldest_due=_date(r["oldest_due"]),
            days_overdue=int(r["days_overdue"]),
            risk_class=r["risk_class"],
            broken_promises=r["broken_promises"],
            follow_up_on=_date(r["next_action_on"]),
            open_tasks=r["open_tasks"],
            promise_due=_date(r["promise_due"]),
            amount_points=Decimal(r["amount_points"]).quantize(Decimal("0.01")),
            days_points=int(r["days_overdue"]),
            risk_points=int(r["risk_points"]),
            promise_points=int(r["promise_points"]),
            score=Decimal(r["score"]).quantize(Decimal("0.01")),
        )
        for r in records
    ]
    total = records[0]["total"] if records else 0
    if not records and page > 1:  # past the end: say how many there are
        total = worklist(on=on, collector_id=collector_id, segment=segment, page=1, per_page=per_page).total
    return WorklistPage(rows=rows, total=total, number=max(page, 1), per_page=per_page)


def _date(value) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])  # SQLite hands dates back as text


def segments() -> list[str]:
    return list(Customer.objects.exclude(segment="").values_list("segment", flat=True).distinct().order_by("segment"))


def active_collectors():
    return Collector.objects.filter(is_active=True).select_related("user").order_by("user__username")


# --- the customer account (360) reads ----------------------------------------------------------------
def customer_aging(customer: Customer, *, on: datetime.date) -> list[dict]:
    """The customer's open items per aging bucket on `on`, one query."""
    from .selectors import AGING_BUCKETS

    sums = {}
    for key, _, low, high in AGING_BUCKETS:
        condition = Q(due_date__gte=on) if low is None else Q(due_date__lte=on - datetime.timedelta(days=low))
        if low is not None and high is not None:
            condition &= Q(due_date__gte=on - datetime.timedelta(days=high))
        sums[key] = Coalesce(Sum("amount_open", filter=condition), ZERO)
    totals = Invoice.objects.filter(customer=customer, status=Invoice.Status.ISSUED, amount_open__gt=0).aggregate(
        **sums
    )
    return [{"key": key, "label": label, "amount": totals[key]} for key, label, _, _ in AGING_BUCKETS]


def promises_of(customer: Customer, *, limit: int = 20):
    return (
        PromiseToPay.objects.filter(customer=customer)
        .prefetch_related("invoices")
        .select_related("created_by")
        .order_by("-promised_date", "-id")[:limit]
    )


def activities_of(customer: Customer, *, limit: int = 30):
    return (
        CollectionActivity.objects.filter(customer=customer, done=True)
        .select_related("by")
        .order_by("-at", "-id")[:limit]
    )


def open_tasks_of(customer: Customer):
    return (
        CollectionActivity.objects.filter(customer=customer, done=False)
        .select_related("dunning_letter__level")
        .order_by("follow_up_on", "id")
    )


def my_open_tasks(collector_id: int):
    return CollectionActivity.objects.filter(done=False, customer__collector_assignment__collector_id=collector_id)
