"""The one way a portal view reaches data: scoped to the customer account of the user.

Every portal query goes through scoped(); a row of another customer is then simply not
there, so a guessed id is a 404 like any unknown one (ARCHITECTURE.md "Security boundaries").
Every portal view is wrapped in portal_view(), which states the right it needs.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from orders.models import Customer

from .models import PortalAccess

_CACHE_ATTR = "_portal_access"
RIGHTS = {
    "view": None,
    "order": "can_order",
    "pay": "can_pay",
    "dispute": "can_dispute",
    "manage_users": "can_manage_users",
}


def access_for(request) -> PortalAccess:
    """The portal access (customer and rights) of the logged-in user, looked up once per
    request. Raises PermissionDenied when the login is not linked to a customer."""
    access = getattr(request, _CACHE_ATTR, None)
    if access is None:
        access = PortalAccess.objects.select_related("customer").filter(user_id=request.user.pk).first()
        if access is None:
            raise PermissionDenied("This login is not linked to a customer account. Ask us to link it.")
        setattr(request, _CACHE_ATTR, access)
    return access


def customer_for(request) -> Customer:
    """The customer account the logged-in portal user acts for."""
    return access_for(request).customer


def has_right(request, right: str) -> bool:
    flag = RIGHTS[right]
    return flag is None or bool(getattr(access_for(request), flag))


def scoped(queryset: QuerySet, request, *, via: str = "customer") -> QuerySet:
    """`queryset` narrowed to the rows of the user's customer. `via` is the lookup from the
    queryset's model to the customer (e.g. "invoice__customer" for invoice documents)."""
    return queryset.filter(**{via: customer_for(request)})


def portal_view(right: str = "view"):
    """Portal view guard: login first (redirect), then the portal permission, a linked customer
    account and the right the view needs (403 with the reason otherwise)."""
    if right not in RIGHTS:
        raise ValueError(f"Unknown portal right {right!r}; one of {', '.join(RIGHTS)}.")

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm("portal.use_portal"):
                raise PermissionDenied("This page is for customer portal users.")
            if not has_right(request, right):
                raise PermissionDenied(
                    f"Your login may not {right.replace('_', ' ')}; ask a colleague who manages users."
                )
            return view(request, *args, **kwargs)

        wrapped.portal_right = right
        return wrapped

    return decorator
