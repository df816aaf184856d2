"""Portal writes: online payments started, customer users invited and managed, change
requests, invoice delivery preferences. Each one transaction; each leaves a trace (timeline
events on the documents, AuditEvent rows for account changes via O2C_AUDITED_MODELS)."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from invoicing.models import Invoice
from o2c.core import roles, timeline
from o2c.core.errors import DomainError
from orders.models import Customer

from .models import ChangeRequest, InvoiceDeliveryPreference, PaymentIntent, PaymentIntentItem, PortalAccess

User = get_user_model()


class PortalError(DomainError):
    pass


def invoice_trail(invoice: Invoice) -> str:
    return invoice.order.trail if invoice.order_id else f"invoice:{invoice.pk}"


# --- online payments -------------------------------------------------------------------------------
@transaction.atomic
def start_payment(
    *, customer: Customer, invoices: list[Invoice], provider: str, by=None, via_pay_link: bool = False
) -> PaymentIntent:
    """An intent to pay the open amount of each invoice, all of `customer`'s, issued, open and
    in one currency. Refused (nothing saved) with a reason per invoice otherwise."""
    if not invoices:
        raise PortalError("Choose at least one invoice to pay.", [("payment", "invoices", "choose at least one")])
    locked = list(
        Invoice.objects.select_for_update().filter(pk__in=[i.pk for i in invoices]).order_by("due_date", "id")
    )
    problems = []
    for invoice in locked:
        if invoice.customer_id != customer.pk:
            problems.append((str(invoice), "invoice", "not an invoice of your account"))
        elif (
            invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED or invoice.amount_open <= 0
        ):
            problems.append((str(invoice), "invoice", "has nothing left to pay"))
    currencies = {invoice.currency for invoice in locked}
    if len(currencies) > 1:
        problems.append(
            ("payment", "invoices", f"pay invoices of one currency at a time ({', '.join(sorted(currencies))})")
        )
    if problems:
        raise PortalError("Nothing was paid.", problems)
    intent = PaymentIntent.objects.create(
        customer=customer,
        provider=provider,
        currency=locked[0].currency,
        amount=sum((invoice.amount_open for invoice in locked), Decimal("0")),
        started_by=by if by is not None and by.is_authenticated else None,
        via_pay_link=via_pay_link,
    )
    PaymentIntentItem.objects.bulk_create(
        PaymentIntentItem(intent=intent, invoice=invoice, amount=invoice.amount_open) for invoice in locked
    )
    where = "a pay link" if via_pay_link else "the portal"
    for invoice in locked:
        timeline.record(
            invoice,
            "payment_started",
            summary=f"Payment of {invoice.amount_open} {invoice.currency} started in {where} ({provider.replace('_', ' ')})",
            trail=invoice_trail(invoice),
            by=by,
        )
    return intent


@transaction.atomic
def mark_awaiting_transfer(*, intent: PaymentIntent) -> PaymentIntent:
    PaymentIntent.objects.filter(pk=intent.pk, status=PaymentIntent.Status.STARTED).update(
        status=PaymentIntent.Status.AWAITING_TRANSFER
    )
    intent.refresh_from_db()
    return intent


@transaction.atomic
def fail_intent(*, intent: PaymentIntent, reason: str, by=None) -> PaymentIntent:
    intent = PaymentIntent.objects.select_for_update().get(pk=intent.pk)
    if intent.status != PaymentIntent.Status.STARTED:
        return intent
    intent.status, intent.failure_reason = PaymentIntent.Status.FAILED, reason[:200]
    intent.save(update_fields=["status", "failure_reason"])
    for item in intent.items.select_related("invoice"):
        timeline.record(
            item.invoice,
            "payment_failed",
            summary=f"Online payment failed: {reason}",
            trail=invoice_trail(item.invoice),
            by=by,
        )
    return intent


# --- customer users ---------------------------------------------------------------------------------
def _rights(access: PortalAccess, rights: dict) -> None:
    for flag in PortalAccess.RIGHTS:
        setattr(access, flag, bool(rights.get(flag, False)))


@transaction.atomic
def invite_user(
    *, customer: Customer, email: str, first_name: str = "", last_name: str = "", rights: dict, by
) -> PortalAccess:
    """A new portal user of `customer` with the given rights, and an email with a one-time
    link to set a password (Django's token generator: it stops working once used)."""
    email = email.strip().lower()
    if User.objects.filter(username__iexact=email).exists() or User.objects.filter(email__iexact=email).exists():
        raise PortalError("Nobody was invited.", [("user", "email", f"{email} already has a login")])
    user = User.objects.create(username=email, email=email, first_name=first_name.strip(), last_name=last_name.strip())
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=roles.CUSTOMER))
    access = PortalAccess(user=user, customer=customer, invited_by=by, invited_at=timezone.now())
    _rights(access, rights)
    access.save()
    send_invitation(access=access)
    return access


def set_password_link(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.O2C_PUBLIC_URL + reverse("password_reset_confirm", args=[uid, token])


def send_invitation(*, access: PortalAccess) -> None:
    company = settings.O2C_COMPANY["name"]
    user = access.user
    transaction.on_commit(
        lambda: send_mail(
            f"Your {company} customer portal login",
            f"Hello {user.first_name or user.email},\n\n"
            f"You can now see and pay the invoices of {access.customer.name} in our customer portal.\n"
            f"Choose your password here (the link works once):\n\n{set_password_link(user)}\n\n"
            f"Then sign in with {user.username} at {settings.O2C_PUBLIC_URL}{reverse('login')}\n\n{company}\n",
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
        )
    )


@transaction.atomic
def update_access(*, access: PortalAccess, rights: dict, active: bool, by) -> PortalAccess:
    """New rights for a colleague, or disable/enable their login. A customer keeps at least one
    active user who manages users, so nobody locks the account out of itself."""
    access = PortalAccess.objects.select_for_update().select_related("user").get(pk=access.pk)
    _rights(access, rights)
    others = PortalAccess.objects.filter(customer_id=access.customer_id, can_manage_users=True, user__is_active=True)
    if not (active and access.can_manage_users) and not others.exclude(pk=access.pk).exists():
        raise PortalError(
            "Nothing was changed.", [("user", "rights", "keep at least one active user who may manage users")]
        )
    access.save()
    if access.user.is_active != active:
        access.user.is_active = active
        access.user.save(update_fields=["is_active"])
    return access


# --- account changes -----------------------------------------------------------------------------
@transaction.atomic
def request_change(*, customer: Customer, kind: str, details: str, by, attachment=None) -> ChangeRequest:
    if not details.strip():
        raise PortalError("The request was not sent.", [("request", "details", "say what should change")])
    change = ChangeRequest.objects.create(
        customer=customer, kind=kind, details=details.strip(), requested_by=by, attachment=attachment or ""
    )
    timeline.record(
        change,
        "requested",
        summary=f"{change.get_kind_display()} change requested",
        trail=f"customer:{customer.pk}",
        by=by,
    )
    return change


@transaction.atomic
def handle_change_request(*, change: ChangeRequest, status: str, note: str, by) -> ChangeRequest:
    change = ChangeRequest.objects.select_for_update().get(pk=change.pk)
    if change.status != ChangeRequest.Status.OPEN:
        raise PortalError(f"This request is already {change.get_status_display().lower()}.")
    change.status, change.staff_note, change.handled_by, change.handled_at = status, note[:200], by, timezone.now()
    change.save(update_fields=["status", "staff_note", "handled_by", "handled_at"])
    timeline.record(
        change,
        status,
        summary=f"{change.get_kind_display()} change {change.get_status_display().lower()}",
        trail=f"customer:{change.customer_id}",
        by=by,
        note=note,
    )
    return change


@transaction.atomic
def save_delivery_preference(*, customer: Customer, channel: str, email: str, peppol_id: str, by):
    problems = []
    if channel == InvoiceDeliveryPreference.Channel.E_INVOICE and not peppol_id.strip():
        problems.append(("preference", "peppol_id", "give your Peppol participant id for e-invoices"))
    if channel == InvoiceDeliveryPreference.Channel.EMAIL and not (email.strip() or customer.email):
        problems.append(("preference", "email", "give the address invoices go to"))
    if problems:
        raise PortalError("The preference was not saved.", problems)
    preference = InvoiceDeliveryPreference.objects.filter(customer=customer).first()
    preference = preference or InvoiceDeliveryPreference(customer=customer)
    preference.channel, preference.email, preference.peppol_id = channel, email.strip(), peppol_id.strip()
    preference.updated_by = by
    preference.save()  # audited (O2C_AUDITED_MODELS): who changed it, before and after
    return preference
