"""The hash chain, as pure functions: h_i = SHA-256(h_{i-1} + canonical(event_i)).

The canonical form is JSON with sorted keys over the event's recorded fields, so it is the same
on SQLite and PostgreSQL whatever order the database returns JSON keys in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64

CHAINED_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "site_id",
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
)


def jsonable(value: Any) -> Any:
    """Turn a value into plain JSON types without floats (Decimal and times become text)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return str(value)
    return value


def canonical(fields: dict[str, Any]) -> bytes:
    payload = {name: jsonable(fields.get(name)) for name in CHAINED_FIELDS}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(fields)).hexdigest()
