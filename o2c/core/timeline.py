"""The audit trail every page shows: record() from services, events_for() from selectors."""

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import TimelineEvent


def trail_key(kind: str, pk: int) -> str:
    return f"{kind}:{pk}"


def record(subject: models.Model, verb: str, *, summary: str, trail: str, by=None, note: str = "") -> TimelineEvent:
    return TimelineEvent.objects.create(
        content_type=ContentType.objects.get_for_model(subject),
        object_id=subject.pk,
        trail=trail,
        verb=verb,
        summary=summary[:300],
        note=note,
        actor=by if by is not None and by.is_authenticated else None,
    )


def events_for(trail: str):
    return TimelineEvent.objects.filter(trail=trail).select_related("actor").order_by("at", "id")
