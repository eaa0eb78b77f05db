"""Reading a list's page position from the address, for every screen paged with ``openinfusion.paging``."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class Position:
    cursor: int | None
    """The id of the last row already seen, or None for the first page."""
    problem: str | None
    """Why the position in the address could not be read (the first page is shown instead)."""
    query: str
    """The rest of the address's query, to build the next and first pages' links."""


def position(request: HttpRequest, name: str) -> Position:
    raw = request.GET.get(name, "")
    query = request.GET.copy()
    query.pop(name, None)
    if not raw:
        return Position(None, None, query.urlencode())
    if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63:
        return Position(int(raw), None, query.urlencode())
    return Position(None, f"Could not read the page position ({name}): showing the first page.", query.urlencode())
