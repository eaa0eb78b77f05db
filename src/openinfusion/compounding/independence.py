"""Who may sign a dose's final check: the rule, pure (no Django).

The final check is an independent check (USP <797> §5; ASHP Guidelines on Compounding Sterile
Preparations; ISMP on independent double checks), so the checking pharmacist took no part in the
dose. The caller lists every part each person took (:class:`Part`); :func:`require_independent`
refuses a checker who took one that the rule excludes:

- **prepared**: started the preparation, recorded any of its steps (a scan, a weighing), a photo,
  a refused attempt at a step, or completed it — code ``SELF_CHECK``;
- **released**: released it to be compounded — code ``NOT_INDEPENDENT``;
- **verified**: verified (signed) its order — ``NOT_INDEPENDENT``, only where the site asks for
  three different people (``Site.final_check_excludes_verifier``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openinfusion.errors import NotAllowed


class PartKind(enum.StrEnum):
    PREPARED = "prepared"
    RELEASED = "released"
    VERIFIED = "verified"


@dataclass(frozen=True)
class Part:
    """One thing one person did for the dose, in words for the refusal: "recorded step 3"."""

    person: int
    kind: PartKind
    what: str


def conflicts(checker: int, parts: Iterable[Part], *, excludes_verifier: bool) -> list[Part]:
    """The parts that ``checker`` took and that the rule excludes, each described once, in order."""
    taken: list[Part] = []
    for part in parts:
        excluded = part.kind != PartKind.VERIFIED or excludes_verifier
        if part.person == checker and excluded and part.what not in {p.what for p in taken}:
            taken.append(part)
    return taken


def _listed(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def require_independent(
    checker: int, parts: Iterable[Part], *, excludes_verifier: bool, details: dict[str, str] | None = None
) -> None:
    """Refuse the final check when ``checker`` took part in the dose (see the module's rule);
    ``details`` go with the refusal (the entity, for its audit event)."""
    taken = conflicts(checker, parts, excludes_verifier=excludes_verifier)
    if not taken:
        return
    kinds = {part.kind for part in taken}
    code = "SELF_CHECK" if PartKind.PREPARED in kinds else "NOT_INDEPENDENT"
    policy = " (this site asks for three different people)" if PartKind.VERIFIED in kinds else ""
    excluded = "preparing or releasing it" + (" or verifying its order" if excludes_verifier else "")
    raise NotAllowed(
        f"You {_listed([part.what for part in taken])}{policy}, so your final check would not be independent. "
        f"Ask a pharmacist who took no part in {excluded} to check this dose.",
        code=code,
        details={**(details or {}), "parts": sorted(kinds)},
    )
