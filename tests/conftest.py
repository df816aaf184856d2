import os

import pytest
from django.conf import settings


def pytest_configure(config):
    if os.environ.get("O2C_REQUIRE_POSTGRES") == "1":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError("O2C_REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL.")
        if not os.environ.get("REDIS_URL"):
            raise pytest.UsageError("O2C_REQUIRE_POSTGRES=1 but REDIS_URL is not set.")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Test users need no costly hashing; production keeps Django's PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    """Users of each role, as the data migration defined them."""
    from tests.core.factories import user_in

    return user_in


def login_verified(client, user):
    """Sign `user` in with a confirmed authenticator, as after the second sign-in step
    (administrators must have one: o2c/security.py)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(user=user, name="Test authenticator", defaults={"confirmed": True})
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
