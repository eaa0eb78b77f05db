"""The bedside's rules, pure (no Django, no clock): the rate a dose is prescribed to run at, the
check of a pump program and of every later rate change against it, and the warning when a bag's
beyond-use time falls before the planned end of its infusion. The services read the clock once
and pass ``now`` in.

The prescribed rate comes from the prescription: the order's duration (the plan's rate, made from
it), else the formulary's standard infusion time for the drug (a range of rates for a range of
minutes). Without either, no pump program can be checked, so none is accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Final

from openinfusion.clinical.units import format_decimal, round_half_up
from openinfusion.errors import DomainError

PUMP_TOLERANCE_PCT: Final = Decimal(5)
"""A pump program, and every later rate, may differ from the prescribed rate by ±5 %."""
SLOWEST_SHARE: Final = Decimal("0.5")
"""A slow-down (for a reaction, a sore vein) goes down to half the slowest prescribed rate (−5 %)."""


class BedsideRefusal(DomainError):
    """A hard stop at the bedside: nothing changes and it is kept as a near miss."""

    status = 409


@dataclass(frozen=True)
class PrescribedRate:
    """The rates (mL/h) the prescription allows, before the ±5 % tolerance, and where they come from."""

    low_ml_h: Decimal
    high_ml_h: Decimal
    source: str

    @property
    def text(self) -> str:
        low, high = format_decimal(self.low_ml_h), format_decimal(self.high_ml_h)
        return f"{low} mL/h" if low == high else f"{low}–{high} mL/h"

    @property
    def fastest_ml_h(self) -> Decimal:
        """The fastest rate the tolerance allows (exact, not rounded)."""
        return self.high_ml_h * (1 + PUMP_TOLERANCE_PCT / 100)

    @property
    def slowest_ml_h(self) -> Decimal:
        """The slowest rate a program may be set to."""
        return self.low_ml_h * (1 - PUMP_TOLERANCE_PCT / 100)

    @property
    def slowest_slow_down_ml_h(self) -> Decimal:
        """The slowest rate a running infusion may be slowed to (0 pauses it)."""
        return self.low_ml_h * SLOWEST_SHARE * (1 - PUMP_TOLERANCE_PCT / 100)


def _at_most(value: Decimal) -> str:
    """A limit shown to 0.1 mL/h on its safe side: the rate shown is always allowed."""
    return format_decimal(value.quantize(Decimal("0.1"), rounding=ROUND_DOWN))


def _at_least(value: Decimal) -> str:
    return format_decimal(value.quantize(Decimal("0.1"), rounding=ROUND_UP))


def _rate(volume_ml: Decimal, minutes: int) -> Decimal:
    return round_half_up(volume_ml / Decimal(minutes) * 60, 1)


def prescribed_rate(
    *,
    volume_ml: Decimal,
    planned_rate_ml_h: Decimal | None,
    ordered_minutes: int | None,
    standard_minutes: tuple[int | None, int | None],
) -> PrescribedRate | None:
    """The rate the dose is prescribed to run at: the plan's rate (made from the order's duration),
    else the order's duration over the bag's volume, else the formulary's standard minutes (the
    longest gives the slowest rate, the shortest the fastest); None when there is none."""
    if planned_rate_ml_h:
        minutes = f" over {ordered_minutes} min" if ordered_minutes else ""
        return PrescribedRate(planned_rate_ml_h, planned_rate_ml_h, f"as ordered{minutes}")
    if volume_ml <= 0:
        return None
    if ordered_minutes:
        rate = _rate(volume_ml, ordered_minutes)
        return PrescribedRate(rate, rate, f"as ordered over {ordered_minutes} min")
    shortest, longest = standard_minutes
    shortest, longest = shortest or longest, longest or shortest
    if not shortest or not longest:
        return None
    span = f"{shortest} min" if shortest == longest else f"{shortest}–{longest} min"
    return PrescribedRate(
        _rate(volume_ml, longest),
        _rate(volume_ml, shortest),
        f"the formulary's standard {span} for a {format_decimal(volume_ml)} mL bag",
    )


def expected_minutes(prescribed: PrescribedRate, volume_ml: Decimal) -> int:
    """How long the bag runs at the slowest prescribed rate (the latest it is planned to end)."""
    return int(round_half_up(volume_ml / prescribed.low_ml_h * 60, 0))


def no_prescribed_rate(drug: str) -> BedsideRefusal:
    return BedsideRefusal(
        f"No duration or rate was ordered for this {drug} infusion and the formulary has no standard "
        "infusion time for it, so the pump program cannot be checked. Do not start it: ask the prescriber "
        "for the duration and the pharmacy to correct the order.",
        code="NO_PRESCRIBED_RATE",
    )


def check_program(rate_ml_h: Decimal, prescribed: PrescribedRate) -> None:
    """The first pump program: within the prescribed rate (or range) ±5 %."""
    if not prescribed.slowest_ml_h <= rate_ml_h <= prescribed.fastest_ml_h:
        raise BedsideRefusal(
            f"Pump rate {format_decimal(rate_ml_h)} mL/h does not match the prescribed {prescribed.text} "
            f"({prescribed.source}, ±{PUMP_TOLERANCE_PCT} %). Reprogram the pump.",
            code="RATE_MISMATCH",
        )


def check_rate_change(rate_ml_h: Decimal, prescribed: PrescribedRate, *, current_ml_h: Decimal | None) -> None:
    """A rate change while the bag runs: a pause (0), the prescribed rate ±5 %, or a slow-down to
    no less than half the slowest prescribed rate; never faster than the prescription allows."""
    if rate_ml_h == 0:
        return
    keep = f"Keep the pump at {format_decimal(current_ml_h)} mL/h" if current_ml_h else "Keep the pump paused"
    if rate_ml_h > prescribed.fastest_ml_h:
        raise BedsideRefusal(
            f"{format_decimal(rate_ml_h)} mL/h is faster than prescribed: {prescribed.text} ({prescribed.source}, "
            f"at most {_at_most(prescribed.fastest_ml_h)} mL/h with ±{PUMP_TOLERANCE_PCT} %). {keep}; "
            "a faster rate needs a new order from the prescriber.",
            code="RATE_MISMATCH",
        )
    if rate_ml_h < prescribed.slowest_slow_down_ml_h:
        raise BedsideRefusal(
            f"{format_decimal(rate_ml_h)} mL/h is slower than half the prescribed {prescribed.text} "
            f"(at least {_at_least(prescribed.slowest_slow_down_ml_h)} mL/h; 0 pauses the pump). "
            f"Check the number typed. {keep}.",
            code="RATE_MISMATCH",
        )


@dataclass(frozen=True)
class BedsideWarning:
    """Something the nurse must see before starting, not a refusal."""

    code: str
    message: str


def bud_warning(
    bud: dt.datetime, *, start: dt.datetime, minutes: int | None, clock: Callable[[dt.datetime], str]
) -> BedsideWarning | None:
    """Warn when the bag's beyond-use time falls before the planned end of its infusion (the
    planned start, or now if later, plus the time the bag runs). ``clock`` shows a moment on the
    site's clock."""
    if not minutes:
        return None
    end = start + dt.timedelta(minutes=minutes)
    if bud >= end:
        return None
    return BedsideWarning(
        "BUD_BEFORE_END",
        f"This bag's beyond-use time is {clock(bud)}, before the planned end of the infusion at {clock(end)} "
        f"({minutes} min). Start it now at the prescribed rate and check it is finished by its beyond-use "
        "time, or ask the pharmacy for a fresh bag.",
    )


def check_bud_at_start(bud: dt.datetime | None, *, now: dt.datetime, clock: Callable[[dt.datetime], str]) -> None:
    """A bag is never started after its beyond-use time, even one scanned before it."""
    if bud is None or bud <= now:
        passed = f" ({clock(bud)})" if bud is not None else ""
        raise BedsideRefusal(
            f"The beyond-use time{passed} has passed since the bag was scanned: do not start it; return it to "
            "the pharmacy for a fresh dose.",
            code="BUD_EXPIRED",
        )
