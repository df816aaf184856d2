"""Customer users: invited by staff or a colleague (one-time set-password link), sign-in lands
on the portal, rights, disabling, lockout after failures, idle session expiry, password reset."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from o2c.core.models import AuditEvent
from portal.models import PortalAccess
from tests.core.factories import CLERK, user_in
from tests.orders.factories import CustomerFactory

from .factories import portal_user

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
USERS = reverse("portal:users")


@pytest.fixture
def acme():
    return CustomerFactory(name="Acme Tools NV")


def link_in(message) -> str:
    return re.search(r"https?://\S+/password-reset/\S+/", message.body).group(0)


def sign_in(client, username, password="demo"):
    return client.post(LOGIN, {"username": username, "password": password})


def set_password(client, link, password="Corr3ct-horse-battery"):
    response = client.get(link.removeprefix("http://localhost:8000"))
    assert response.status_code == 302  # Django swaps the token for a session key first
    return client.post(response.url, {"new_password1": password, "new_password2": password})


def test_staff_invites_a_customer_user_who_sets_a_password_and_lands_on_the_portal(
    client, acme, django_capture_on_commit_callbacks
):
    client.force_login(user_in(CLERK, "clerk"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal_staff:invite"),
            {
                "customer_account": acme.account_number,
                "email": "Anna@Acme.example",
                "first_name": "Anna",
                "can_pay": "on",
            },
        )
    assert response.status_code == 302
    access = PortalAccess.objects.get(user__email="anna@acme.example")
    assert (access.customer, access.can_pay, access.can_order, access.can_manage_users) == (acme, True, False, False)
    assert not access.user.has_usable_password()
    (message,) = mail.outbox
    assert message.to == ["anna@acme.example"] and "Acme Tools NV" in message.body
    link = link_in(message)
    client.logout()

    assert set_password(client, link).status_code == 302
    # the link works once
    again = client.get(link.removeprefix("http://localhost:8000"))
    assert "This link no longer works" in again.content.decode()

    response = sign_in(client, "anna@acme.example", "Corr3ct-horse-battery")
    assert response.status_code == 302
    assert client.get(response.url).url == reverse("portal:home")  # "/" sends a customer to the portal
    assert AuditEvent.objects.filter(model="portal.PortalAccess", action="created").exists()


def test_staff_invite_names_an_unknown_account_and_a_taken_email(client, acme):
    portal_user(acme, "taken")
    client.force_login(user_in(CLERK, "clerk"))
    url = reverse("portal_staff:invite")
    response = client.post(url, {"customer_account": "NOPE", "email": "x@y.example"})
    assert response.status_code == 422 and "No customer with account number NOPE" in response.content.decode()
    response = client.post(
        url, {"customer_account": acme.account_number, "email": "taken@" + acme.account_number.lower() + ".example"}
    )
    assert response.status_code == 422 and "already has a login" in response.content.decode()
    assert PortalAccess.objects.count() == 1


def test_a_manager_invites_and_disables_colleagues(client, acme, django_capture_on_commit_callbacks):
    manager = portal_user(acme, "boss")
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(USERS, {"email": "bob@acme.example", "can_order": "on"})
    bob = PortalAccess.objects.get(user__username="bob@acme.example")
    assert bob.customer == acme and bob.can_order and not bob.can_pay and bob.invited_by == manager
    assert len(mail.outbox) == 1

    response = client.post(reverse("portal:user_update", args=[bob.pk]), {"can_pay": "on"})  # no "active": disable
    assert response.status_code == 302
    bob.refresh_from_db()
    bob.user.refresh_from_db()
    assert bob.can_pay and not bob.can_order and not bob.user.is_active
    changes = AuditEvent.objects.filter(model="portal.PortalAccess", object_id=str(bob.pk), action="changed").get()
    assert changes.actor == manager and changes.changes["can_pay"] == [False, True]
    assert AuditEvent.objects.filter(
        model="auth.User", object_id=str(bob.user.pk), changes__is_active=[True, False]
    ).exists()


def test_the_last_manager_cannot_remove_their_own_right(client, acme):
    manager = portal_user(acme, "boss")
    client.force_login(manager)
    response = client.post(
        reverse("portal:user_update", args=[manager.portal_access.pk]), {"active": "on"}, follow=True
    )
    assert "keep at least one active user who may manage users" in response.content.decode()
    manager.portal_access.refresh_from_db()
    assert manager.portal_access.can_manage_users


def test_only_managers_see_users(client, acme):
    client.force_login(portal_user(acme, "clerkette", can_manage_users=False))
    assert client.get(USERS).status_code == 403
    assert client.post(USERS, {"email": "x@acme.example"}).status_code == 403
    assert not User.objects.filter(username="x@acme.example").exists()


def test_a_disabled_user_cannot_sign_in(client, acme):
    user = portal_user(acme, "gone")
    user.is_active = False
    user.save()
    assert sign_in(client, "gone").status_code == 200  # the form again, with an error
    assert client.get(reverse("portal:home")).status_code == 302


def test_lockout_after_repeated_failures_for_a_portal_user(client, acme, settings):
    portal_user(acme, "acme")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "acme", "wrong")
    response = sign_in(client, "acme", "demo")  # the right password, too late
    assert response.status_code == 429
    assert client.get(reverse("portal:home")).status_code == 302  # not signed in
    assert AuditEvent.objects.filter(action="locked_out", actor_name="acme").exists()


def test_portal_sessions_expire_after_inactivity(client, acme, settings):
    settings.O2C_PORTAL_SESSION_IDLE_SECONDS = 900
    portal_user(acme, "acme")
    sign_in(client, "acme")
    assert client.session.get_expiry_age() == 900
    session = Session.objects.get(session_key=client.session.session_key)
    assert timedelta(seconds=890) < session.expire_date - timezone.now() <= timedelta(seconds=900)
    assert client.get(reverse("portal:home")).status_code == 200

    Session.objects.filter(pk=session.pk).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )  # 15 idle minutes later
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_staff_sessions_keep_the_default_age(client, settings):
    user_in(CLERK, "clerk")
    sign_in(client, "clerk")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_password_reset_with_our_pages(client, acme):
    portal_user(acme, "acme")
    form = client.get(reverse("password_reset"))
    assert form.status_code == 200 and "Reset your password" in form.content.decode()
    response = client.post(reverse("password_reset"), {"email": "acme@" + acme.account_number.lower() + ".example"})
    assert response.url == reverse("password_reset_done")
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/password-reset/\S+/)", message.body).group(1)
    response = client.post(
        client.get(link).url, {"new_password1": "N3w-secret-pass", "new_password2": "N3w-secret-pass"}
    )
    assert response.url == reverse("password_reset_complete")
    assert sign_in(client, "acme", "N3w-secret-pass").status_code == 302


def test_disabling_a_user_ends_their_sessions(client, acme):
    from django.test import Client

    colleague = portal_user(acme, "colleague", can_manage_users=False)
    theirs = Client()
    theirs.force_login(colleague)
    assert theirs.get(reverse("portal:home")).status_code == 200
    client.force_login(portal_user(acme, "boss"))
    client.post(reverse("portal:user_update", args=[colleague.portal_access.pk]), {"can_order": "on"})
    response = theirs.get(reverse("portal:home"))
    assert response.status_code == 302 and response.url.startswith(LOGIN)
