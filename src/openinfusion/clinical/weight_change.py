"""A weight far from the patient's previous one is a probable slip: pounds typed as kilograms
(70 kg weighed, "154" typed), a digit too many, another patient's scale ticket. Pure: the caller
passes both weights and the time between them.

How far a weight can really move grows with the time between weighings, so the share allowed
does too:

- **10 % within a week** (``WEIGHT_CHANGE_WITHIN_A_WEEK``). A real loss beyond 2 % in a week is
  already *severe* malnutrition (ASPEN/AND consensus, White et al., JPEN 2012;36:275), and day-to-day
  fluid shifts are a few percent; 10 % is also where oncology protocols recalculate a dose from a
  new weight, so a real change this size must be looked at anyway.
- **1 % more for each further week** (``WEIGHT_CHANGE_PER_FURTHER_WEEK``): the severe-loss rates of
  the same consensus (5 % a month, 7.5 % in three months, 10 % in six) stay well inside it.
- **never more than 25 %** (``WEIGHT_CHANGE_AT_MOST``), however long ago: a pounds/kilograms slip
  (× 2.2 or × 0.45) is questioned at any distance. A growing child may pass it once a year and is
  confirmed then.

A change beyond the share is not refused outright: the person re-measures and confirms.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from openinfusion.clinical.units import Quantity, format_decimal, round_half_up

WEIGHT_CHANGE_WITHIN_A_WEEK = Decimal("0.10")
WEIGHT_CHANGE_PER_FURTHER_WEEK = Decimal("0.01")
WEIGHT_CHANGE_AT_MOST = Decimal("0.25")

_WEEK = dt.timedelta(days=7)
_OTHER_UNIT = {"kg": ("lb", "pounds"), "lb": ("kg", "kilograms")}


@dataclass(frozen=True)
class WeightJump:
    """A weight further from the previous one than the time between them allows."""

    previous_kg: Decimal
    weight_kg: Decimal
    share: Decimal  # |weight − previous| / previous
    allowed: Decimal
    meant: Quantity | None  # the number typed, in the other unit, when that fits the previous weight


def allowed_change(apart: dt.timedelta) -> Decimal:
    """The share of the previous weight a weight may differ by, ``apart`` later (or earlier)."""
    further_weeks = Decimal(max(abs(apart) - _WEEK, dt.timedelta(0)) / _WEEK)
    return min(WEIGHT_CHANGE_AT_MOST, WEIGHT_CHANGE_WITHIN_A_WEEK + WEIGHT_CHANGE_PER_FURTHER_WEEK * further_weeks)


def weight_jump(previous_kg: Decimal, weight_kg: Decimal, entered: Quantity, apart: dt.timedelta) -> WeightJump | None:
    """The jump from ``previous_kg`` to ``weight_kg`` (typed as ``entered``), or None if it is within
    what ``apart`` allows."""
    allowed = allowed_change(apart)
    share = abs(weight_kg - previous_kg) / previous_kg
    if share <= allowed:
        return None
    meant = None
    if entered.unit in _OTHER_UNIT:
        other = Quantity(entered.value, _OTHER_UNIT[entered.unit][0])
        if abs(other.to("kg").value - previous_kg) / previous_kg <= allowed:
            meant = other
    return WeightJump(previous_kg, weight_kg, share, allowed, meant)


def percent(share: Decimal) -> str:
    return format_decimal(round_half_up(share * 100, 0))


def describe(jump: WeightJump, entered: Quantity, previous_when: str, apart: dt.timedelta) -> str:
    """What the nurse reads: how far off, from which weight, and the slip it probably is."""
    direction = "more" if jump.weight_kg > jump.previous_kg else "less"
    order = "before" if apart >= dt.timedelta(0) else "after"
    text = (
        f"{_typed(entered)} is {percent(jump.share)} % {direction} than the last weight, "
        f"{format_decimal(round_half_up(jump.previous_kg, 2))} kg on {previous_when} ({_span(apart)} {order}): "
        f"more than the {percent(jump.allowed)} % a weight changes in that time."
    )
    if jump.meant is not None:
        unit_name = _OTHER_UNIT[entered.unit][1]
        meant_kg = format_decimal(round_half_up(jump.meant.to("kg").value, 2))
        text += f" If the scale showed {unit_name}, type “{_typed(jump.meant)}” ({meant_kg} kg)."
    return text


def _typed(quantity: Quantity) -> str:
    return f"{format_decimal(quantity.value)} {quantity.unit}"


def _span(apart: dt.timedelta) -> str:
    hours = int(abs(apart).total_seconds() // 3600)
    if hours < 1:
        return "less than an hour"
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{hours // 24} days"
