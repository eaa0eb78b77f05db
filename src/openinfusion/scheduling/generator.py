"""Realistic synthetic infusion-centre days, seeded and deterministic.

Every parameter below is documented with its source in docs/scheduling.md ("Generator"); the
sources are the anchors in the project's performance reference (NCCN chair-time ranges, Advisory
Board lab turnaround, Birmingham VA same-day labs, Hesaraki nurse ratio and setup, BC Cancer and
others for 2-2.5 patients per chair). Values marked [assumption] there are ours.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from openinfusion.scheduling.model import Appointment, Chair, Day, Nurse, Room, Weights


@dataclass(frozen=True)
class Size:
    chairs: int
    appointments: int
    nurses: int
    hoods: int


SIZES: dict[str, Size] = {
    "S": Size(30, 70, 8, 4),
    "M": Size(60, 150, 18, 8),
    "L": Size(100, 250, 30, 12),
    "XL": Size(150, 400, 45, 18),
}


@dataclass(frozen=True)
class Regimen:
    name: str
    min_minutes: int
    max_minutes: int
    share: float
    hazardous: float
    """Probability that the visit's dose is a hazardous drug (NIOSH list)."""


REGIMENS: tuple[Regimen, ...] = (
    Regimen("AC", 85, 240, 0.14, 1.0),
    Regimen("FOLFIRINOX", 270, 420, 0.08, 1.0),
    Regimen("rituximab", 120, 350, 0.14, 0.0),
    Regimen("carboplatin/paclitaxel", 255, 380, 0.10, 1.0),
    Regimen("zoledronic acid", 30, 150, 0.22, 0.0),
    Regimen("short/injection", 15, 60, 0.32, 0.5),
)

OPENING = 7 * 60 + 30
CLOSING = 19 * 60
LATEST_PREFERRED = 14 * 60
MORNING_SHARE = 0.75
MORNING_MEAN = 9 * 60 + 30
MORNING_SD = 75
MIDDAY_FROM = 11 * 60
MIDDAY_TO = 14 * 60
ARRIVAL_EARLIER = 60
"""A request may be booked up to this many minutes before the preferred time [assumption]."""
ARRIVAL_LATER = 120
"""... and up to this many minutes after it [assumption]."""
FINISH_BEFORE_CLOSING = 60
"""A booked arrival leaves the infusion (plus labs and compounding) room to end by closing."""
PUNCTUALITY_MEAN = -5
PUNCTUALITY_SD = 15
SAME_DAY_LABS = 0.5
LAB_TURNAROUND = (45, 60)
VERIFIED_DAY_BEFORE = OPENING - 60
PREMIX_SHARE_WITHOUT_LABS = 0.5
PREP_MINUTES = (10, 40)
LONG_MINUTES = 240
BED_SHARE = 0.10
NEEDS_BED = 0.05
ISOLATION_CHAIR_SHARE = 0.05
NEEDS_ISOLATION = 0.02
LONG_OK_SHARE = 0.85
EARLY_SHIFT = (OPENING, OPENING + 600)
LATE_SHIFT = (9 * 60, CLOSING)
EARLY_SHIFT_SHARE = 0.6
BREAK_MINUTES = 30
EARLY_BREAKS = (11 * 60 + 30, 12 * 60, 12 * 60 + 30)
LATE_BREAKS = (13 * 60 + 30, 14 * 60, 14 * 60 + 30)
"""Each nurse's 30-min meal break, staggered in turn over these starts (no setups then)."""
MAX_PATIENTS = 4
SETUP_MINUTES = 15
LATEST_START = CLOSING - SETUP_MINUTES
SAME_DAY_CANCELLATION = 0.05
DURATION_CV = 0.2


def _round5(minutes: float) -> int:
    return int(5 * round(minutes / 5))


def _preferred_start(rng: random.Random, chair_minutes: int) -> int:
    if rng.random() < MORNING_SHARE:
        minute = rng.gauss(MORNING_MEAN, MORNING_SD)
    else:
        minute = rng.uniform(MIDDAY_FROM, MIDDAY_TO)
    upper = min(LATEST_PREFERRED, CLOSING - chair_minutes - FINISH_BEFORE_CLOSING)
    return max(OPENING, min(upper, _round5(minute)))


def arrival_window(preferred: int, chair_minutes: int) -> tuple[int, int]:
    """The arrival times a patient accepts: from 60 min before the preferred time (not before
    opening) to 120 min after it, and early enough that the infusion can end 60 min before
    closing (never before the preferred time itself)."""
    earliest = max(OPENING, preferred - ARRIVAL_EARLIER)
    latest = max(preferred, min(preferred + ARRIVAL_LATER, CLOSING - chair_minutes - FINISH_BEFORE_CLOSING))
    return earliest, latest


def _appointment(rng: random.Random, index: int) -> Appointment:
    regimen = rng.choices(REGIMENS, weights=[r.share for r in REGIMENS])[0]
    chair_minutes = _round5(rng.uniform(regimen.min_minutes, regimen.max_minutes))
    preferred = _preferred_start(rng, chair_minutes)
    earliest, latest = arrival_window(preferred, chair_minutes)
    # punctuality is drawn by `sample_disruptions` for the replay; this draw only keeps the random
    # stream (and so every other attribute of the day) as it was when arrivals were fixed
    rng.gauss(PUNCTUALITY_MEAN, PUNCTUALITY_SD)
    needs_labs = rng.random() < SAME_DAY_LABS
    turnaround = rng.randint(*LAB_TURNAROUND)
    premix = False if needs_labs else rng.random() < PREMIX_SHARE_WITHOUT_LABS
    return Appointment(
        id=f"A{index:03d}",
        patient=f"P{index:04d}",
        regimen=regimen.name,
        chair_minutes=chair_minutes,
        prep_minutes=_round5(rng.uniform(*PREP_MINUTES)),
        hazardous=rng.random() < regimen.hazardous,
        earliest=earliest,
        latest=latest,
        book_arrival=True,
        preferred=preferred,
        needs_labs=needs_labs,
        lab_turnaround=turnaround,
        premix_eligible=premix,
        verified_at=VERIFIED_DAY_BEFORE,
        needs_bed=rng.random() < NEEDS_BED,
        long=chair_minutes >= LONG_MINUTES,
        isolation=rng.random() < NEEDS_ISOLATION,
    )


def _chairs(count: int) -> tuple[Chair, ...]:
    beds = max(1, round(count * BED_SHARE))
    isolation = max(1, round(count * ISOLATION_CHAIR_SHARE))
    long_ok = math.ceil(count * LONG_OK_SHARE)
    chairs = []
    for i in range(count):
        chairs.append(
            Chair(
                id=f"C{i + 1:03d}",
                kind="bed" if i >= count - beds else "chair",
                long_ok=i < long_ok or i >= count - beds,
                isolation=count - beds - isolation <= i < count - beds,
            )
        )
    return tuple(chairs)


def _nurses(count: int) -> tuple[Nurse, ...]:
    early = round(count * EARLY_SHIFT_SHARE)
    return tuple(
        Nurse(
            id=f"N{i + 1:02d}",
            shift_start=(EARLY_SHIFT if i < early else LATE_SHIFT)[0],
            shift_end=(EARLY_SHIFT if i < early else LATE_SHIFT)[1],
            max_patients=MAX_PATIENTS,
            setup_minutes=SETUP_MINUTES,
            breaks=((_break_start(i, early), _break_start(i, early) + BREAK_MINUTES),),
        )
        for i in range(count)
    )


def _break_start(i: int, early: int) -> int:
    starts = EARLY_BREAKS if i < early else LATE_BREAKS
    return starts[(i if i < early else i - early) % len(starts)]


def _rooms(hoods: int, appointments: tuple[Appointment, ...]) -> tuple[Room, ...]:
    hazardous_share = sum(a.hazardous for a in appointments) / max(1, len(appointments))
    hazardous = min(hoods - 1, max(1, round(hoods * hazardous_share)))
    return (Room("HD", hazardous=True, hoods=hazardous), Room("NH", hazardous=False, hoods=hoods - hazardous))


def generate_day(size: str, seed: int, weights: Weights | None = None) -> Day:
    """A day of the given size ("S", "M", "L", "XL"); the same (size, seed) gives the same day."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    spec = SIZES[size]
    rng = random.Random(f"openinfusion-scheduling-{size}-{seed}")  # noqa: S311 - a reproducible simulation
    appointments = tuple(_appointment(rng, i + 1) for i in range(spec.appointments))
    appointments = _feasible_chairs(appointments, _chairs(spec.chairs))
    return Day(
        opening=OPENING,
        closing=CLOSING,
        chairs=_chairs(spec.chairs),
        nurses=_nurses(spec.nurses),
        rooms=_rooms(spec.hoods, appointments),
        appointments=appointments,
        weights=weights or Weights(),
    )


def _feasible_chairs(appointments: tuple[Appointment, ...], chairs: tuple[Chair, ...]) -> tuple[Appointment, ...]:
    """A bed patient on a long infusion needs a long bed, and so on: drop a need no chair meets."""
    out = []
    for a in appointments:
        if a.isolation and not any(c.isolation and (c.long_ok or not a.long) for c in chairs):
            a = replace(a, isolation=False)
        if a.isolation and a.needs_bed:
            a = replace(a, isolation=False)
        out.append(a)
    return tuple(out)


@dataclass(frozen=True)
class Disruptions:
    """What happens on the day, for a stochastic replay of a plan."""

    cancelled: frozenset[str]
    actual_minutes: dict[str, int]
    arrival_delay: dict[str, int]


def sample_disruptions(day: Day, seed: int) -> Disruptions:
    """Same-day cancellations (5%), lognormal chair-time noise (CV 0.2) and punctuality
    N(-5, 15) min, seeded."""
    rng = random.Random(f"openinfusion-disruptions-{seed}")  # noqa: S311 - a reproducible simulation
    sigma = math.sqrt(math.log(1 + DURATION_CV**2))
    cancelled = set()
    actual: dict[str, int] = {}
    delay: dict[str, int] = {}
    for a in day.appointments:
        if rng.random() < SAME_DAY_CANCELLATION:
            cancelled.add(a.id)
        factor = rng.lognormvariate(-sigma * sigma / 2, sigma)
        actual[a.id] = max(5, round(a.chair_minutes * factor))
        delay[a.id] = round(rng.gauss(PUNCTUALITY_MEAN, PUNCTUALITY_SD))
    return Disruptions(frozenset(cancelled), actual, delay)
