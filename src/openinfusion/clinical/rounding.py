"""Dose rounding: to the nearest measurable increment, or to whole vials, within a policy threshold.

The nearest attainable amount is found (ties go to the smaller amount). If it is within the
threshold of the calculated dose (default 10 %, HOPA 2018; set per drug), the dose is rounded
to it; otherwise the exact dose is prepared. For vials, the result also gives the vial
combination to use (fewest vials for that amount) and the drug left over in opened vials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Final

from openinfusion.clinical.units import Quantity, magnitude, round_half_up
from openinfusion.errors import InvalidInput

DEFAULT_ROUNDING_THRESHOLD_PCT: Final = Decimal(10)
_MAX_STATES: Final = 200_000


@dataclass(frozen=True)
class VialUse:
    size: Quantity
    count: int


@dataclass(frozen=True)
class RoundedDose:
    calculated: Quantity
    nearest: Quantity
    """The nearest measurable (or whole-vial) amount."""
    deviation_pct: Decimal
    """(nearest − calculated) / calculated × 100, to 0.01 %."""
    rounded: bool
    """True when the nearest amount is within the threshold and is the dose to prepare."""
    threshold_pct: Decimal
    dose: Quantity
    """The dose to prepare: the nearest amount if rounded, else the calculated dose."""
    vials: tuple[VialUse, ...] = ()
    leftover: Quantity | None = None
    """Drug left in opened vials after drawing up ``dose``."""


def round_to_increment(
    dose: Quantity, increment: Quantity, *, threshold_pct: Decimal = DEFAULT_ROUNDING_THRESHOLD_PCT
) -> RoundedDose:
    """Round to the nearest multiple of a measurable increment (e.g. 5 mg, 0.1 mL of a 10 mg/mL vial)."""
    _check(dose, threshold_pct)
    step = magnitude(increment, dose.unit, what="rounding increment")
    if step <= 0:
        raise InvalidInput("A rounding increment must be more than zero.", code="INVALID_POLICY")
    below = (dose.value / step).to_integral_value(rounding=ROUND_FLOOR) * step
    above = below if below == dose.value else below + step
    nearest = below if below > 0 and dose.value - below <= above - dose.value else above
    return _decide(dose, nearest, threshold_pct)


def round_to_vials(
    dose: Quantity,
    vial_sizes: Sequence[Quantity],
    *,
    threshold_pct: Decimal = DEFAULT_ROUNDING_THRESHOLD_PCT,
    at_most: Quantity | None = None,
) -> RoundedDose:
    """Round to a whole number of vials from the sizes available, if within the threshold.

    ``at_most`` is a ceiling the rounded dose never crosses (a maximum single dose, what is left
    under a lifetime limit, or the adjusted dose itself when only rounding down is allowed): the
    nearest whole-vial amount above it is never offered, the nearest one below is."""
    _check(dose, threshold_pct)
    if not vial_sizes:
        raise InvalidInput("Give at least one vial size.", code="INVALID_INPUT")
    sizes = sorted({magnitude(v, dose.unit, what="vial size") for v in vial_sizes}, reverse=True)
    if sizes[-1] <= 0:
        raise InvalidInput("A vial size must be more than zero.", code="INVALID_INPUT")
    table = _VialTable(sizes, dose.value)
    below, above = table.nearest_totals(dose.value)
    nearest = below if below is not None and dose.value - below <= above - dose.value else above
    ceiling = None if at_most is None else magnitude(at_most, dose.unit, what="rounding ceiling")
    if ceiling is not None and nearest > ceiling:
        under = table.nearest_totals(min(ceiling, dose.value))[0]
        if under is None:
            return replace(_decide(dose, dose.value, threshold_pct), rounded=False)
        nearest = under
    decision = _decide(dose, nearest, threshold_pct)
    if decision.rounded:
        return replace(decision, vials=table.vials(nearest, dose.unit), leftover=Quantity(Decimal(0), dose.unit))
    return replace(decision, vials=table.vials(above, dose.unit), leftover=Quantity(above - dose.value, dose.unit))


def _check(dose: Quantity, threshold_pct: Decimal) -> None:
    if dose.value <= 0:
        raise InvalidInput("A dose to round must be more than zero.", code="INVALID_INPUT")
    if not 0 <= threshold_pct <= 100:
        raise InvalidInput(
            f"A rounding threshold of {threshold_pct} % is not possible; use 0 to 100 (10 is usual).",
            code="INVALID_POLICY",
        )


def _decide(dose: Quantity, nearest: Decimal, threshold_pct: Decimal) -> RoundedDose:
    deviation = (nearest - dose.value) / dose.value * 100
    rounded = abs(deviation) <= threshold_pct
    return RoundedDose(
        calculated=dose,
        nearest=Quantity(nearest, dose.unit),
        deviation_pct=round_half_up(deviation, 2),
        rounded=rounded,
        threshold_pct=threshold_pct,
        dose=Quantity(nearest, dose.unit) if rounded else dose,
    )


class _VialTable:
    """Every total reachable with whole vials up to just above the dose, each with its fewest vials."""

    def __init__(self, sizes: list[Decimal], dose: Decimal) -> None:
        places = max(len(format(s.normalize(), "f").partition(".")[2]) for s in sizes)
        self.scale = Decimal(10) ** places
        scaled = [int(s * self.scale) for s in sizes]
        self.step = math.gcd(*scaled)
        self.sizes = sizes
        self.steps = [s // self.step for s in scaled]
        limit = math.ceil(dose * self.scale / self.step) + max(self.steps)
        if limit > _MAX_STATES:
            raise InvalidInput(
                "These vial sizes are too fine for this dose to combine; round to an increment instead.",
                code="INVALID_INPUT",
            )
        self.fewest: list[int | None] = [0] + [None] * limit
        self.last: list[int] = [0] * (limit + 1)
        for total in range(1, limit + 1):
            best: int | None = None
            for index, step in enumerate(self.steps):
                before = self.fewest[total - step] if step <= total else None
                if before is not None and (best is None or before + 1 < best):
                    best, self.last[total] = before + 1, index
            self.fewest[total] = best

    def _amount(self, total: int) -> Decimal:
        return Decimal(total * self.step) / self.scale

    def nearest_totals(self, dose: Decimal) -> tuple[Decimal | None, Decimal]:
        reachable = [t for t in range(1, len(self.fewest)) if self.fewest[t] is not None]
        below = [t for t in reachable if self._amount(t) <= dose]
        above = next(t for t in reachable if self._amount(t) >= dose)
        return (self._amount(below[-1]) if below else None), self._amount(above)

    def vials(self, amount: Decimal, unit: str) -> tuple[VialUse, ...]:
        total = int(amount * self.scale) // self.step
        counts = [0] * len(self.sizes)
        while total:
            index = self.last[total]
            counts[index] += 1
            total -= self.steps[index]
        return tuple(
            VialUse(Quantity(size, unit), count) for size, count in zip(self.sizes, counts, strict=True) if count
        )
