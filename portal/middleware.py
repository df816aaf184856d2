"""Two rules for portal users, applied to every request before any view runs:

- A portal user (a login linked to a customer account) sees the portal and the shared
  sign-in pages only: any staff page, admin page or staff URL is refused with 403, so a new
  staff URL is covered without anyone remembering to (ARCHITECTURE.md "Security boundaries").
- A portal session expires after O2C_PORTAL_SESSION_IDLE_SECONDS without a request: the
  expiry is set at sign-in (portal.signals) and slid forward here, at most once a minute so
  a page costs no extra write.
"""

import time

from django.conf import settings
from django.core.exceptions import PermissionDenied

PORTAL_USER = "o2c_portal_user"  # session key set at sign-in: is this login a customer's?
TOUCHED = "o2c_portal_touched"
TOUCH_EVERY_SECONDS = 60
# Shared pages a portal user needs besides /portal/ itself; "/" sends them to the portal.
ALLOWED_PREFIXES = ("/portal/", "/login/", "/logout/", "/static/", "/password-reset/", "/account/two-factor/")


def is_portal_user(request) -> bool:
    """Remembered in the session at sign-in; a session from before that (or a test's
    force_login without the signal) is looked up once and remembered."""
    session = request.session
    if PORTAL_USER not in session:
        from .models import PortalAccess

        user = request.user
        session[PORTAL_USER] = not user.is_superuser and PortalAccess.objects.filter(user_id=user.pk).exists()
    return session[PORTAL_USER]


class PortalBoundaryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and is_portal_user(request):
            path = request.path
            if path != "/" and not path.startswith(ALLOWED_PREFIXES):
                raise PermissionDenied("This page is for our staff. Your account is at /portal/.")
            now = int(time.time())
            if now - request.session.get(TOUCHED, 0) >= TOUCH_EVERY_SECONDS:
                request.session[TOUCHED] = now  # saves the session: its expiry slides forward
                request.session.set_expiry(settings.O2C_PORTAL_SESSION_IDLE_SECONDS)
        return self.get_response(request)
