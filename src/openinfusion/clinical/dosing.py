"""Dose from its basis: flat, per m² of BSA, per kg of body weight, or target AUC (Calvert).

Also the checks around a dose: a maximum single dose (vincristine 2 mg), the percent deviation
of an ordered dose from the calculated one, and a dose reduction by percent. Doses are rounded
to 0.01 of their unit; rounding to something measurable is the job of ``rounding``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from openinfusion.clinical.body import weight_in_kg
from openinfusion.clinical.units import Quantity, join_unit, magnitude, round_half_up, split_unit
from openinfusion.errors import InvalidInput

CALVERT_NONRENAL_CLEARANCE_ML_MIN: Final = Decimal(25)
DEFAULT_GFR_CAP_ML_MIN: Final = Decimal(125)
"""FDA (2010): cap an estimated GFR at 125 mL/min, so a Calvert dose never exceeds AUC × 150 mg."""
AUC_UNIT: Final = "mg.min/mL"
BSA_RANGE_M2: Final = (Decimal("0.1"), Decimal(5))


class BasisKind(StrEnum):
    FLAT = "flat"
    PER_BSA = "per m2"
    PER_WEIGHT = "per kg"
    AUC = "AUC"


@dataclass(frozen=True)
class CarboplatinDose:
    dose_mg: Decimal
    uncapped_dose_mg: Decimal
    """The dose had the GFR not been capped."""
    auc: Decimal
    gfr_ml_min: Decimal
    gfr_used_ml_min: Decimal
    gfr_capped: bool


@dataclass(frozen=True)
class CalculatedDose:
    dose: Quantity
    uncapped: Quantity
    """The dose before the maximum single dose was applied."""
    basis: Quantity
    kind: BasisKind
    capped_at_max: bool
    carboplatin: CarboplatinDose | None = None


def basis_kind(unit: str) -> BasisKind:
    """What a dose basis is per: ``mg/m2`` → per m², ``units/kg`` → per kg, ``mg.min/mL`` → AUC."""
    if unit == AUC_UNIT:
        return BasisKind.AUC
    _, denominators = split_unit(unit)
    body = denominators[0] if denominators else None
    return {"m2": BasisKind.PER_BSA, "kg": BasisKind.PER_WEIGHT}.get(body or "", BasisKind.FLAT)


def calvert_dose(
    auc: Decimal, gfr_ml_min: Decimal, *, gfr_cap_ml_min: Decimal | None = DEFAULT_GFR_CAP_ML_MIN
) -> CarboplatinDose:
    """Carboplatin dose (mg) = target AUC × (GFR + 25), with the GFR capped (125 mL/min by default)."""
    if auc <= 0:
        raise InvalidInput(
            f"A target AUC of {auc} is not possible; carboplatin targets are usually 4–7.", code="INVALID_INPUT"
        )
    if gfr_ml_min <= 0:
        raise InvalidInput(f"A GFR of {gfr_ml_min} mL/min is not possible.", code="IMPLAUSIBLE_MEASUREMENT")
    if gfr_cap_ml_min is not None and gfr_cap_ml_min <= 0:
        raise InvalidInput(
            f"A GFR cap of {gfr_cap_ml_min} mL/min is not possible; use 125 or none.", code="INVALID_POLICY"
        )
    capped = gfr_cap_ml_min is not None and gfr_ml_min > gfr_cap_ml_min
    used = gfr_cap_ml_min if gfr_cap_ml_min is not None and capped else gfr_ml_min
    return CarboplatinDose(
        dose_mg=round_half_up(auc * (used + CALVERT_NONRENAL_CLEARANCE_ML_MIN), 2),
        uncapped_dose_mg=round_half_up(auc * (gfr_ml_min + CALVERT_NONRENAL_CLEARANCE_ML_MIN), 2),
        auc=auc,
        gfr_ml_min=gfr_ml_min,
        gfr_used_ml_min=used,
        gfr_capped=capped,
    )


def dose_from_basis(
    basis: Quantity,
    *,
    bsa_m2: Decimal | None = None,
    weight: Quantity | None = None,
    gfr_ml_min: Decimal | None = None,
    gfr_cap_ml_min: Decimal | None = DEFAULT_GFR_CAP_ML_MIN,
    max_dose: Quantity | None = None,
) -> CalculatedDose:
    """The dose a basis gives this patient: ``375 mg/m2`` × 1.9 m² → 712.5 mg; capped at ``max_dose``."""
    kind = basis_kind(basis.unit)
    carboplatin = None
    if kind is BasisKind.AUC:
        if gfr_ml_min is None:
            raise InvalidInput("An AUC dose needs the patient's GFR (or creatinine clearance).", code="MISSING_GFR")
        carboplatin = calvert_dose(basis.value, gfr_ml_min, gfr_cap_ml_min=gfr_cap_ml_min)
        uncapped = Quantity(carboplatin.dose_mg, "mg")
    else:
        amount, unit = _per_patient(basis, kind, bsa_m2, weight)
        uncapped = Quantity(round_half_up(amount, 2), unit)
    dose, capped = uncapped, False
    if max_dose is not None and uncapped.value > magnitude(max_dose, uncapped.unit, what="maximum dose"):
        dose, capped = max_dose.to(uncapped.unit), True
    return CalculatedDose(dose, uncapped, basis, kind, capped, carboplatin)


def _per_patient(
    basis: Quantity, kind: BasisKind, bsa_m2: Decimal | None, weight: Quantity | None
) -> tuple[Decimal, str]:
    numerator, denominators = split_unit(basis.unit)
    if kind is BasisKind.FLAT:
        return basis.value, basis.unit
    per_patient_unit = join_unit(numerator, denominators[1:])
    if kind is BasisKind.PER_BSA:
        return basis.value * _checked_bsa(bsa_m2), per_patient_unit
    if weight is None:
        raise InvalidInput(f"A dose in {basis.unit} needs the patient's weight.", code="MISSING_WEIGHT")
    return basis.value * weight_in_kg(weight), per_patient_unit


def _checked_bsa(bsa_m2: Decimal | None) -> Decimal:
    if bsa_m2 is None:
        raise InvalidInput("A dose per m² needs the patient's BSA (or height and weight).", code="MISSING_BSA")
    low, high = BSA_RANGE_M2
    if not low <= bsa_m2 <= high:
        raise InvalidInput(
            f"A BSA of {bsa_m2} m² is not possible for a person (expected {low}–{high} m²).",
            code="IMPLAUSIBLE_MEASUREMENT",
            details={"measure": "BSA"},
        )
    return bsa_m2


def dose_in_basis(
    dose: Quantity, basis_unit: str, *, bsa_m2: Decimal | None = None, weight: Quantity | None = None
) -> Quantity:
    """A dose given, expressed in a basis: 690 mg at 1.84 m² → 375 mg/m² (for cumulative totals)."""
    kind = basis_kind(basis_unit)
    if kind is BasisKind.AUC:
        raise InvalidInput(
            "A dose cannot be expressed as an AUC without the GFR at the time; record carboplatin in mg.",
            code="INVALID_INPUT",
        )
    if kind is BasisKind.FLAT:
        return dose.to(basis_unit)
    numerator, denominators = split_unit(basis_unit)
    amount = magnitude(dose, join_unit(numerator, denominators[1:]), what="dose")
    if kind is BasisKind.PER_BSA:
        per = _checked_bsa(bsa_m2)
    elif weight is None:
        raise InvalidInput(f"A dose in {basis_unit} needs the patient's weight at the time.", code="MISSING_WEIGHT")
    else:
        per = weight_in_kg(weight)
    return Quantity(round_half_up(amount / per, 2), basis_unit)


def percent_deviation(ordered: Quantity, calculated: Quantity) -> Decimal:
    """(ordered − calculated) / calculated × 100, to 0.01 %; negative when the order is lower."""
    if calculated.value == 0:
        raise InvalidInput("The calculated dose is zero; a deviation from it has no meaning.", code="INVALID_INPUT")
    ordered_value = magnitude(ordered, calculated.unit, what="ordered dose")
    return round_half_up((ordered_value - calculated.value) / calculated.value * 100, 2)


def reduce_dose(dose: Quantity, percent: Decimal) -> Quantity:
    """The dose reduced by ``percent`` (25 → 75 % of the dose), to 0.01 of its unit."""
    if not 0 <= percent < 100:
        raise InvalidInput(
            f"A reduction of {percent} % is not possible; give 0 to less than 100.", code="INVALID_INPUT"
        )
    return Quantity(round_half_up(dose.value * (100 - percent) / 100, 2), dose.unit)
