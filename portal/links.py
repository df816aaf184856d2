"""Pay links, the portal's side: the invoice a link's token names. The links themselves are
made by invoicing.links (pay_link, pay_token), so invoice emails can carry them."""

from django.core import signing

from invoicing.links import SALT, max_age, pay_link, pay_token  # noqa: F401  (re-exported)
from invoicing.models import Invoice


class PayLinkRefused(Exception):
    """The link is tampered with, expired, or names an invoice that cannot be paid here."""


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
