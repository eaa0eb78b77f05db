"""Cumulative (lifetime) dose against a limit, in the drug's own basis (e.g. mg/m² of doxorubicin).

Doses given are first expressed in the limit's basis (``dosing.dose_in_basis`` turns 690 mg at
1.84 m² into 375 mg/m²). Reaching the limit exactly is allowed; going over it is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openinfusion.clinical.units import Quantity, magnitude, round_half_up
from openinfusion.errors import InvalidInput


@dataclass(frozen=True)
class CumulativeDose:
    limit: Quantity
    before: Quantity
    """Total given so far."""
    next_dose: Quantity
    after: Quantity
    """Total once the next dose is given."""
    remaining: Quantity
    """What the limit still allows before the next dose (zero once reached or passed)."""
    remaining_after_next: Quantity
    exceeds_limit: bool
    """The next dose would take the total over the limit."""
    already_exceeded: bool
    over_by: Quantity
    """How far the total after the next dose is over the limit (zero if not over)."""
    percent_of_limit_after: Decimal


def cumulative_dose(given: Sequence[Quantity], limit: Quantity, next_dose: Quantity | None = None) -> CumulativeDose:
    """Lifetime total before and after the next dose, the allowance left, and whether it is exceeded."""
    if limit.value <= 0:
        raise InvalidInput("A cumulative limit must be more than zero.", code="INVALID_POLICY")
    unit = limit.unit
    before = sum((magnitude(dose, unit, what="dose given") for dose in given), Decimal(0))
    upcoming = Decimal(0) if next_dose is None else magnitude(next_dose, unit, what="next dose")
    after = before + upcoming

    def amount(value: Decimal) -> Quantity:
        return Quantity(max(value, Decimal(0)), unit)

    return CumulativeDose(
        limit=limit,
        before=amount(before),
        next_dose=amount(upcoming),
        after=amount(after),
        remaining=amount(limit.value - before),
        remaining_after_next=amount(limit.value - after),
        exceeds_limit=after > limit.value,
        already_exceeded=before > limit.value,
        over_by=amount(after - limit.value),
        percent_of_limit_after=round_half_up(after / limit.value * 100, 1),
    )
