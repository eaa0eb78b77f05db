"""What keeps a final check honest beside the role check: nobody who took part in the dose signs it
(the rule is in ``independence``; the parts people took are read here from what was recorded), and
each signature still matches what it signed (21 CFR 11.70, ``accounts.signatures.signature_matches``):
the order's verification at the final check, and the final check and the verification again each
time the label is released, so a record changed after signing is never labelled or given.

``signed_content(preparation)`` is what the final check signs; the bedside calls
``require_signatures_match(preparation)`` before a dose is given. Both names are a contract.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from openinfusion.accounts.models import Signature
from openinfusion.accounts.signatures import signature_matches
from openinfusion.compounding.independence import Part, PartKind
from openinfusion.compounding.models import Preparation
from openinfusion.errors import Conflict
from openinfusion.orders import services as orders
from openinfusion.orders.models import Order


def entity(preparation: Preparation) -> dict[str, str]:
    """The details that name the preparation in a refusal's audit event."""
    return {"entity_type": "compounding.preparation", "entity_id": str(preparation.pk)}


def signed_content(preparation: Preparation) -> dict[str, Any]:
    """What the final-check signature binds: the order as verified (its verification signature),
    the plan, who started, released and completed it and when, every step as recorded (scans with
    lot, expiry and serial; weighings with their deviation; who and when), the photos, the refused
    attempts, the BUD and the bag number — everything the checking pharmacist saw, and nothing that
    the check itself or later work (dispensing, a re-planned needed-by time) changes."""
    verification = preparation.order.verification
    return {
        "preparation": preparation.pk,
        "order": preparation.order_id,
        "order_verification": None
        if verification is None
        else {"signature": verification.pk, "hash": verification.content_hash},
        "room": preparation.room_id,
        "plan": preparation.plan,
        "released_by": preparation.released_by_id,
        "released_at": preparation.released_at,
        "prepared_by": preparation.prepared_by_id,
        "started_at": preparation.started_at,
        "steps": [
            {"index": s.index, "kind": s.kind, "data": s.data, "by": s.by_id, "at": s.at}
            for s in preparation.steps.order_by("index")
        ],
        "photos": [
            {"step": p.step_index, "file": p.image.name, "type": p.content_type, "by": p.by_id, "at": p.at}
            for p in preparation.photos.order_by("pk")
        ],
        "intercepted_errors": [
            {"step": e.step_index, "code": e.code, "by": e.by_id, "at": e.at}
            for e in preparation.intercepted_errors.order_by("pk")
        ],
        "completed_by": preparation.completed_by_id,
        "completed_at": preparation.completed_at,
        "bud": preparation.bud,
        "bag": [preparation.bag_number, preparation.bag_count],
    }


# --- who took part ----------------------------------------------------------------------------------


def _numbered(word: str, numbers: list[int]) -> str:
    numbers = sorted(set(numbers))
    if len(numbers) == 1:
        return f"{word} {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"{word}s {numbers[0]}–{numbers[-1]}"
    return f"{word}s {', '.join(map(str, numbers[:-1]))} and {numbers[-1]}"


def parts_of(preparation: Preparation) -> list[Part]:
    """Every part each person took in the dose, from the records themselves (not only "prepared by")."""
    parts = []
    if preparation.prepared_by_id is not None:
        parts.append(Part(preparation.prepared_by_id, PartKind.PREPARED, "started the preparation"))
    steps, photos, attempts = defaultdict(list), defaultdict(list), defaultdict(list)
    for person, index in preparation.steps.values_list("by_id", "index"):
        steps[person].append(index + 1)
    for person, index in preparation.photos.values_list("by_id", "step_index"):
        photos[person].append(index + 1)
    for person, index in preparation.intercepted_errors.values_list("by_id", "step_index"):
        attempts[person].append(index + 1)
    parts += [Part(p, PartKind.PREPARED, f"recorded {_numbered('step', n)}") for p, n in steps.items()]
    parts += [Part(p, PartKind.PREPARED, f"took a photo at {_numbered('step', n)}") for p, n in photos.items()]
    parts += [
        Part(p, PartKind.PREPARED, f"made a refused attempt at {_numbered('step', n)}") for p, n in attempts.items()
    ]
    if preparation.completed_by_id is not None:
        parts.append(Part(preparation.completed_by_id, PartKind.PREPARED, "completed it"))
    if preparation.released_by_id is not None:
        parts.append(Part(preparation.released_by_id, PartKind.RELEASED, "released it to be compounded"))
    order = preparation.order
    verifiers = {order.verified_by_id, order.verification.signer_id if order.verification else None}
    parts += [Part(person, PartKind.VERIFIED, "verified its order") for person in sorted(filter(None, verifiers))]
    return parts


# --- the signature link ------------------------------------------------------------------------------


def _changed(
    what: str, signature: Signature | None, signer: str, step: str, *, code: str, details: dict[str, str]
) -> Conflict:
    by = signature.printed_name if signature is not None else signer
    return Conflict(f"{what} is not what {by} signed: it was changed after signing. {step}", code=code, details=details)


def require_order_unchanged(preparation: Preparation, *, step: str) -> None:
    """Refuse unless the preparation's order still matches its verification signature."""
    order: Order = preparation.order
    signature = order.verification
    if signature is None or not signature_matches(signature, orders.signed_content(order)):
        raise _changed(
            f"Order #{order.pk}",
            signature,
            "the verifying pharmacist",
            step,
            code="ORDER_SIGNATURE_MISMATCH",
            details=entity(preparation),
        )


def require_signatures_match(preparation: Preparation) -> None:
    """Refuse a checked dose whose order no longer matches its verification signature, or whose
    record no longer matches the final-check signature (or names someone else as the checker)."""
    step = "Do not label or give this dose: set it aside and report it to the pharmacist in charge."
    require_order_unchanged(preparation, step=step)
    signature = preparation.final_check
    if (
        signature is None
        or signature.signer_id != preparation.checked_by_id
        or not signature_matches(signature, signed_content(preparation))
    ):
        what = f"The record of {preparation.barcode}"
        raise _changed(
            what,
            signature,
            "the checking pharmacist",
            step,
            code="CHECK_SIGNATURE_MISMATCH",
            details=entity(preparation),
        )
