"""Electronic signatures (21 CFR 11.50, 11.70, 11.200).

A signature needs the signer's password again at the moment of signing, and the username as well
when the signer is not in a continuous signed-in session (an API client, an expired session). It
may only be made by the signed-in user, is bound to a SHA-256 of the canonical signed content,
and records the printed name, UTC time and meaning. Later services (verification, final check)
call ``sign`` inside their own transaction, so the signature and the transition commit together.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.db import transaction
from django.utils import timezone

from openinfusion.accounts import services
from openinfusion.accounts.models import Signature, SignatureMeaning, User
from openinfusion.audit import chain
from openinfusion.audit.services import audited, record
from openinfusion.errors import DomainError, InvalidInput, NotAllowed

P = ParamSpec("P")
R = TypeVar("R")


class SignatureRefused(DomainError):
    status = 403
    code = "SIGNATURE_REFUSED"


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the signed content in canonical JSON (sorted keys, no floats)."""
    canonical = json.dumps(chain.jsonable(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _counting_failures(sign: Callable[P, R]) -> Callable[P, R]:
    """A wrong password counts as a failed sign-in: at once when signing on its own, else after the
    request (``accounts.middleware``), because the calling service's transaction rolls back."""

    @functools.wraps(sign)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return sign(*args, **kwargs)
        finally:
            if not transaction.get_connection().in_atomic_block:
                services.count_signature_failures()

    return counted


@_counting_failures
@audited("accounts:signature:sign")
def sign(
    *,
    actor: User,
    signer_username: str | None,
    password: str,
    meaning: SignatureMeaning,
    entity_type: str,
    entity_id: str | int,
    content: dict[str, Any],
    continuous_session: bool,
) -> Signature:
    """Sign ``content`` as ``actor``; refuse anyone else, a wrong password, a locked account, or
    missing components. A refusal is audited: here when called on its own, or by the calling
    service's ``audited`` wrapper when the refusal rolls back that service's transaction."""
    if not password:
        raise InvalidInput("Enter your password to sign.", code="PASSWORD_REQUIRED")
    if not continuous_session and not signer_username:
        raise InvalidInput(
            "Outside a continuous session a signature needs both your username and your password.",
            code="USERNAME_REQUIRED",
        )
    if signer_username is not None and signer_username.lower() != actor.username.lower():
        raise NotAllowed(
            "Only the signed-in user can sign. Sign out and let the other person sign in to sign.",
            code="SIGNER_NOT_USER",
        )
    if services.is_locked(actor, timezone.now()):
        raise SignatureRefused(services.locked_message(actor), code="ACCOUNT_LOCKED")
    if not actor.check_password(password):
        services.note_signature_failure(actor)
        raise SignatureRefused("The password is not right, so nothing was signed. Try again.", code="WRONG_PASSWORD")
    signature = Signature.objects.create(
        signer=actor,
        printed_name=actor.printed_name,
        meaning=meaning,
        signed_at=timezone.now(),
        entity_type=entity_type,
        entity_id=str(entity_id),
        content_hash=content_hash(content),
    )
    record(
        f"accounts:signature:{meaning}",
        actor=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        after={"signature_id": signature.pk, "content_hash": signature.content_hash},
        signature_meaning=meaning,
    )
    return signature


def signature_matches(signature: Signature, content: dict[str, Any]) -> bool:
    """True when the content still hashes to what was signed (detects a changed or copied record)."""
    return signature.content_hash == content_hash(content)
