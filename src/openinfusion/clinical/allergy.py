"""Allergy matching: a recorded allergy against a drug, through drug groups and cross-sensitivities.

A person records an allergy as they hear it ("penicillin", "Augmentin rash", "platinum"). It is
matched without anyone having to say whether it names a drug or a class:

- the same drug (its key or generic name);
- the same group: the substance names a group ("penicillins", "taxane") or a drug of a group the
  ordered drug belongs to ("amoxicillin" against piperacillin-tazobactam);
- a cross-sensitive group: a group the substance's group is known to cross-react with
  (penicillins → cephalosporins, carbapenems).

A severe reaction (anaphylaxis, angioedema, Stevens–Johnson syndrome / toxic epidermal necrolysis,
DRESS) against the same drug or group is a hard stop that only a documented exception
(desensitisation protocol, prescriber's note) lowers to a warning. The groups are data
(``formulary/data/allergy_groups.yaml``, each with its source); this module is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

SEVERE_SEVERITIES: Final = frozenset({"severe", "anaphylaxis"})
SEVERE_REACTIONS: Final = (
    "anaphyla",
    "angioedema",
    "angio-oedema",
    "stevens",
    "sjs",
    "toxic epidermal",
    "ten",
    "dress",
)
"""Words in a recorded reaction that make it severe whatever severity was ticked (WAO anaphylaxis
guidance 2020; RegiSCAR for SJS/TEN and DRESS)."""


class Match(StrEnum):
    SAME_DRUG = "same drug"
    SAME_GROUP = "same group"
    CROSS_SENSITIVE = "cross-sensitive group"


@dataclass(frozen=True)
class Group:
    key: str
    names: tuple[str, ...]
    """Words a person may type for the group itself ("penicillin", "penicillins")."""
    drugs: tuple[str, ...]
    """Drug keys and generic names in the group, in or out of the formulary ("amoxicillin")."""
    cross_sensitive: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Table:
    groups: tuple[Group, ...] = ()

    def of_drug(self, *names: str) -> tuple[Group, ...]:
        wanted = {_normal(name) for name in names}
        return tuple(g for g in self.groups if wanted & {_normal(d) for d in g.drugs})

    def named_by(self, substance: str) -> tuple[Group, ...]:
        """The groups a recorded substance names, directly or through one of their drugs."""
        text = _normal(substance)
        return tuple(g for g in self.groups if any(_mentions(text, w) for w in (*g.names, *g.drugs, g.key)))


@dataclass(frozen=True)
class Allergy:
    substance: str
    severity: str
    reaction: str = ""
    allergy_id: int = 0
    exception: str = ""
    """The documented exception for this order (desensitisation protocol, prescriber's note), if any."""


@dataclass(frozen=True)
class Hit:
    allergy: Allergy
    match: Match
    via: str = ""
    """The group through which it matched (empty for the same drug)."""
    severe: bool = field(default=False)


def is_severe(severity: str, reaction: str) -> bool:
    text = _normal(reaction)
    return severity.lower() in SEVERE_SEVERITIES or any(_mentions(text, word) for word in SEVERE_REACTIONS)


def matches(
    allergies: Iterable[Allergy], *, drug_key: str, drug_name: str, drug_class: str, table: Table
) -> tuple[Hit, ...]:
    """Every recorded allergy that bears on this drug, with how it matched (strongest match only)."""
    own = table.of_drug(drug_key, drug_name)
    own_keys = {g.key for g in own}
    cross = {c for g in own for c in g.cross_sensitive}
    hits: list[Hit] = []
    for allergy in allergies:
        text = _normal(allergy.substance)
        severe = is_severe(allergy.severity, allergy.reaction)
        named = table.named_by(allergy.substance)
        if _mentions(text, drug_key) or _mentions(text, drug_name):
            hits.append(Hit(allergy, Match.SAME_DRUG, "", severe))
        elif same := [g.key for g in named if g.key in own_keys]:
            hits.append(Hit(allergy, Match.SAME_GROUP, same[0], severe))
        elif len(text) >= 4 and _mentions(_normal(drug_class), text):
            hits.append(Hit(allergy, Match.SAME_GROUP, drug_class, severe))
        elif related := [g.key for g in named if g.key in cross or own_keys & set(g.cross_sensitive)]:
            hits.append(Hit(allergy, Match.CROSS_SENSITIVE, related[0], severe))
    return tuple(hits)


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _mentions(text: str, word: str) -> bool:
    """``word`` appears in ``text`` as whole words, plural or not ("penicillins" mentions "penicillin")."""
    phrase = _normal(word)
    if not phrase or not text:
        return False
    return re.search(rf"\b{re.escape(phrase)}(s|es)?\b", text) is not None
