"""The roles of ARCHITECTURE.md as Django groups, and what each may do.

Permissions are named "app_label.codename". A data migration (core 0002) creates the groups;
sync_roles() is the same code, callable again when a later migration adds permissions.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

ORDER_CLERK = "Order clerk"
CREDIT_MANAGER = "Credit manager"
WAREHOUSE = "Warehouse"
BILLING_CLERK = "Billing clerk"
AR_CLERK = "AR clerk"
FINANCE_MANAGER = "Finance manager"
CUSTOMER = "Customer"

_READ_ORDERS = ["orders.view_customer", "orders.view_product", "orders.view_salesorder"]
# Customers' change requests and portal invitations (portal/staff_urls.py)
_PORTAL_DESK = ["portal.view_changerequest", "portal.change_changerequest", "portal.invite_portal_user"]
_READ_DOCUMENTS = ["fulfillment.view_shipment", "invoicing.view_invoice", "receivables.view_payment"]

# Credit room permissions (issue 3); credit's migration 0003 grants them to existing groups.
CREDIT_MANAGER_CREDIT = [
    "credit.change_credit_limit",
    "credit.approve_limit_change",
    "credit.decide_creditapplication",
    "credit.add_creditapplication",
    "credit.view_creditapplication",
    "credit.view_creditpolicy",
    "credit.view_reviewitem",
]
FINANCE_MANAGER_CREDIT = ["credit.publish_creditpolicy", "credit.view_creditpolicy", "credit.approve_limit_change"]

# Collections: the worklist, customer accounts, dunning runs (read), disputes, promises, activities.
_COLLECTIONS = [
    "receivables.view_collectionactivity",
    "receivables.add_collectionactivity",
    "receivables.add_promisetopay",
    "receivables.view_dunningrun",
    "receivables.view_dispute",
    "receivables.add_dispute",
    "receivables.change_dispute",
]

ROLES: dict[str, list[str]] = {
    ORDER_CLERK: [
        *_READ_ORDERS,
        *_READ_DOCUMENTS,
        "orders.add_salesorder",
        "fulfillment.view_stockitem",
        "credit.add_creditapplication",
        *_PORTAL_DESK,
        "orders.add_customer",
        "orders.change_customer",
    ],
    CREDIT_MANAGER: [
        *_READ_ORDERS,
        *_READ_DOCUMENTS,
        "credit.view_creditprofile",
        "credit.decide_credit_hold",
        *CREDIT_MANAGER_CREDIT,
    ],
    WAREHOUSE: [*_READ_ORDERS, "fulfillment.view_shipment", "fulfillment.view_stockitem", "fulfillment.ship_order"],
    BILLING_CLERK: [*_READ_ORDERS, *_READ_DOCUMENTS, "invoicing.issue_invoice"],
    AR_CLERK: [
        *_READ_ORDERS,
        *_READ_DOCUMENTS,
        "receivables.add_payment",
        "receivables.view_journalentry",
        *_PORTAL_DESK,
        *_COLLECTIONS,
        "receivables.add_writeoff",
        "receivables.add_refund",
    ],
    FINANCE_MANAGER: [
        *_READ_ORDERS,
        *_READ_DOCUMENTS,
        "credit.view_creditprofile",
        "receivables.view_journalentry",
        "reporting.view_reports",
        *FINANCE_MANAGER_CREDIT,
        *_COLLECTIONS,
        "receivables.change_dunningrun",  # approve a dunning run's preview
        "receivables.change_writeoff",  # approve a bad-debt write-off (four eyes)
        "receivables.change_refund",  # approve a refund (four eyes)
        "orders.add_salesorder",
        "orders.override_price",
    ],
    CUSTOMER: ["portal.use_portal"],
}


def sync_roles(apps=None) -> None:
    """Create or update the groups with exactly the permissions listed in ROLES.

    Called from a migration (historical `apps`), permissions of models a later migration
    creates do not exist yet and are skipped: that later migration grants them."""
    historical = apps is not None
    if apps is None:
        from django.apps import apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is None and not historical:
                raise Permission.DoesNotExist(f"ROLES names {perm}, which does not exist.")
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)


def permission_required(*perms: str):
    """Staff view guard: login first (redirect), then the permission (403 with a reason)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied(f"This page needs the permission {', '.join(perms)}.")
            return view(request, *args, **kwargs)

        wrapped.required_permissions = perms
        return wrapped

    return decorator


def any_permission(*perms: str):
    """Staff view guard for pages several roles share: login first (redirect), then at least one of
    `perms` (403 naming them)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not any(request.user.has_perm(perm) for perm in perms):
                raise PermissionDenied(f"This page needs one of the permissions {', '.join(perms)}.")
            return view(request, *args, **kwargs)

        wrapped.required_permissions = perms
        return wrapped

    return decorator
