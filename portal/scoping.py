"""The one way a portal view reaches data: scoped to the customer account of the user.

Every portal query goes through scoped(); a row of another customer is then simply not
there, so a guessed id is a 404 like any unknown one (ARCHITECTURE.md "Security boundaries").
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from orders.models import Customer

from .models import PortalAccess

_CACHE_ATTR = "_portal_customer"


def customer_for(request) -> Customer:
    """The customer account the logged-in portal user acts for (looked up once per request).
    Raises PermissionDenied when the login is not linked to a customer."""
    customer = getattr(request, _CACHE_ATTR, None)
    if customer is None:
        access = PortalAccess.objects.select_related("customer").filter(user_id=request.user.pk).first()
        if access is None:
            raise PermissionDenied("This login is not linked to a customer account. Ask us to link it.")
        customer = access.customer
        setattr(request, _CACHE_ATTR, customer)
    return customer


def scoped(queryset: QuerySet, request, *, via: str = "customer") -> QuerySet:
    """`queryset` narrowed to the rows of the user's customer. `via` is the lookup from the
    queryset's model to the customer (e.g. "invoice__customer" for invoice documents)."""
    return queryset.filter(**{via: customer_for(request)})
