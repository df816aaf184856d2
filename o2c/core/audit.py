"""The audit trail of master data and security events (AuditEvent).

Which models are audited is a setting (O2C_AUDITED_MODELS, "app_label.ModelName"), so an app
adds its master data there without this module knowing it. A change is recorded with the
fields that changed, before and after; who and from where comes from the request being served
(AuditContextMiddleware), or "system" for commands and tasks. Bulk writes (bulk_create,
queryset.update) bypass model signals: services that bulk-edit master data do not exist.
"""

import contextvars

from axes.signals import user_locked_out
from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .models import AuditEvent

_request = contextvars.ContextVar("o2c_audit_request", default=None)
HIDDEN = {"password", "key", "bin_key", "last_login"}  # never copied (secrets; sign-ins are their own events)


class AuditContextMiddleware:
    """Remembers the request being served, so a model change knows who made it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def _who(request=None) -> dict:
    request = request or _request.get()
    if request is None:
        return {}
    user = getattr(request, "user", None)
    known = user is not None and user.is_authenticated
    return {
        "actor": user if known else None,
        "actor_name": user.get_username() if known else "",
        "ip_address": request.META.get("REMOTE_ADDR") or None,
    }


def _plain(value):
    """A JSON-safe copy of a field value: numbers, text and booleans as they are, the rest
    (Decimal, dates, files, UUIDs) as their text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _values(instance) -> dict:
    return {
        field.attname: _plain(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if field.attname not in HIDDEN
    }


def audited_models() -> list:
    return [apps.get_model(label) for label in getattr(settings, "O2C_AUDITED_MODELS", [])]


def _before_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._audit_before = None
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = _values(old) if old is not None else None


def _after_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    after = _values(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        changes = {name: [None, value] for name, value in after.items() if value not in (None, "")}
        action = AuditEvent.Action.CREATED
    else:
        changes = {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
        if not changes:
            return
        action = AuditEvent.Action.CHANGED
    _record(action, instance, changes)


def _after_delete(sender, instance, **kwargs):
    _record(AuditEvent.Action.DELETED, instance, {name: [value, None] for name, value in _values(instance).items()})


def _record(action, instance, changes):
    AuditEvent.objects.create(
        action=action,
        model=instance._meta.label,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        changes=changes,
        **_who(),
    )


def connect() -> None:
    """Called once from CoreConfig.ready()."""
    for model in audited_models():
        uid = f"o2c-audit-{model._meta.label}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}-pre")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"{uid}-post")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=f"{uid}-delete")


@receiver(user_logged_in, dispatch_uid="o2c-audit-signed-in")
def _signed_in(sender, request, user, **kwargs):
    AuditEvent.objects.create(
        action=AuditEvent.Action.SIGNED_IN,
        actor=user,
        actor_name=user.get_username(),
        ip_address=_who(request).get("ip_address") if request else None,
    )


@receiver(user_logged_out, dispatch_uid="o2c-audit-signed-out")
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        AuditEvent.objects.create(
            action=AuditEvent.Action.SIGNED_OUT,
            actor=user,
            actor_name=user.get_username(),
            ip_address=request.META.get("REMOTE_ADDR") if request else None,
        )


@receiver(user_login_failed, dispatch_uid="o2c-audit-sign-in-failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    AuditEvent.objects.create(
        action=AuditEvent.Action.SIGN_IN_FAILED,
        actor_name=str(credentials.get("username", ""))[:150],
        ip_address=request.META.get("REMOTE_ADDR") if request else None,
    )


@receiver(user_locked_out, dispatch_uid="o2c-audit-locked-out")
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    AuditEvent.objects.create(
        action=AuditEvent.Action.LOCKED_OUT, actor_name=str(username or "")[:150], ip_address=ip_address or None
    )
