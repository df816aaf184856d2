from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class NumberSeries(models.Model):
    """One gapless counter per (prefix, year): INV-2026-000123. Locked per row while issuing."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "number series"
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="numberseries_unique_prefix_year")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year} (last {self.last_number})"


class TimelineEvent(models.Model):
    """Who did what to which document, and when. Append-only.

    `subject` is the document the event happened to; `trail` groups the events of one
    customer journey (e.g. "order:42") so an order page shows its shipments, invoices and
    payments in one list without knowing their apps.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    trail = models.CharField(max_length=40, db_index=True)
    verb = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.summary}"


class AuditEvent(models.Model):
    """Who changed which master-data record, and how (before/after per field), and the
    security events (sign-ins, failures, lockouts, sign-outs). Append-only; written by
    o2c/core/audit.py from model and auth signals, never edited."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"
        SIGNED_IN = "signed_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        LOCKED_OUT = "locked_out", "Locked out"
        SIGNED_OUT = "signed_out", "Signed out"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Kept if the user is later removed.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    model = models.CharField(max_length=60, blank=True, db_index=True, help_text="app_label.ModelName")
    object_id = models.CharField(max_length=40, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model", "object_id"], name="auditevent_object")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action} {self.model} {self.object_repr}"
