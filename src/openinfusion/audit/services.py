"""Writing audit events. Called inside the caller's transaction, so the event and the change it
describes commit together or not at all."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from openinfusion.audit import chain
from openinfusion.audit.context import current_request_id
from openinfusion.audit.models import AuditChainHead, AuditEvent
from openinfusion.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")

SiteRef = Any
"""A ``Site``, a site's primary key, or None."""


class SiteMissing(ValueError):
    """A programming error: an event about a patient or a site's record was recorded without its site."""


def _site_of_named(entity_type: str, entity_id: str | int) -> int | None:
    """The site of the record ``entity_type`` / ``entity_id`` names, if it is a model with a site."""
    try:
        model = apps.get_model(entity_type)
    except (LookupError, ValueError):
        return None
    if not any(f.name == "site" for f in model._meta.concrete_fields) or not str(entity_id).isdigit():
        return None
    site_id: int | None = model._default_manager.filter(pk=int(entity_id)).values_list("site", flat=True).first()
    return site_id


def _owned_by_a_site(entity: models.Model | None) -> bool:
    """The entity has a ``site`` of its own (a preparation, an order, a patient, a lot, …)."""
    return entity is not None and any(f.name == "site" for f in entity._meta.concrete_fields)


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
    """Append one event to the chain. ``action`` is ``area:subject:verb``.

    ``site`` (a ``Site`` or its id) is required for every event about a patient (``patient_id``) or
    about a record that belongs to a site (an ``entity`` with a ``site`` field): the audit screens
    and API show each person only their sites' events, so a site-less event is deployment-wide.
    A record named only by ``entity_type`` and ``entity_id`` (a signature of an order) gets the
    site of that record when it has one.
    """
    if site is None and entity is None and entity_type:
        site = _site_of_named(entity_type, entity_id)
    if site is None and (str(patient_id) != "" or _owned_by_a_site(entity)):
        raise SiteMissing(f"{action}: an event about a patient or a site's record needs its site.")
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
            site_id=site if isinstance(site, int) or site is None else site.pk,
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
SiteOf = Callable[[Any, tuple[Any, ...], dict[str, Any]], SiteRef]
"""``site_of(actor, args, kwargs)``: the site of the record a call is about (a Site, an id or None)."""


def site_from(model: type[models.Model] | str, site_path: str = "site", *, key: str | None = None) -> SiteOf:
    """A ``site_of`` hook: the site of the ``model`` row whose id is the call's first positional
    argument (or its ``key`` argument, when passed by name), reached through ``site_path`` (``order__site``).
    ``model`` may be a label (``"patients.Patient"``), resolved at the first refusal."""

    def site_of(actor: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> SiteRef:
        pk = kwargs[key] if key in kwargs else (args[0] if args else None)
        if isinstance(pk, bool) or not isinstance(pk, int):
            return None
        rows = apps.get_model(model) if isinstance(model, str) else model
        site_id: int | None = rows._default_manager.filter(pk=pk).values_list(site_path, flat=True).first()
        return site_id

    return site_of


def refusal_site(
    actor: Any, hook: SiteOf | None, error: DomainError, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> SiteRef:
    """Where a refusal is filed: the site of the record it is about when the actor works there (a
    refusal names only what its actor may see), else the actor's own site (a record elsewhere is
    answered as not found, naming nothing), else none (an anonymous or site-less attempt)."""
    mine = sorted(actor.site_ids()) if actor is not None and hasattr(actor, "site_ids") else []
    found = hook(actor, args, kwargs) if hook is not None else getattr(error, "site", None)
    found_id = found if isinstance(found, int) or found is None else found.pk
    if found_id is not None and found_id in mine:
        return found_id
    if found_id is None and hook is None and len(mine) > 1:
        return None  # no way to tell which of the actor's sites: deployment-wide (admins and quality)
    return mine[0] if mine else None


def audited(
    refusal_action: str,
    *,
    keep: Keeper | None = None,
    keep_when: type[DomainError] = DomainError,
    site_of: SiteOf | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a service function in one transaction; if it refuses, audit the refusal after rollback.

    The wrapped function takes the acting user as the keyword argument ``actor``. A refused
    transition changes nothing (its transaction rolls back) but leaves a ``refused`` event naming
    the code and the message, so refused clinical actions stay visible to quality review. ``keep``
    is called (after the rollback, with the call's arguments) for refusals of type ``keep_when``, to
    keep a domain record of them too: an intercepted compounding error, a bedside near miss.
    ``site_of`` names the site of the record the call is about, so the refusal (whose message may
    name the patient) is filed at that site (``refusal_site``).
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
                    site=refusal_site(actor, site_of, error, args, kwargs),
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
