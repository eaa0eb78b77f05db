"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper


class AuditEvent(models.Model):
    """One state change or refused attempt. Never updated or deleted (a trigger refuses both)."""

    at = models.DateTimeField(help_text="UTC time from the server clock")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, help_text="As typed for failed sign-ins; 'system' for jobs")
    site = models.ForeignKey("accounts.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=100, help_text="area:subject:verb, e.g. accounts:user:created")
    outcome = models.CharField(max_length=10, default="done", choices=[("done", "Done"), ("refused", "Refused")])
    entity_type = models.CharField(max_length=60, blank=True)
    entity_id = models.CharField(max_length=60, blank=True)
    patient_id = models.CharField(max_length=60, blank=True, help_text="Patient the record concerns, if any")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    signature_meaning = models.CharField(max_length=30, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        # Each report filter has the index that serves it (audit/queries.py; docs/foundation.md).
        indexes = [
            # Newest first (ORDER BY at DESC, id DESC), keyset paging and time ranges.
            models.Index(fields=["at", "id"], name="audit_at_id_idx"),
            # Action prefix: LIKE 'orders:%' on PostgreSQL under any collation (opclasses are
            # PostgreSQL-only; SQLite gets a plain index and queries a range).
            models.Index(
                fields=["action", "at"],
                name="audit_action_prefix_idx",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
            # User, case-insensitive: UPPER(actor_username) = UPPER(input), already newest-first.
            models.Index(Upper("actor_username"), "at", "id", name="audit_actor_upper_idx"),
            models.Index(fields=["patient_id", "at"]),
            models.Index(fields=["entity_type", "entity_id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_username}"


class AuditChainHead(models.Model):
    """The last link of the chain; locked while an event is appended so the chain stays linear."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"chain head at event {self.last_event_id}"
