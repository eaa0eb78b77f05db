"""Infusion rates: mL/h from volume and time, drops per minute, and dose rate ↔ mL/h.

mL/h = volume (mL) / time (h); gtt/min = volume (mL) × drop factor (gtt/mL) / time (min), to the
nearest whole drop; mL/h = dose rate (per kg × weight) / concentration. Pump rates are given to
0.1 mL/h.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from openinfusion.clinical.body import weight_in_kg
from openinfusion.clinical.units import (
    Quantity,
    describe_unit,
    display_unit,
    join_unit,
    magnitude,
    round_half_up,
    split_unit,
)
from openinfusion.errors import InvalidInput

DROP_FACTORS_GTT_PER_ML: Final = (10, 15, 20, 60)
"""Macro-drip sets deliver 10, 15 or 20 drops per mL; micro-drip sets 60."""
_TIMES: Final = ("min", "h", "day")


@dataclass(frozen=True)
class DripRate:
    ml_per_h: Decimal
    drops_per_min: int | None
    drop_factor: int | None


def infusion_rate(volume: Quantity, duration: Quantity) -> Quantity:
    """mL/h (to 0.1) to give ``volume`` over ``duration``."""
    hours = _positive(magnitude(duration, "h", what="duration"), "duration")
    return Quantity(round_half_up(magnitude(volume, "mL", what="volume") / hours, 1), "mL/h")


def drip_rate(volume: Quantity, duration: Quantity, drop_factor: int | None = None) -> DripRate:
    """mL/h and, for a gravity set, drops per minute rounded to the nearest whole drop."""
    rate = infusion_rate(volume, duration)
    if drop_factor is None:
        return DripRate(rate.value, None, None)
    if drop_factor not in DROP_FACTORS_GTT_PER_ML:
        raise InvalidInput(
            f"A drop factor of {drop_factor} gtt/mL is not a standard set; use 10, 15, 20 or 60 "
            "as printed on the administration set.",
            code="INVALID_INPUT",
        )
    minutes = _positive(magnitude(duration, "min", what="duration"), "duration")
    drops = magnitude(volume, "mL", what="volume") * drop_factor / minutes
    return DripRate(rate.value, int(round_half_up(drops, 0)), drop_factor)


def volume_to_infuse(rate: Quantity, duration: Quantity) -> Quantity:
    """mL (to 0.1) delivered at ``rate`` over ``duration``."""
    return Quantity(
        round_half_up(magnitude(rate, "mL/h", what="infusion rate") * magnitude(duration, "h", what="duration"), 1),
        "mL",
    )


def infusion_duration(volume: Quantity, rate: Quantity) -> Quantity:
    """Hours (to 0.01) to give ``volume`` at ``rate``."""
    per_hour = _positive(magnitude(rate, "mL/h", what="infusion rate"), "infusion rate")
    return Quantity(round_half_up(magnitude(volume, "mL", what="volume") / per_hour, 2), "h")


def infusion_rate_for_dose(dose_rate: Quantity, concentration: Quantity, *, weight: Quantity | None = None) -> Quantity:
    """mL/h (to 0.1) that delivers a dose rate: 5 mcg/kg/min × 70 kg at 1.6 mg/mL → 13.1 mL/h."""
    amount = _amount_per_time(dose_rate, weight)
    drug = _concentration_amount(concentration, amount.unit)
    per_hour = amount.to(join_unit(drug, ("h",))).value
    per_ml = _positive(concentration.to(join_unit(drug, ("mL",))).value, "concentration")
    return Quantity(round_half_up(per_hour / per_ml, 1), "mL/h")


def dose_rate_for_infusion(
    rate: Quantity, concentration: Quantity, dose_unit: str, *, weight: Quantity | None = None
) -> Quantity:
    """The dose rate a pump rate delivers, in ``dose_unit`` (e.g. mcg/kg/min), to 0.01."""
    numerator, denominators = split_unit(dose_unit)
    drug = _concentration_amount(concentration, numerator)
    per_hour = Quantity(
        magnitude(rate, "mL/h", what="infusion rate") * concentration.to(join_unit(drug, ("mL",))).value,
        join_unit(drug, ("h",)),
    )
    if denominators[:1] == ("kg",):
        if weight is None:
            raise InvalidInput(
                f"A dose rate in {display_unit(dose_unit)} needs the patient's weight.", code="MISSING_WEIGHT"
            )
        per_kg = Quantity(per_hour.value / weight_in_kg(weight), per_hour.unit)
        return Quantity(round_half_up(per_kg.to(join_unit(numerator, denominators[1:])).value, 2), dose_unit)
    return Quantity(round_half_up(per_hour.to(dose_unit).value, 2), dose_unit)


def _amount_per_time(dose_rate: Quantity, weight: Quantity | None) -> Quantity:
    numerator, denominators = split_unit(dose_rate.unit)
    if len(denominators) == 1 and denominators[0] in _TIMES:
        return dose_rate
    if len(denominators) == 2 and denominators[0] == "kg" and denominators[1] in _TIMES:
        if weight is None:
            raise InvalidInput(
                f"A dose rate in {display_unit(dose_rate.unit)} needs the patient's weight.", code="MISSING_WEIGHT"
            )
        return Quantity(dose_rate.value * weight_in_kg(weight), join_unit(numerator, denominators[1:]))
    raise InvalidInput(
        f"{dose_rate} is not a dose rate; write an amount per time such as mg/h, units/h or mcg/kg/min.",
        code="UNIT_DIMENSION_MISMATCH",
    )


def _concentration_amount(concentration: Quantity, dose_amount_unit: str) -> str:
    drug, denominators = split_unit(concentration.unit)
    if len(denominators) != 1 or describe_unit(denominators[0]) != "a volume":
        raise InvalidInput(
            f"{concentration} is not a concentration; write an amount per volume such as 1.6 mg/mL or 400 mg/250 mL.",
            code="UNIT_DIMENSION_MISMATCH",
        )
    dose_amount = split_unit(dose_amount_unit)[0]
    if describe_unit(drug) != describe_unit(dose_amount):
        raise InvalidInput(
            f"A dose in {display_unit(dose_amount)} cannot be given from a concentration in "
            f"{display_unit(concentration.unit)}: {display_unit(dose_amount)} is "
            f"{describe_unit(dose_amount)} and {display_unit(drug)} is {describe_unit(drug)}.",
            code="UNIT_DIMENSION_MISMATCH",
        )
    return drug


def _positive(value: Decimal, what: str) -> Decimal:
    if value <= 0:
        raise InvalidInput(f"The {what} must be more than zero.", code="INVALID_INPUT")
    return value
