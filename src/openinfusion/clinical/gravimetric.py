"""Gravimetric check: weigh what was drawn up and compare it with what was meant.

volume (mL) = mass (g) / specific gravity (the density relative to water, 1 g/mL); the deviation
is (measured − target) / target × 100 and passes within ± the tolerance (default 5 %, set per
product). A balance cannot tell one drug from another: pair it with a barcode scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from openinfusion.clinical.units import Quantity, magnitude, round_half_up
from openinfusion.errors import InvalidInput

DEFAULT_TOLERANCE_PCT: Final = Decimal(5)
SPECIFIC_GRAVITY_RANGE: Final = (Decimal("0.5"), Decimal("2.5"))
"""Injectable liquids lie well inside this (water 1.000, 0.9 % NaCl 1.0046, D5W about 1.02)."""


@dataclass(frozen=True)
class GravimetricCheck:
    measured_volume: Quantity
    """mL, to 0.01."""
    target_volume: Quantity
    expected_mass: Quantity
    """g, to 0.01: what the target volume should weigh."""
    deviation_pct: Decimal
    tolerance_pct: Decimal
    within_tolerance: bool


def expected_mass(volume: Quantity, specific_gravity: Decimal) -> Quantity:
    """Grams (to 0.01) that ``volume`` of a liquid of this specific gravity weighs."""
    return Quantity(round_half_up(magnitude(volume, "mL", what="volume") * _checked(specific_gravity), 2), "g")


def volume_from_mass(mass: Quantity, specific_gravity: Decimal) -> Quantity:
    """mL (to 0.01) that a weighed mass of a liquid of this specific gravity occupies."""
    return Quantity(round_half_up(magnitude(mass, "g", what="mass") / _checked(specific_gravity), 2), "mL")


def gravimetric_check(
    mass: Quantity,
    specific_gravity: Decimal,
    target_volume: Quantity,
    *,
    tolerance_pct: Decimal = DEFAULT_TOLERANCE_PCT,
) -> GravimetricCheck:
    """Compare the volume a weighed mass stands for with the target volume, against a tolerance."""
    if not 0 <= tolerance_pct <= 100:
        raise InvalidInput(
            f"A tolerance of {tolerance_pct} % is not possible; use 0 to 100 (5 is usual).", code="INVALID_POLICY"
        )
    target = magnitude(target_volume, "mL", what="target volume")
    if target <= 0:
        raise InvalidInput("The target volume must be more than zero.", code="INVALID_INPUT")
    measured = volume_from_mass(mass, specific_gravity)
    deviation = round_half_up((measured.value - target) / target * 100, 2)
    return GravimetricCheck(
        measured_volume=measured,
        target_volume=Quantity(target, "mL"),
        expected_mass=expected_mass(target_volume, specific_gravity),
        deviation_pct=deviation,
        tolerance_pct=tolerance_pct,
        within_tolerance=abs(deviation) <= tolerance_pct,
    )


def _checked(specific_gravity: Decimal) -> Decimal:
    low, high = SPECIFIC_GRAVITY_RANGE
    if not low <= specific_gravity <= high:
        raise InvalidInput(
            f"A specific gravity of {specific_gravity} is not plausible for an injectable liquid "
            f"(expected {low}–{high}); check the product's value.",
            code="IMPLAUSIBLE_MEASUREMENT",
        )
    return specific_gravity
