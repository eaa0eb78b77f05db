"""Which audit events a person may see, and the report filters."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from ninja import Schema

from openinfusion.accounts.models import User
from openinfusion.audit.models import AuditEvent


class AuditFilter(Schema):
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    user: str | None = None
    patient: str | None = None
    action: str | None = None
    limit: int = 100
    offset: int = 0


def _aware(moment: dt.datetime) -> dt.datetime:
    """A time typed without a zone means the deployment's local time."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def visible_events(user: User) -> QuerySet[AuditEvent]:
    """Events of the user's sites, and deployment-wide events that belong to no site (sign-ins,
    accounts, tokens). Patient-linked events always carry their site."""
    return AuditEvent.objects.filter(Q(site__in=user.site_ids()) | Q(site__isnull=True))


def filtered_events(user: User, f: AuditFilter) -> QuerySet[AuditEvent]:
    events = visible_events(user)
    if f.since:
        events = events.filter(at__gte=_aware(f.since))
    if f.until:
        events = events.filter(at__lt=_aware(f.until))
    if f.user:
        events = events.filter(actor_username__iexact=f.user)
    if f.patient:
        events = events.filter(patient_id=f.patient)
    if f.action:
        events = events.filter(action__startswith=f.action)
    return events.select_related("site")
