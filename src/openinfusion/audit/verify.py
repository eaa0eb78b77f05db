"""Recompute the audit chain and name the first event that does not fit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from openinfusion.audit import chain
from openinfusion.audit.models import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    count: int
    first_broken_id: int | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "intact": self.intact,
            "count": self.count,
            "first_broken_id": self.first_broken_id,
            "problem": self.problem,
        }


def verify_chain(batch_size: int = 5000, progress: Callable[[int, int], None] | None = None) -> ChainReport:
    """Walk every event in id order: ids must be consecutive, each must point at the previous
    hash, and each stored hash must equal the recomputed one. The head row must agree with the
    last event, which catches a deleted tail. ``progress(done, total)`` hears every batch."""
    head = AuditChainHead.objects.filter(pk=1).first()
    expected_total = head.count if head else 0
    expected_prev = chain.GENESIS_HASH
    expected_id = 1
    count = 0
    events = AuditEvent.objects.order_by("id").values(*chain.CHAINED_FIELDS, "prev_hash", "hash")
    for row in events.iterator(chunk_size=batch_size):
        event_id = row["id"]
        if event_id != expected_id:
            return ChainReport(False, count, event_id, f"event {expected_id} is missing before event {event_id}")
        if row["prev_hash"] != expected_prev:
            return ChainReport(False, count, event_id, "does not link to the event before it (inserted or reordered)")
        if chain.link_hash(row["prev_hash"], row) != row["hash"]:
            return ChainReport(False, count, event_id, "its content no longer matches its hash (altered)")
        expected_prev = row["hash"]
        expected_id += 1
        count += 1
        if progress and count % batch_size == 0:
            progress(count, max(count, expected_total))
    if progress:
        progress(count, count)
    head = AuditChainHead.objects.filter(pk=1).first()
    head_count = head.count if head else 0
    head_hash = head.last_hash if head else chain.GENESIS_HASH
    if head_count != count or head_hash != expected_prev:
        return ChainReport(
            False,
            count,
            count + 1 if head_count > count else None,
            f"the chain head records {head_count} events but {count} remain (events deleted from the end)",
        )
    return ChainReport(True, count)
