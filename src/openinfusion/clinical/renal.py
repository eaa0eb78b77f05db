"""Kidney function: Cockcroft–Gault creatinine clearance and CKD-EPI 2021 eGFR.

Serum creatinine may be given in mg/dL or µmol/L (1 mg/dL = 88.4 µmol/L). A value outside
0.1–30 mg/dL is refused, naming the other unit when the number fits it (88 "mg/dL" is 1 mg/dL
typed in µmol/L). Both equations are for adults (18 and over).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from openinfusion.clinical.body import DEFAULT_ADJUSTMENT_FACTOR, Sex, body_weights, weight_in_kg
from openinfusion.clinical.units import Quantity, describe_unit, format_decimal, round_half_up
from openinfusion.errors import InvalidInput

CREATININE_UMOL_L_PER_MG_DL: Final = Decimal("88.4")
SCR_RANGE_MG_DL: Final = (Decimal("0.1"), Decimal(30))
ADULT_AGE_RANGE: Final = (18, 120)
AUTO_ADJUSTED_FROM_BMI: Final = Decimal(25)
"""The ``auto`` weight basis uses adjusted weight when BMI ≥ 25 (NCCN templates, Appendix B)."""

# CKD-EPI 2021 creatinine equation (Inker et al., NEJM 2021; NKF and NIDDK)
_CKD_EPI_KAPPA: Final = {"F": Decimal("0.7"), "M": Decimal("0.9")}
_CKD_EPI_ALPHA: Final = {"F": Decimal("-0.241"), "M": Decimal("-0.302")}
_CKD_EPI_FEMALE_FACTOR: Final = Decimal("1.012")
_STANDARD_BSA_M2: Final = Decimal("1.73")


class WeightBasis(StrEnum):
    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"
    AUTO = "auto"
    """Adjusted body weight if BMI ≥ 25, else actual."""


@dataclass(frozen=True)
class CreatinineClearance:
    ml_min: Decimal
    weight_used_kg: Decimal
    weight_basis: WeightBasis
    """The basis actually used (``auto`` resolves to ``adjusted`` or ``actual``)."""
    scr_used_mg_dl: Decimal
    scr_floor_applied: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class EstimatedGfr:
    ml_min_1_73m2: Decimal
    ml_min: Decimal | None = None
    """De-indexed to the patient's BSA (eGFR × BSA / 1.73), when a BSA was given."""
    bsa_m2: Decimal | None = None


def serum_creatinine_mg_dl(scr: Quantity) -> Decimal:
    """Serum creatinine in mg/dL (to 0.01) from mg/dL or µmol/L, refused if implausible."""
    if describe_unit(scr.unit) == "a mass concentration":
        value = scr.to("mg/dL").value
        in_mg_dl = format_decimal(scr.value / CREATININE_UMOL_L_PER_MG_DL, 2)
        other = f"{format_decimal(scr.value)} µmol/L = {in_mg_dl} mg/dL"
    elif describe_unit(scr.unit) == "a molar concentration":
        value = scr.to("umol/L").value / CREATININE_UMOL_L_PER_MG_DL
        other = f"{format_decimal(scr.value)} mg/dL"
    else:
        raise InvalidInput(
            f"Serum creatinine must be in mg/dL or µmol/L; {scr} is {describe_unit(scr.unit)}.",
            code="UNIT_DIMENSION_MISMATCH",
        )
    value = round_half_up(value, 2)
    low, high = SCR_RANGE_MG_DL
    if not low <= value <= high:
        shown = str(scr) if scr.unit == "mg/dL" else f"{scr} ({format_decimal(value)} mg/dL)"
        raise InvalidInput(
            f"A serum creatinine of {shown} is outside "
            f"{low}–{high} mg/dL. Was it {other}? Check the unit on the lab report.",
            code="IMPLAUSIBLE_MEASUREMENT",
            details={"measure": "serum creatinine"},
        )
    return value


def _require_adult(age_years: int, equation: str) -> None:
    low, high = ADULT_AGE_RANGE
    if age_years < low:
        raise InvalidInput(
            f"{equation} is validated for adults only (18 and over); use a paediatric equation "
            "such as bedside Schwartz.",
            code="ADULT_EQUATION",
        )
    if age_years > high:
        raise InvalidInput(
            f"An age of {age_years} years is not plausible; check the date of birth.",
            code="IMPLAUSIBLE_MEASUREMENT",
            details={"measure": "age"},
        )


def cockcroft_gault(
    *,
    age_years: int,
    sex: Sex,
    weight: Quantity,
    scr: Quantity,
    height: Quantity | None = None,
    weight_basis: WeightBasis = WeightBasis.ACTUAL,
    scr_floor_mg_dl: Decimal | None = None,
    adjustment_factor: Decimal = DEFAULT_ADJUSTMENT_FACTOR,
) -> CreatinineClearance:
    """CrCl (mL/min, to 0.1) = (140 − age) × weight / (72 × SCr), × 0.85 for women.

    The weight is never more than the actual weight: when the ideal or adjusted weight is higher
    (an underweight patient), the actual weight is used and a note says so.
    """
    _require_adult(age_years, "Cockcroft–Gault")
    if scr_floor_mg_dl is not None and scr_floor_mg_dl <= 0:
        raise InvalidInput(
            f"A serum creatinine floor of {scr_floor_mg_dl} mg/dL is not possible; "
            "give a positive floor such as 0.7, or none.",
            code="INVALID_POLICY",
        )
    measured = serum_creatinine_mg_dl(scr)
    floor_applied = scr_floor_mg_dl is not None and measured < scr_floor_mg_dl
    scr_used = scr_floor_mg_dl if scr_floor_mg_dl is not None and floor_applied else measured
    weight_kg, basis, warnings = _clearance_weight(weight, height, sex, weight_basis, adjustment_factor)
    crcl = (140 - age_years) * weight_kg / (72 * scr_used)
    if sex is Sex.FEMALE:
        crcl *= Decimal("0.85")
    if floor_applied:
        warnings += (
            f"Serum creatinine {format_decimal(measured)} mg/dL was raised to the floor of "
            f"{format_decimal(scr_used)} mg/dL.",
        )
    return CreatinineClearance(round_half_up(crcl, 1), weight_kg, basis, scr_used, floor_applied, warnings)


def _clearance_weight(
    weight: Quantity, height: Quantity | None, sex: Sex, basis: WeightBasis, factor: Decimal
) -> tuple[Decimal, WeightBasis, tuple[str, ...]]:
    if basis is WeightBasis.ACTUAL:
        return round_half_up(weight_in_kg(weight), 1), basis, ()
    if height is None:
        raise InvalidInput(f"The {basis.value} weight basis needs the patient's height.", code="MISSING_HEIGHT")
    weights = body_weights(height, weight, sex, adjustment_factor=factor)
    if basis is WeightBasis.AUTO:
        basis = WeightBasis.ADJUSTED if weights.bmi >= AUTO_ADJUSTED_FROM_BMI else WeightBasis.ACTUAL
    chosen = {
        WeightBasis.ACTUAL: weights.actual_kg,
        WeightBasis.IDEAL: weights.ibw_kg,
        WeightBasis.ADJUSTED: weights.adjbw_kg,
    }[basis]
    if chosen > weights.actual_kg:
        note = (
            f"The {basis.value} weight ({format_decimal(chosen)} kg) is more than the actual weight "
            f"({format_decimal(weights.actual_kg)} kg), so the actual weight was used."
        )
        return weights.actual_kg, WeightBasis.ACTUAL, (*weights.warnings, note)
    return chosen, basis, weights.warnings


def ckd_epi_2021(*, age_years: int, sex: Sex, scr: Quantity, bsa_m2: Decimal | None = None) -> EstimatedGfr:
    """eGFR (mL/min/1.73 m², whole number) by the race-free CKD-EPI 2021 creatinine equation.

    142 × min(SCr/κ, 1)^α × max(SCr/κ, 1)^−1.200 × 0.9938^age × 1.012 (women); κ 0.7 (F) / 0.9 (M),
    α −0.241 (F) / −0.302 (M). With a BSA, also de-indexed: eGFR × BSA / 1.73 (mL/min, to 0.1).
    """
    _require_adult(age_years, "CKD-EPI 2021")
    ratio = serum_creatinine_mg_dl(scr) / _CKD_EPI_KAPPA[sex.value]
    egfr = (
        142
        * min(ratio, Decimal(1)) ** _CKD_EPI_ALPHA[sex.value]
        * max(ratio, Decimal(1)) ** Decimal("-1.200")
        * Decimal("0.9938") ** age_years
    )
    if sex is Sex.FEMALE:
        egfr *= _CKD_EPI_FEMALE_FACTOR
    indexed = round_half_up(egfr, 0)
    if bsa_m2 is None:
        return EstimatedGfr(indexed)
    if bsa_m2 <= 0:
        raise InvalidInput(f"A BSA of {bsa_m2} m² is not possible.", code="IMPLAUSIBLE_MEASUREMENT")
    return EstimatedGfr(indexed, round_half_up(indexed * bsa_m2 / _STANDARD_BSA_M2, 1), bsa_m2)
