"""Keyset pages for the lists that grow with history (queues, the audit report).

A page never counts or skips rows: it is ordered by its keys then ``id``, starts after the last row
the person saw (its id is the cursor) and reads ``size + 1`` rows, the extra one only saying
whether another page follows. The cursor row's keys are read inside the same query, so a page is
one query, served by an index on the keys (or on the filter columns, then the first key), whatever
the depth.
A cursor that names no row of the list's table gives an empty page.

Counts are capped the same way: ``capped_count`` counts at most ``cap + 1`` rows, so a queue can
say "more than 200" without scanning a year of history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet, Subquery

M = TypeVar("M", bound=Model)

COUNT_CAP = 500
QUEUE_PAGE = 25  # rows of a queue on one screen: the most urgent first
MAX_PAGE = 500  # the most rows one API page returns


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    more: bool
    """Whether another page follows this one."""

    @property
    def next_cursor(self) -> int | None:
        """The cursor of the next page (the last row's id), if there is one."""
        return self.rows[-1].pk if self.more and self.rows else None


def after(rows: QuerySet[M], keys: Sequence[str], cursor: int, *, descending: bool = False) -> QuerySet[M]:
    """The rows that come after row ``cursor`` in ``(*keys, id)`` order (reversed if descending).

    Lexicographic: a later first key, or the same first key and a later second, … or every key the
    same and a later id; bounded by the first key so an index on it serves the range."""
    of_cursor = rows.model._default_manager.filter(pk=cursor)
    value: dict[str, Any] = {k: Subquery(of_cursor.values(k)[:1]) for k in keys}
    value["id"] = cursor
    beyond, within = ("lt", "lte") if descending else ("gt", "gte")
    fields = (*keys, "id")
    later = Q()
    for i, field in enumerate(fields):
        later |= Q(**{k: value[k] for k in fields[:i]}, **{f"{field}__{beyond}": value[field]})
    return rows.filter(later, **{f"{keys[0]}__{within}": value[keys[0]]})


def page_of(
    rows: QuerySet[M],
    keys: str | Sequence[str],
    *,
    cursor: int | None,
    size: int,
    descending: bool = False,
    offset: int = 0,
) -> Page[M]:
    """One page of ``rows`` in ``(*keys, id)`` order: one query, ``size + 1`` rows, no count."""
    keys = (keys,) if isinstance(keys, str) else tuple(keys)
    if cursor is not None:
        rows = after(rows, keys, cursor, descending=descending)
    order = [f"-{k}" if descending else k for k in (*keys, "id")]
    got = list(rows.order_by(*order)[offset : offset + size + 1])
    return Page(rows=got[:size], more=len(got) > size)


def capped_count(rows: QuerySet[M], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows there are, counting at most ``cap + 1``: (count up to cap, whether there are more)."""
    n = rows.order_by()[: cap + 1].count()
    return min(n, cap), n > cap
