"""Beyond-use dates (BUD) under USP <797> (2022 revision, official 1 November 2023).

The BUD of a preparation is the earliest of: the time of compounding plus the USP limit for its
category, process and storage; the time of compounding plus the product's stability limit; and
the earliest expiry of its components. Times are aware datetimes (naive ones are refused) and
durations are added as elapsed time, so a 12-hour BUD is 12 real hours across a DST change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openinfusion.clinical.units import Quantity, magnitude, round_half_up
from openinfusion.errors import InvalidInput


class CspCategory(StrEnum):
    CATEGORY_1 = "1"
    CATEGORY_2 = "2"
    CATEGORY_3 = "3"


class Storage(StrEnum):
    ROOM = "room"
    """Controlled room temperature, 20–25 °C."""
    REFRIGERATOR = "refrigerator"
    """2–8 °C."""
    FREEZER = "freezer"
    """−25 to −10 °C."""


class Process(StrEnum):
    ASEPTIC = "aseptic"
    TERMINAL = "terminal"
    """Terminally sterilised in its final container."""


class StartingComponents(StrEnum):
    STERILE = "sterile"
    """Only sterile starting components."""
    NONSTERILE = "nonsterile"
    """One or more non-sterile starting components."""


class Container(StrEnum):
    SINGLE_DOSE = "single-dose"
    MULTIPLE_DOSE = "multiple-dose"


IMMEDIATE_USE_LIMIT: Final = timedelta(hours=4)
"""Immediate-use CSP: administration begins within 4 h of the start of preparation."""
SINGLE_DOSE_PUNCTURED_IN_ISO5_LIMIT: Final = timedelta(hours=12)
MULTIPLE_DOSE_OPENED_LIMIT: Final = timedelta(days=28)

_CATEGORY_1: Final = {Storage.ROOM: timedelta(hours=12), Storage.REFRIGERATOR: timedelta(hours=24)}


def _days(room: int, refrigerator: int, freezer: int) -> dict[Storage, timedelta]:
    return {
        Storage.ROOM: timedelta(days=room),
        Storage.REFRIGERATOR: timedelta(days=refrigerator),
        Storage.FREEZER: timedelta(days=freezer),
    }


# Category 2 (USP <797> Table 13): (process, sterility tested, starting components) -> limits.
# ``None`` components: the row applies whatever the starting components.
_CATEGORY_2: Final = {
    (Process.ASEPTIC, True, None): _days(30, 45, 60),
    (Process.ASEPTIC, False, StartingComponents.STERILE): _days(4, 10, 45),
    (Process.ASEPTIC, False, StartingComponents.NONSTERILE): _days(1, 4, 45),
    (Process.TERMINAL, True, None): _days(45, 60, 90),
    (Process.TERMINAL, False, None): _days(14, 28, 45),
}
# Category 3 (USP <797> Table 14): sterility testing is required.
_CATEGORY_3: Final = {Process.ASEPTIC: _days(60, 90, 120), Process.TERMINAL: _days(90, 120, 180)}


@dataclass(frozen=True)
class BeyondUseDate:
    bud: datetime
    limit: timedelta
    """Elapsed time from compounding to the BUD."""
    governed_by: str
    """Which limit came first: ``USP <797>``, ``stability`` or ``component expiry``."""


def usp797_limit(
    category: CspCategory,
    storage: Storage,
    *,
    process: Process = Process.ASEPTIC,
    starting_components: StartingComponents | None = None,
    sterility_tested: bool = False,
) -> timedelta:
    """The longest BUD USP <797> allows for this category, process, components, testing and storage."""
    if category is CspCategory.CATEGORY_1:
        if storage not in _CATEGORY_1:
            raise InvalidInput(
                "USP <797> gives Category 1 CSPs a BUD only at room temperature (12 h) or "
                "refrigerated (24 h); a frozen CSP must be Category 2 or 3.",
                code="BUD_NOT_ALLOWED",
            )
        return _CATEGORY_1[storage]
    if category is CspCategory.CATEGORY_3:
        if not sterility_tested:
            raise InvalidInput(
                "A Category 3 CSP must pass a sterility test; without one, use Category 2 dating.",
                code="BUD_NOT_ALLOWED",
            )
        return _CATEGORY_3[process][storage]
    components = None if sterility_tested or process is Process.TERMINAL else starting_components
    if process is Process.ASEPTIC and not sterility_tested and components is None:
        raise InvalidInput(
            "A Category 2 aseptically processed CSP without a sterility test: say whether all "
            "starting components are sterile or one or more is not.",
            code="MISSING_INPUT",
        )
    return _CATEGORY_2[(process, sterility_tested, components)][storage]


def in_use_limit(container: Container, *, manufacturer_limit: timedelta | None = None) -> timedelta:
    """How long a punctured container may be used: single-dose in ISO 5 air 12 h; multiple-dose 28 days.

    For a multiple-dose container the manufacturer's own limit, when it states one, replaces 28 days.
    """
    if container is Container.SINGLE_DOSE:
        return SINGLE_DOSE_PUNCTURED_IN_ISO5_LIMIT
    if manufacturer_limit is not None:
        return _positive(manufacturer_limit, "manufacturer's in-use limit")
    return MULTIPLE_DOSE_OPENED_LIMIT


def beyond_use_date(
    compounded_at: datetime,
    *,
    usp_limit: timedelta,
    stability: timedelta | None = None,
    component_expiries: Sequence[datetime] = (),
) -> BeyondUseDate:
    """The earliest of the USP limit, the stability limit and the first component expiry."""
    _require_aware(compounded_at, "compounding time")
    start = compounded_at.astimezone(UTC)
    candidates = [("USP <797>", start + _positive(usp_limit, "USP limit"))]
    if stability is not None:
        candidates.append(("stability", start + _positive(stability, "stability limit")))
    for expiry in component_expiries:
        _require_aware(expiry, "component expiry")
        if expiry <= compounded_at:
            raise InvalidInput(
                f"A component expired at {expiry.isoformat()}, before compounding; it may not be used.",
                code="EXPIRED_COMPONENT",
            )
        candidates.append(("component expiry", expiry.astimezone(UTC)))
    governed_by, earliest = min(candidates, key=lambda candidate: candidate[1])
    zone = compounded_at.tzinfo
    return BeyondUseDate(earliest.astimezone(zone), earliest - start, governed_by)


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone of that name (e.g. "America/New_York"); ValueError naming it if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'America/New_York'") from exc


def end_of_expiry_date(expiry: date, zone: tzinfo) -> datetime:
    """A labelled expiry date is good through that day: 23:59 local time on it."""
    return datetime.combine(expiry, time(23, 59), tzinfo=zone)


def local_instant(wall_time: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in a zone, refused if DST makes it not exist or happen twice."""
    if wall_time.tzinfo is not None:
        return wall_time.astimezone(zone)
    first, second = wall_time.replace(tzinfo=zone, fold=0), wall_time.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall_time:
        raise InvalidInput(
            f"{wall_time:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks went forward).",
            code="NONEXISTENT_TIME",
        )
    raise InvalidInput(
        f"{wall_time:%Y-%m-%d %H:%M} happens twice in {zone.key} (the clocks went back); give the UTC offset too.",
        code="AMBIGUOUS_TIME",
    )


def duration(quantity: Quantity) -> timedelta:
    """A time quantity (``8 h``, ``28 day``) as a timedelta, to the second."""
    seconds = round_half_up(magnitude(quantity, "h", what="duration") * 3600, 0)
    return timedelta(seconds=int(seconds))


def in_hours(limit: timedelta) -> Decimal:
    """A timedelta in hours (to 0.01)."""
    return round_half_up(Decimal(limit.days * 86400 + limit.seconds) / 3600, 2)


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(
            f"The {what} {moment.isoformat()} has no time zone; give it with its UTC offset or zone.",
            code="NAIVE_DATETIME",
        )


def _positive(limit: timedelta, what: str) -> timedelta:
    if limit <= timedelta(0):
        raise InvalidInput(f"The {what} must be more than zero.", code="INVALID_INPUT")
    return limit
