"""The audit trail: master-data changes with who, when, before and after; security events."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from o2c.core.models import AuditEvent
from orders.models import PaymentTerms
from tests.conftest import login_verified
from tests.core.factories import CLERK, user_in

pytestmark = pytest.mark.django_db


def test_a_change_in_admin_records_who_and_before_after(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "demo")
    login_verified(client, admin)
    terms = PaymentTerms.objects.create(code="N30X", name="Net 30", net_days=30)
    url = reverse("admin:orders_paymentterms_change", args=[terms.pk])
    response = client.post(
        url,
        {"code": "N30X", "name": "Net 45", "net_days": 45, "discount_percent": "2.00", "discount_days": 10},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302, response.text[:2000]

    created, changed = AuditEvent.objects.filter(model="orders.PaymentTerms").order_by("id")
    assert created.action == AuditEvent.Action.CREATED and created.actor is None  # made by the test, no request
    assert changed.action == AuditEvent.Action.CHANGED
    assert (changed.actor, changed.actor_name, changed.ip_address) == (admin, "root", "10.1.2.3")
    assert changed.changes == {
        "name": ["Net 30", "Net 45"],
        "net_days": [30, 45],
        "discount_percent": ["0.00", "2.00"],
        "discount_days": [0, 10],
    }


def test_saving_without_a_change_records_nothing_and_passwords_never_appear():
    user = user_in(CLERK, username="quiet")
    before = AuditEvent.objects.count()
    user.save()
    assert AuditEvent.objects.count() == before
    user.set_password("new secret")
    user.save()
    assert AuditEvent.objects.count() == before  # the password is never copied, so no change to record
    assert not AuditEvent.objects.filter(changes__has_key="password").exists()


def test_sign_in_failure_lockout_and_sign_out_are_recorded(client, settings):
    user_in(CLERK, username="someone")
    assert client.post(reverse("login"), {"username": "someone", "password": "demo"}).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "someone", "password": "wrong"})
    actions = list(AuditEvent.objects.filter(actor_name="someone").order_by("id").values_list("action", flat=True))
    assert actions[:2] == [AuditEvent.Action.SIGNED_IN, AuditEvent.Action.SIGNED_OUT]
    assert actions.count(AuditEvent.Action.SIGN_IN_FAILED) == settings.AXES_FAILURE_LIMIT
    assert AuditEvent.Action.LOCKED_OUT in actions[-2:]
