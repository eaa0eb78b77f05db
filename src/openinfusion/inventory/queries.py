"""Read-only questions about stock: on hand by location, first-expiry-first-out picks, expiring
lots, and the recall trace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import QuerySet, Sum

from openinfusion.inventory.models import (
    ROOM_KINDS,
    Lot,
    LotStatus,
    MovementKind,
    ParLevel,
    StockBalance,
    StockMovement,
)


def stock_on_hand(site_ids: set[int], location_id: int | None = None) -> QuerySet[StockBalance]:
    balances = StockBalance.objects.filter(location__site__in=site_ids, quantity__gt=0).select_related(
        "lot__product__drug", "location"
    )
    if location_id is not None:
        balances = balances.filter(location_id=location_id)
    return balances.order_by("location__name", "lot__product__drug__generic_name", "lot__expiry")


def fefo_pick(product_id: int, location_id: int, today: dt.date) -> list[StockBalance]:
    """Usable lots of a product at a location, first expiry first; expired, recalled and
    quarantined lots are never offered."""
    return list(
        StockBalance.objects.filter(
            lot__product_id=product_id,
            location_id=location_id,
            quantity__gt=0,
            lot__status=LotStatus.AVAILABLE,
            lot__expiry__gte=today,
        )
        .select_related("lot")
        .order_by("lot__expiry", "lot__received_at", "lot_id")
    )


def expiring(site_ids: set[int], today: dt.date, days: int) -> QuerySet[StockBalance]:
    """Stock on the shelf that expires within ``days`` (already expired included, first)."""
    return stock_on_hand(site_ids).filter(lot__expiry__lte=today + dt.timedelta(days=days)).order_by("lot__expiry")


@dataclass(frozen=True)
class Restock:
    """A room below its par for a product: ``short`` packages to bring, and from where (usable lots
    at the site's other locations, earliest expiry first); what the site cannot cover is ``missing``."""

    par_level: ParLevel
    on_hand: int
    short: int
    moves: list[tuple[StockBalance, int]]
    missing: int


def room_restock(site_ids: set[int], today: dt.date) -> list[Restock]:
    """Each room's products below par, with the moves that bring them back up to par."""
    levels = (
        ParLevel.objects.filter(location__site__in=site_ids, location__kind__in=ROOM_KINDS, location__active=True)
        .select_related("product__drug", "location")
        .order_by("location__name", "product__drug__generic_name")
    )
    lines = []
    for level in levels:
        have = sum(b.quantity for b in fefo_pick(level.product_id, level.location_id, today))
        if have >= level.par:
            continue
        short = needed = level.par - have
        sources = (
            StockBalance.objects.filter(
                lot__product_id=level.product_id,
                location__site=level.location.site_id,
                quantity__gt=0,
                lot__status=LotStatus.AVAILABLE,
                lot__expiry__gte=today,
            )
            .exclude(location__kind__in=ROOM_KINDS)
            .select_related("lot", "location")
            .order_by("lot__expiry", "location__code")
        )
        moves = []
        for balance in sources:
            if needed == 0:
                break
            take = min(balance.quantity, needed)
            moves.append((balance, take))
            needed -= take
        lines.append(Restock(level, have, short, moves, needed))
    return lines


@dataclass(frozen=True)
class Trace:
    lot: Lot
    on_hand: list[StockBalance]
    consumed: list[StockMovement]
    received: int
    wasted: int
    patients: list[dict[str, object]] = field(default_factory=list)


TraceResolver = Callable[[list[str]], list[dict[str, object]]]
TRACE_RESOLVERS: dict[str, TraceResolver] = {}
"""Reference prefix (``preparation``) → a function that says, for those references, which patient
each dose is for and where it is now. Apps that consume stock register one in ``ready()``, so the
inventory needs to know nothing about them."""


def _doses(consumed: list[StockMovement]) -> list[dict[str, object]]:
    by_prefix: dict[str, list[str]] = {}
    for movement in consumed:
        prefix, _, key = movement.reference.partition(":")
        if key and key not in by_prefix.setdefault(prefix, []):
            by_prefix[prefix].append(key)
    return [
        dose
        for prefix, keys in by_prefix.items()
        if prefix in TRACE_RESOLVERS
        for dose in TRACE_RESOLVERS[prefix](keys)
    ]


def trace_lot(lot: Lot, site_ids: set[int]) -> Trace:
    """Where every package of a lot went: what is still on the shelf (by location), every
    consumption into a preparation (by reference) and the patient each dose is for, received and
    wasted totals."""
    movements = StockMovement.objects.filter(lot=lot, location__site__in=site_ids)
    totals = dict(movements.values_list("kind").annotate(total=Sum("quantity")).values_list("kind", "total"))
    consumed = list(
        movements.filter(kind=MovementKind.CONSUME).select_related("location", "actor").order_by("at", "id")
    )
    return Trace(
        lot=lot,
        on_hand=list(
            StockBalance.objects.filter(lot=lot, quantity__gt=0, location__site__in=site_ids).select_related("location")
        ),
        consumed=consumed,
        received=totals.get(MovementKind.RECEIVE, 0),
        wasted=-totals.get(MovementKind.WASTE, 0),
        patients=_doses(consumed),
    )
