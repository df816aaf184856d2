"""Django's own hooks only: at sign-in, remember whether the login is a portal user's and
start the portal's idle expiry (portal.middleware)."""

import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .middleware import PORTAL_USER, TOUCHED
from .models import PortalAccess


@receiver(user_logged_in, dispatch_uid="portal-session-on-sign-in")
def start_portal_session(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    portal = not user.is_superuser and PortalAccess.objects.filter(user_id=user.pk).exists()
    request.session[PORTAL_USER] = portal
    if portal:
        request.session.set_expiry(settings.O2C_PORTAL_SESSION_IDLE_SECONDS)
        request.session[TOUCHED] = int(time.time())
