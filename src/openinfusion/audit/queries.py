"""Which audit events a person may see, the report filters, and keyset paging.

Audit search must stay fast with millions of events, so every filter is written in a form an
index serves (see ``AuditEvent.Meta.indexes``) and pages are read by a cursor, never by counting
or skipping rows:

- newest first means ``ORDER BY at DESC, id DESC`` (index ``(at, id)``); ``at`` comes from the
  server clock while the chain head is locked, so this is also the chain's order in practice;
- ``before=<id>`` (the last event shown) continues with the events older than that one, through
  ``openinfusion.paging``.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Upper
from django.utils import timezone
from ninja import Field, Schema

from openinfusion.accounts.models import User
from openinfusion.accounts.permissions import Role
from openinfusion.audit.models import AuditEvent
from openinfusion.paging import Page, page_of

# The API's offset is kept for existing clients but capped: skipping rows costs time in
# proportion to the offset. Page deeper with ``before``.
MAX_OFFSET = 10_000
MAX_LIMIT = 1000


class AuditFilter(Schema):
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    user: str | None = Field(default=None, max_length=150)
    patient: str | None = Field(default=None, max_length=60)
    action: str | None = Field(default=None, max_length=100)


class AuditPage(AuditFilter):
    """The API's list query: the filters and a page (``before`` is the cursor)."""

    before: int | None = Field(
        default=None, ge=1, description="Id of the last event already read: returns older events"
    )
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT)
    offset: int = Field(
        default=0, ge=0, le=MAX_OFFSET, description=f"Rows to skip (at most {MAX_OFFSET}); prefer `before`"
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    """A time typed without a zone means the deployment's local time."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


DEPLOYMENT_REVIEWERS = frozenset({Role.ADMIN.value, Role.QUALITY.value})
"""Who also sees the deployment-wide events (no site, no patient: sign-ins, accounts, tokens,
formulary and regimen loads, role refusals)."""


def visible_events(user: User) -> QuerySet[AuditEvent]:
    """Events of the user's sites; admins and quality also see the deployment-wide events.

    Every event about a patient or a site's record carries its site (``record`` refuses one
    without), so another site's patients never show. An event with a patient but no site (written
    before sites were required) is shown to nobody here: its site is not known."""
    visible = Q(site__in=user.site_ids())
    if user.role_codes() & DEPLOYMENT_REVIEWERS:
        visible |= Q(site__isnull=True, patient_id="")
    return AuditEvent.objects.filter(visible)


def _action_prefix(events: QuerySet[AuditEvent], prefix: str) -> QuerySet[AuditEvent]:
    """``action`` starts with ``prefix``, case-sensitively, in a form the action index serves.

    PostgreSQL: ``LIKE 'prefix%'`` on the ``varchar_pattern_ops`` index, right under any database
    collation. SQLite (binary collation, where LIKE ignores case and no index serves it): the range
    ``prefix <= action < prefix-with-its-last-character-incremented``."""
    if connection.vendor == "postgresql" or ord(prefix[-1]) == 0x10FFFF:
        return events.filter(action__startswith=prefix)
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return events.filter(action__gte=prefix, action__lt=upper)


def filtered_events(user: User, f: AuditFilter) -> QuerySet[AuditEvent]:
    events = visible_events(user)
    if f.since:
        events = events.filter(at__gte=_aware(f.since))
    if f.until:
        events = events.filter(at__lt=_aware(f.until))
    if f.user:
        # Case-insensitive like sign-in; UPPER(actor_username) is indexed (with at, id).
        events = events.alias(actor_upper=Upper("actor_username")).filter(actor_upper=Upper(Value(f.user)))
    if f.patient:
        events = events.filter(patient_id=f.patient)
    if f.action:
        events = _action_prefix(events, f.action)
    return events.select_related("site")


def newest_page(events: QuerySet[AuditEvent], *, before: int | None, size: int, offset: int = 0) -> Page[AuditEvent]:
    """One newest-first page of ``events`` (``ORDER BY at DESC, id DESC``), after event ``before``."""
    return page_of(events, "at", cursor=before, size=size, descending=True, offset=offset)
