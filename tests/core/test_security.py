"""Sign-in security: lockout after repeated failures (django-axes) for staff and portal users,
two-factor authentication (django-otp) available to everyone and required for administrators."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from o2c.core import roles
from tests.conftest import login_verified
from tests.core.factories import CLERK, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_code_throttling(settings):
    # django-otp slows down guessing (a growing delay after each wrong code); these tests
    # type a wrong code and then the right one at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def sign_in(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.mark.parametrize("role", [CLERK, roles.CUSTOMER])
def test_five_failures_lock_the_username_out_even_with_the_right_password(client, settings, role):
    user_in(role, username="victim")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "victim", "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.text
    response = sign_in(client, "victim", "wrong")
    assert response.status_code == 429
    assert "Signing in is paused" in response.text

    response = sign_in(client, "victim", "demo")  # the right password no longer opens the door
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="victim").failures_since_start > settings.AXES_FAILURE_LIMIT


def test_a_success_before_the_limit_resets_the_count(client, settings):
    user_in(CLERK, username="forgetful")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "forgetful", "wrong")
    assert sign_in(client, "forgetful", "demo").status_code == 302
    client.logout()
    assert sign_in(client, "forgetful", "wrong").status_code == 200  # counting starts again


def test_a_user_with_an_authenticator_must_enter_its_code(client):
    user = user_in(CLERK, username="careful")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    response = sign_in(client, "careful", "demo")
    assert response.status_code == 302
    response = client.get(reverse("orders:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("otp_verify"))

    response = client.post(reverse("otp_verify"), {"otp_token": "000000", "next": "/orders/"})
    assert response.status_code == 200
    assert client.get(reverse("orders:list")).status_code == 302  # still not through

    response = client.post(reverse("otp_verify"), {"otp_token": code_for(device), "next": "/orders/"})
    assert response.status_code == 302
    assert response.url == "/orders/"
    assert client.get(reverse("orders:list")).status_code == 200


def test_verify_never_redirects_off_site(client):
    user = user_in(CLERK, username="careful")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    sign_in(client, "careful", "demo")
    response = client.post(reverse("otp_verify"), {"otp_token": code_for(device), "next": "https://evil.example/"})
    assert response.url == reverse("home")


def test_setting_up_an_authenticator(client):
    user = user_in(CLERK, username="newbie")
    client.force_login(user)
    page = client.get(reverse("otp_setup"))
    assert page.status_code == 200
    assert "<svg" in page.text
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    page = client.post(reverse("otp_setup"), {"token": "123"})
    assert "That code is not right" in page.text
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    assert client.post(reverse("otp_setup"), {"token": code_for(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("orders:list")).status_code == 200  # this session is verified


def test_administrators_need_a_second_factor(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "demo")
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url == reverse("otp_setup")

    login_verified(client, admin)
    assert client.get("/admin/").status_code == 200


def test_admin_sign_in_goes_through_the_one_sign_in_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url == "/login/?next=/admin/"


def test_every_page_sends_a_content_security_policy_without_inline_scripts(client):
    policy = client.get(reverse("login")).headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'"
