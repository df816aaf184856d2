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
