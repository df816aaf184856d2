"""Pay links: a signed, expiring URL that opens one invoice's pay page in the customer portal
without signing in. Made here, below the portal, so invoice emails (and later reminders) can
carry one; the portal checks the token (portal/links.py).

The token names the invoice and its number, signed with the SECRET_KEY (TimestampSigner): a
changed character is refused, and so is a link older than O2C_PAY_LINK_MAX_AGE_DAYS.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Invoice

SALT = "portal.pay-link"


def max_age() -> datetime.timedelta:
    return datetime.timedelta(days=settings.O2C_PAY_LINK_MAX_AGE_DAYS)


def pay_token(invoice: Invoice) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{invoice.pk}.{invoice.number}")


def pay_link(invoice: Invoice) -> str:
    """The absolute URL of `invoice`'s pay page, for emails (O2C_PUBLIC_URL + path)."""
    return settings.O2C_PUBLIC_URL + reverse("portal:pay_link", args=[pay_token(invoice)])
