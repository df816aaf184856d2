"""Pay links: a signed, expiring URL that opens one invoice's pay page without signing in.

Invoice emails and reminders put pay_link(invoice) in their text. The token names the
invoice and its number, signed with the SECRET_KEY (TimestampSigner): a changed character is
refused, and so is a link older than O2C_PAY_LINK_MAX_AGE_DAYS.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

from invoicing.models import Invoice

SALT = "portal.pay-link"


class PayLinkRefused(Exception):
    """The link is tampered with, expired, or names an invoice that cannot be paid here."""


def max_age() -> datetime.timedelta:
    return datetime.timedelta(days=settings.O2C_PAY_LINK_MAX_AGE_DAYS)


def pay_token(invoice: Invoice) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{invoice.pk}.{invoice.number}")


def pay_link(invoice: Invoice) -> str:
    """The absolute URL of `invoice`'s pay page, for emails (O2C_PUBLIC_URL + path)."""
    return settings.O2C_PUBLIC_URL + reverse("portal:pay_link", args=[pay_token(invoice)])


def invoice_from_token(token: str) -> Invoice:
    """The issued invoice a valid, unexpired token names; PayLinkRefused otherwise."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=max_age())
    except signing.SignatureExpired as error:
        raise PayLinkRefused("This pay link has expired. Sign in to the portal, or ask us for a new link.") from error
    except signing.BadSignature as error:
        raise PayLinkRefused("This pay link is not valid. Use the link from your invoice email.") from error
    pk, _, number = value.partition(".")
    invoice = (
        Invoice.objects.select_related("customer")
        .filter(pk=int(pk), number=number, kind=Invoice.Kind.INVOICE)
        .exclude(status=Invoice.Status.DRAFT)
        .first()
    )
    if invoice is None:
        raise PayLinkRefused("This pay link does not name an invoice of ours.")
    return invoice
