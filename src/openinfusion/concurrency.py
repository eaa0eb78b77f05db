"""Optimistic concurrency: a ``version`` column checked on every update.

A screen or API client reads a record with its version and sends that version back with the
change. ``save_versioned`` writes only if nobody changed the record in between; otherwise it
raises ``StaleEdit`` (HTTP 409) with a message that tells the person to reload and review.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import F

from openinfusion.errors import StaleEdit

Versioned = TypeVar("Versioned", bound="VersionedModel")


class VersionedModel(models.Model):
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


def save_versioned(instance: Versioned, *, expected_version: int, fields: list[str]) -> Versioned:
    """Write ``fields`` of ``instance`` if its stored version is still ``expected_version``."""
    model = type(instance)
    values: dict[str, Any] = {name: getattr(instance, name) for name in fields}
    updated = model._default_manager.filter(pk=instance.pk, version=expected_version).update(
        version=F("version") + 1, **values
    )
    if updated != 1:
        current = model._default_manager.filter(pk=instance.pk).values_list("version", flat=True).first()
        raise StaleEdit(
            f"This {model._meta.verbose_name} was changed by someone else since you opened it "
            f"(your copy is version {expected_version}, the current one is {current}). "
            "Reload it, review the changes, and try again.",
            details={"expected_version": expected_version, "current_version": current},
        )
    instance.version = expected_version + 1
    return instance
