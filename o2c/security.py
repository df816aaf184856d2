"""Sign-in security: two-factor authentication (django-otp TOTP) and the pages around it.

- Any user who has confirmed an authenticator must enter its code after the password before
  anything else opens (RequireOTPMiddleware).
- Administrators must have one: the admin site is django-otp's OTPAdminSite (verified users
  only), and an administrator without an authenticator is sent to set one up.
- Repeated failed sign-ins lock the username from that address out (django-axes, settings).
"""

import base64
import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

OPEN_PATHS = ("/login/", "/logout/", "/static/", "/account/two-factor/")
NEEDS_CODE = "o2c_otp_required"  # session key set at sign-in: does this user have an authenticator?


@receiver(user_logged_in)
def remember_whether_a_code_is_needed(sender, request, user, **kwargs):
    """Looked up once per sign-in, so the middleware costs no query per request."""
    if request is not None and hasattr(request, "session"):
        request.session[NEEDS_CODE] = user_has_device(user)


def admin_needs_otp(user) -> bool:
    return user.is_superuser or user.groups.filter(name="Admin").exists()


class RequireOTPMiddleware:
    """After the password, a user with an authenticator is only let through once verified;
    an administrator without one can open nothing in the admin until they set it up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(OPEN_PATHS):
            if request.session.get(NEEDS_CODE) and not user.is_verified():
                return redirect(f"{reverse('otp_verify')}?next={request.get_full_path()}")
            if request.path.startswith("/admin/") and not user.is_verified() and admin_needs_otp(user):
                messages.warning(request, "Administrators must set up two-factor authentication first.")
                return redirect("otp_setup")
        return self.get_response(request)


@login_required
def verify(request):
    """The second step of signing in: the 6-digit code of the user's authenticator app."""
    next_url = request.POST.get("next") or request.GET.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = settings.LOGIN_REDIRECT_URL
    error = ""
    if request.method == "POST":
        token = request.POST.get("otp_token", "").replace(" ", "")
        device = match_token(request.user, token) if token.isdigit() else None
        if device is not None:
            otp_login(request, device)
            return redirect(next_url)
        error = "That code is not right, or has expired. Enter the 6 digits your app shows now."
    return render(request, "registration/otp_verify.html", {"error": error, "next": next_url})


@login_required
def setup(request):
    """Add an authenticator app: scan the QR code (or type the key), confirm with a code."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="Authenticator app", confirmed=False)
    error = ""
    if request.method == "POST":
        token = request.POST.get("token", "").replace(" ", "")
        if token.isdigit() and device.verify_token(token):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, "Two-factor authentication is on. You will be asked for a code at sign-in.")
            return redirect("home")
        error = "That code is not right (or has expired). Enter the 6 digits the app shows now."
    svg = io.BytesIO()
    write_qrcode_image(device.config_url, svg)
    return render(
        request,
        "registration/otp_setup.html",
        {
            "qr_svg": svg.getvalue().decode(),
            "secret": _base32(device.bin_key),
            "error": error,
            "has_confirmed": user_has_device(request.user),
        },
    )


def _base32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")
