"""Pre-due reminders: a short email with the invoice PDF and its pay link, at the moments the
customer's segment asks for (ReminderPolicy rows; a segment without rows of its own uses the
default rows, segment ""), e.g. 7 days before the due date and on the due date.

The day's plan is set-based: one query per policy moment finds the invoices due that many days
after the day, the skip screen (receivables.skips) takes out what must not be chased, and one
Reminder row per invoice and moment is written (unique in the database: a day planned twice
writes nothing twice). A worker then sends each reminder once (`deliver`, guarded by sent_at).
"""

import datetime
from collections import defaultdict

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from invoicing import links
from invoicing import services as invoicing
from invoicing.models import Invoice, InvoiceDocument
from invoicing.references import format_rf
from orders.models import Contact

from . import skips
from .models import CollectionSkip, CollectionsSettings, Reminder, ReminderPolicy

LANGUAGES = ("en", "fr", "nl", "de")


def moments() -> dict[str, set[int]]:
    """Active reminder moments (days before due) by segment; "" is the default."""
    found: dict[str, set[int]] = defaultdict(set)
    for segment, days in ReminderPolicy.objects.filter(is_active=True).values_list("segment", "days_before_due"):
        found[segment].add(days)
    return found


def due_for_reminder(*, on: datetime.date):
    """(rows, days) per moment: issued invoices with something open due `days` after `on`,
    whose customer's segment uses that moment, not reminded at that moment yet."""
    by_segment = moments()
    own_segments = [segment for segment in by_segment if segment]
    all_days = set().union(*by_segment.values()) if by_segment else set()
    for days in sorted(all_days, reverse=True):
        segments = [segment for segment in own_segments if days in by_segment[segment]]
        condition = Q(customer__segment__in=segments)
        if days in by_segment.get("", set()):
            condition |= ~Q(customer__segment__in=own_segments)
        rows = (
            Invoice.objects.filter(
                condition,
                kind=Invoice.Kind.INVOICE,
                status=Invoice.Status.ISSUED,
                amount_open__gt=0,
                due_date=on + datetime.timedelta(days=days),
            )
            .annotate(reminded=Exists(Reminder.objects.filter(invoice=OuterRef("pk"), days_before_due=days)))
            .filter(reminded=False)
            .values("id", "customer_id", "customer__email", "currency", "amount_open")
            .order_by("customer_id", "id")
        )
        yield list(rows), days


@transaction.atomic
def plan(*, on: datetime.date) -> list[int]:
    """Write the day's Reminder rows (and the skips); returns the ids of reminders to send."""
    collections_settings = CollectionsSettings.current()
    created = []
    for rows, days in due_for_reminder(on=on):
        screened = skips.screen(rows, on=on, step=CollectionSkip.Step.REMINDER, settings=collections_settings)
        if not screened.chase:
            continue
        recipients = _recipients({row["customer_id"]: row["customer__email"] for row in screened.chase})
        reminders = [
            Reminder(
                invoice_id=row["id"],
                days_before_due=days,
                recipient=", ".join(recipients.get(row["customer_id"], []))[:254],
                sent_on=on,
            )
            for row in screened.chase
            if recipients.get(row["customer_id"])
        ]
        Reminder.objects.bulk_create(reminders, batch_size=5000, ignore_conflicts=True)
        created += list(
            Reminder.objects.filter(
                sent_on=on, days_before_due=days, sent_at__isnull=True, invoice_id__in=[r.invoice_id for r in reminders]
            ).values_list("pk", flat=True)
        )
    return created


def _recipients(customer_emails: dict[int, str]) -> dict[int, list[str]]:
    """The customers' "invoices" contacts, else their invoice email: one query for all."""
    found: dict[int, list[str]] = defaultdict(list)
    for customer_id, email in (
        Contact.objects.filter(customer_id__in=customer_emails, role=Contact.Role.INVOICES)
        .order_by("customer_id", "name", "id")
        .values_list("customer_id", "email")
    ):
        found[customer_id].append(email)
    for customer_id, email in customer_emails.items():
        if not found.get(customer_id) and email:
            found[customer_id] = [email]
    return found


def render_email(template: str, language: str, context: dict) -> tuple[str, str]:
    """(subject, body) from receivables/emails/<template>.<language>.txt, English when the
    customer's language has no template. The template's first line is "Subject: ..."."""
    for lang in (language, "en"):
        try:
            text = render_to_string(f"receivables/emails/{template}.{lang}.txt", context)
            break
        except TemplateDoesNotExist:
            continue
    first, _, body = text.lstrip().partition("\n")
    return first.removeprefix("Subject:").strip(), body.strip() + "\n"


def deliver(*, reminder_id: int) -> Reminder | None:
    """Send one reminder once: render the invoice PDF when it is not stored yet, email it with
    the pay link in the customer's language. A sent reminder (or one another worker holds) is
    left alone; an invoice paid since the plan gets no reminder (the row stays unsent)."""
    with transaction.atomic():
        reminder = Reminder.objects.select_for_update(skip_locked=True).filter(pk=reminder_id).first()
        if reminder is None or reminder.sent_at:
            return None
        invoice = Invoice.objects.select_related("customer").get(pk=reminder.invoice_id)
        if invoice.status != Invoice.Status.ISSUED:
            return None
        (document,) = invoicing.render_documents(invoice_id=invoice.pk, kinds=(InvoiceDocument.Kind.PDF,))
        subject, body = render_email(
            "reminder",
            invoice.customer.language,
            {
                "invoice": invoice,
                "days_before_due": reminder.days_before_due,
                "amount": invoice.amount_open,
                "reference": format_rf(invoice.rf_reference) if invoice.rf_reference else invoice.number,
                "pay_link": links.pay_link(invoice),
                "seller": invoice.seller.get("name") or settings.O2C_COMPANY.get("name", ""),
            },
        )
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address.strip() for address in reminder.recipient.split(",") if address.strip()],
        )
        with document.file.open("rb") as handle:
            message.attach(f"{invoice.number}.pdf", handle.read(), "application/pdf")
        message.send(fail_silently=False)
        reminder.sent_at = timezone.now()
        reminder.save(update_fields=["sent_at"])
    return reminder
