"""Writing audit events. Called inside the caller's transaction, so the event and the change it
describes commit together or not at all."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.db import models, transaction
from django.utils import timezone

from openinfusion.audit import chain
from openinfusion.audit.context import current_request_id
from openinfusion.audit.models import AuditChainHead, AuditEvent
from openinfusion.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")


def record(
    action: str,
    *,
    actor: Any | None,
    entity: models.Model | None = None,
    entity_type: str = "",
    entity_id: str | int = "",
    site: Any | None = None,
    patient_id: str | int = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    signature_meaning: str = "",
    refused: bool = False,
    actor_username: str | None = None,
) -> AuditEvent:
    """Append one event to the chain. ``action`` is ``area:subject:verb``."""
    if entity is not None:
        entity_type = entity_type or entity._meta.label_lower
        entity_id = entity_id or str(entity.pk)
    username = actor_username if actor_username is not None else (actor.username if actor else "system")
    with transaction.atomic():
        head = _locked_head()
        event = AuditEvent(
            id=head.last_event_id + 1,
            at=timezone.now(),
            actor=actor if actor is not None and actor.pk else None,
            actor_username=username,
            site=site,
            action=action,
            outcome="refused" if refused else "done",
            entity_type=entity_type,
            entity_id=str(entity_id),
            patient_id=str(patient_id),
            before=chain.jsonable(before) if before is not None else None,
            after=chain.jsonable(after) if after is not None else None,
            reason=reason,
            signature_meaning=signature_meaning,
            request_id=current_request_id.get(),
            prev_hash=head.last_hash,
        )
        event.hash = chain.link_hash(head.last_hash, event_fields(event))
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=head.pk).update(
            last_event_id=event.id, last_hash=event.hash, count=head.count + 1
        )
    return event


def record_refusal(action: str, *, actor: Any | None, error: DomainError, **kwargs: Any) -> AuditEvent:
    """Record a refused attempt; the reason is the error's code and the message the person saw."""
    return record(action, actor=actor, reason=f"{error.code}: {error.message}", refused=True, **kwargs)


Keeper = Callable[[DomainError, tuple[Any, ...], dict[str, Any]], None]


def audited(
    refusal_action: str, *, keep: Keeper | None = None, keep_when: type[DomainError] = DomainError
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a service function in one transaction; if it refuses, audit the refusal after rollback.

    The wrapped function takes the acting user as the keyword argument ``actor``. A refused
    transition changes nothing (its transaction rolls back) but leaves a ``refused`` event naming
    the code and the message, so refused clinical actions stay visible to quality review. ``keep``
    is called (after the rollback, with the call's arguments) for refusals of type ``keep_when``, to
    keep a domain record of them too: an intercepted compounding error, a bedside near miss.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                with transaction.atomic():
                    return function(*args, **kwargs)
            except DomainError as error:
                actor = kwargs.get("actor")
                record_refusal(
                    refusal_action,
                    actor=actor,
                    error=error,
                    entity_type=str(error.details.get("entity_type", kwargs.get("entity_type", ""))),
                    entity_id=str(error.details.get("entity_id", kwargs.get("entity_id", ""))),
                    site=getattr(error, "site", None),
                )
                if keep is not None and isinstance(error, keep_when):
                    keep(error, args, kwargs)
                raise

        return run

    return decorate


def event_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in chain.CHAINED_FIELDS}


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": chain.GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head
