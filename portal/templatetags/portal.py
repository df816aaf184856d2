from django import template
from django.conf import settings
from django.urls import reverse

from ..scoping import access_for

register = template.Library()

# (label, url name, right needed or None)
NAVIGATION = [
    ("Home", "portal:home", None),
    ("Invoices", "portal:invoices", None),
    ("Pay", "portal:pay", "can_pay"),
    ("Orders", "portal:orders", None),
    ("Statement", "portal:statement", None),
    ("Payments", "portal:payments", None),
    ("Disputes", "portal:disputes", None),
    ("Account", "portal:account", None),
    ("Users", "portal:users", "can_manage_users"),
]


@register.simple_tag
def portal_branding() -> dict:
    return settings.O2C_PORTAL_BRANDING


@register.simple_tag
def portal_nav(request) -> list[dict]:
    """The portal's menu for the signed-in customer user: only what their rights allow."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("portal.use_portal"):
        return []
    try:
        access = access_for(request)
    except Exception:  # not linked to a customer: the page says so
        return []
    items = []
    for label, name, right in NAVIGATION:
        if right is None or getattr(access, right):
            url = reverse(name)
            active = request.path == url if name == "portal:home" else request.path.startswith(url)
            items.append({"label": label, "url": url, "active": active})
    return items
