"""API operations over the audit trail (read-only: no operation changes an event)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from openinfusion.accounts.permissions import Action
from openinfusion.api import actor, allow, link_next
from openinfusion.audit.models import AuditEvent
from openinfusion.audit.queries import AuditPage, filtered_events, newest_page, visible_events
from openinfusion.audit.verify import verify_chain
from openinfusion.errors import NotFound

router = Router(tags=["audit"])


class AuditEventOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    site: str | None
    action: str
    outcome: str
    entity_type: str
    entity_id: str
    patient_id: str
    before: Any = None
    after: Any = None
    reason: str
    signature_meaning: str
    request_id: str
    hash: str

    @staticmethod
    def of(event: AuditEvent) -> AuditEventOut:
        return AuditEventOut(
            id=event.pk,
            at=event.at,
            actor=event.actor_username,
            site=event.site.code if event.site else None,
            **{
                f: getattr(event, f)
                for f in (
                    "action",
                    "outcome",
                    "entity_type",
                    "entity_id",
                    "patient_id",
                    "before",
                    "after",
                    "reason",
                    "signature_meaning",
                    "request_id",
                    "hash",
                )
            },
        )


class ChainOut(Schema):
    intact: bool
    count: int
    first_broken_id: int | None
    problem: str


@router.get("/events", response=list[AuditEventOut], operation_id="list_audit_events", auth=allow(Action.VIEW_AUDIT))
def list_audit_events(request: HttpRequest, response: HttpResponse, filters: Query[AuditPage]) -> list[AuditEventOut]:
    """Newest first. Page with `before` = the id of the last event read; while older events
    remain, the `Link` header names the next page (`rel="next"`). No total count is computed."""
    page = newest_page(
        filtered_events(actor(request), filters), before=filters.before, size=filters.limit, offset=filters.offset
    )
    link_next(request, response, "before", page.next_cursor)
    return [AuditEventOut.of(e) for e in page.rows]


@router.get("/events/{event_id}", response=AuditEventOut, operation_id="get_audit_event", auth=allow(Action.VIEW_AUDIT))
def get_audit_event(request: HttpRequest, event_id: int) -> AuditEventOut:
    event = visible_events(actor(request)).select_related("site").filter(pk=event_id).first()
    if event is None:
        raise NotFound("No such audit event at your sites.")
    return AuditEventOut.of(event)


@router.get("/verify", response=ChainOut, operation_id="verify_audit_chain", auth=allow(Action.VERIFY_AUDIT_CHAIN))
def verify_audit_chain(request: HttpRequest) -> dict[str, object]:
    return verify_chain().as_dict()
