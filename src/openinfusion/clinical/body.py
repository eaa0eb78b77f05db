"""Body size: body surface area (five formulas), BMI, ideal and adjusted body weight.

Every function first checks that the height and weight could belong to a person: a value no
human can have is refused (``IMPLAUSIBLE_MEASUREMENT``, naming the unit that was probably meant),
and a pair whose BMI is outside 12–60 is computed but flagged with the likely slip (inches typed
as cm, pounds as kg, height and weight swapped).

Results are rounded the way they are shown, and later steps use the shown value, so a pharmacist
can redo every step by hand: BSA to 0.01 m², BMI and weights to 0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from openinfusion.clinical.units import Quantity, display_unit, format_decimal, magnitude, round_half_up
from openinfusion.errors import InvalidInput

HEIGHT_RANGE_CM: Final = (Decimal(20), Decimal(275))
"""Outside this, no person: a premature newborn is about 25 cm, the tallest person recorded 272 cm."""
WEIGHT_RANGE_KG: Final = (Decimal("0.2"), Decimal(650))
"""Outside this, no person: the smallest surviving newborns weigh about 0.25 kg, the heaviest person 635 kg."""
BMI_PLAUSIBLE: Final = (Decimal(12), Decimal(60))
"""A BMI outside this range is computed but flagged as a probable slip."""
_BMI_TYPICAL: Final = (Decimal(15), Decimal(45))
DEFAULT_ADJUSTMENT_FACTOR: Final = Decimal("0.4")
"""AdjBW = IBW + 0.4 × (actual − IBW) (NCCN Chemotherapy Order Templates, Appendix B)."""
DEVINE_MINIMUM_HEIGHT_IN: Final = Decimal(60)
_DEVINE_BASE_KG: Final = {"M": Decimal(50), "F": Decimal("45.5")}
_DEVINE_KG_PER_INCH: Final = Decimal("2.3")

_UNIT_NAMES: Final = {
    "cm": "centimetres",
    "m": "metres",
    "in": "inches",
    "kg": "kilograms",
    "lb": "pounds",
    "g": "grams",
}


class Sex(StrEnum):
    """The sex the published equations use (Devine, Cockcroft–Gault, CKD-EPI)."""

    MALE = "M"
    FEMALE = "F"

    @classmethod
    def parse(cls, text: str) -> Sex:
        spelled = {"m": cls.MALE, "male": cls.MALE, "f": cls.FEMALE, "female": cls.FEMALE}
        try:
            return spelled[text.strip().lower()]
        except KeyError:
            raise InvalidInput(f"Sex “{text}” is not understood; write M or F.", code="UNKNOWN_SEX") from None


class BsaFormula(StrEnum):
    MOSTELLER = "mosteller"
    DUBOIS = "dubois"
    HAYCOCK = "haycock"
    GEHAN_GEORGE = "gehan-george"
    BOYD = "boyd"


def _mosteller(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    return (height_cm * weight_kg / 3600).sqrt()


def _dubois(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    return Decimal("0.007184") * height_cm ** Decimal("0.725") * weight_kg ** Decimal("0.425")


def _haycock(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    return Decimal("0.024265") * height_cm ** Decimal("0.3964") * weight_kg ** Decimal("0.5378")


def _gehan_george(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    return Decimal("0.0235") * height_cm ** Decimal("0.42246") * weight_kg ** Decimal("0.51456")


def _boyd(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    grams = weight_kg * 1000
    return (
        Decimal("0.0003207")
        * height_cm ** Decimal("0.3")
        * grams ** (Decimal("0.7285") - Decimal("0.0188") * grams.log10())
    )


_BSA_FORMULAS: Final[dict[BsaFormula, Callable[[Decimal, Decimal], Decimal]]] = {
    BsaFormula.MOSTELLER: _mosteller,
    BsaFormula.DUBOIS: _dubois,
    BsaFormula.HAYCOCK: _haycock,
    BsaFormula.GEHAN_GEORGE: _gehan_george,
    BsaFormula.BOYD: _boyd,
}


@dataclass(frozen=True)
class BodySize:
    """A checked height and weight, their BMI (0.1) and any flag about a probable slip."""

    height_cm: Decimal
    weight_kg: Decimal
    bmi: Decimal
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BodySurfaceArea:
    m2: Decimal
    formula: BsaFormula
    uncapped_m2: Decimal
    capped: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BodyWeights:
    bmi: Decimal
    actual_kg: Decimal
    ibw_kg: Decimal
    adjbw_kg: Decimal
    adjustment_factor: Decimal
    warnings: tuple[str, ...] = ()


def body_size(height: Quantity, weight: Quantity) -> BodySize:
    """Check a height and weight: refuse what no person can measure, flag a probable slip."""
    height_cm = height_in_cm(height)
    weight_kg = weight_in_kg(weight)
    bmi = weight_kg / (height_cm / 100) ** 2
    low, high = BMI_PLAUSIBLE
    warnings = () if low <= bmi <= high else (_slip_message(height, weight, bmi),)
    return BodySize(height_cm, weight_kg, round_half_up(bmi, 1), warnings)


def height_in_cm(height: Quantity) -> Decimal:
    """A person's height in cm, refused if no person could be that tall or short."""
    return _human_measure(height, "cm", HEIGHT_RANGE_CM, ("cm", "m", "in"), "height")


def weight_in_kg(weight: Quantity) -> Decimal:
    """A person's weight in kg, refused if no person could weigh that."""
    return _human_measure(weight, "kg", WEIGHT_RANGE_KG, ("kg", "lb", "g"), "weight")


def _human_measure(
    quantity: Quantity, base: str, limits: tuple[Decimal, Decimal], units: tuple[str, ...], what: str
) -> Decimal:
    value = magnitude(quantity, base, what=what)
    low, high = limits
    if low <= value <= high:
        return value
    meant = [Quantity(quantity.value, unit) for unit in units if unit != quantity.unit]
    plausible = [str(q) for q in meant if low <= q.to(base).value <= high]
    guess = f" Did you mean {' or '.join(plausible)}?" if plausible else ""
    raise InvalidInput(
        f"A {what} of {quantity} is not possible for a person (expected {low}–{high} {base}).{guess} "
        "Check the number and its unit.",
        code="IMPLAUSIBLE_MEASUREMENT",
        details={"measure": what, "value": str(quantity)},
    )


HEIGHT_FOR_AGE_CM: Final[tuple[tuple[int, int, int], ...]] = (
    (0, 40, 85),
    (1, 65, 95),
    (2, 75, 105),
    (3, 82, 113),
    (4, 88, 120),
    (5, 94, 127),
    (6, 99, 134),
    (7, 104, 140),
    (8, 109, 146),
    (9, 113, 152),
    (10, 117, 158),
    (11, 121, 165),
    (12, 126, 172),
    (13, 130, 180),
    (14, 134, 186),
    (15, 137, 190),
    (16, 139, 193),
    (17, 140, 195),
    (18, 120, 220),
)
"""(age in whole years, lowest, highest plausible height in cm): screening bounds set well outside
the 3rd–97th percentiles of the WHO length-for-age (0–2 years) and CDC 2000 stature-for-age
(2–20 years, both sexes) growth charts, so only a slip or a condition worth confirming falls
outside them (https://www.cdc.gov/growthcharts/cdc-charts.htm ; https://www.who.int/tools/child-growth-standards).
Adults: 120–220 cm. A warning for the verifying pharmacist, never a refusal."""


def height_range_for_age(age_years: int) -> tuple[Decimal, Decimal]:
    """The heights (cm) expected at this age; outside them the pharmacist is asked to confirm."""
    row = next(r for r in reversed(HEIGHT_FOR_AGE_CM) if r[0] <= max(age_years, 0))
    return Decimal(row[1]), Decimal(row[2])


def _slip_message(height: Quantity, weight: Quantity, bmi: Decimal) -> str:
    low, high = BMI_PLAUSIBLE
    head = (
        f"Height {height} with weight {weight} gives a BMI of {format_decimal(bmi, 1)}, "
        f"outside the plausible {low}–{high}."
    )
    likely = [
        f"{slip} ({meant_height} and {meant_weight} would give a BMI of {format_decimal(meant_bmi, 1)})"
        for slip, meant_height, meant_weight in _slips(height, weight)
        if (meant_bmi := _plausible_bmi(meant_height, meant_weight)) is not None
    ]
    if likely:
        joined = "; or ".join(likely)
        return f"{head} {joined[0].upper()}{joined[1:]}. Correct the measurement before dosing."
    return f"{head} Check both measurements before dosing."


def _slips(height: Quantity, weight: Quantity) -> Iterator[tuple[str, Quantity, Quantity]]:
    def name(unit: str) -> str:
        return _UNIT_NAMES.get(unit, display_unit(unit))

    other_heights = [u for u in ("cm", "m", "in") if u != height.unit]
    other_weights = [u for u in ("kg", "lb") if u != weight.unit]
    for unit in other_heights:
        yield (
            f"the height looks like {name(unit)} entered as {name(height.unit)}",
            Quantity(height.value, unit),
            weight,
        )
    for unit in other_weights:
        yield (
            f"the weight looks like {name(unit)} entered as {name(weight.unit)}",
            height,
            Quantity(weight.value, unit),
        )
    if height.unit in ("cm", "in") and weight.unit in ("kg", "lb"):
        yield (
            "height and weight look swapped",
            Quantity(weight.value, height.unit),
            Quantity(height.value, weight.unit),
        )
    for h_unit in other_heights:
        for w_unit in other_weights:
            yield (
                f"the height and weight look like {name(h_unit)} and {name(w_unit)} entered as "
                f"{name(height.unit)} and {name(weight.unit)}",
                Quantity(height.value, h_unit),
                Quantity(weight.value, w_unit),
            )


def _plausible_bmi(height: Quantity, weight: Quantity) -> Decimal | None:
    height_cm, weight_kg = height.to("cm").value, weight.to("kg").value
    if not HEIGHT_RANGE_CM[0] <= height_cm <= HEIGHT_RANGE_CM[1]:
        return None
    bmi = weight_kg / (height_cm / 100) ** 2
    return bmi if _BMI_TYPICAL[0] <= bmi <= _BMI_TYPICAL[1] else None


def body_mass_index(height: Quantity, weight: Quantity) -> Decimal:
    """BMI = weight (kg) / height (m)², to 0.1 kg/m²."""
    return body_size(height, weight).bmi


def body_surface_area(
    height: Quantity, weight: Quantity, formula: BsaFormula = BsaFormula.MOSTELLER, *, cap_m2: Decimal | None = None
) -> BodySurfaceArea:
    """BSA in m² (to 0.01) by the chosen formula, optionally capped (e.g. at 2 m² by local policy)."""
    if cap_m2 is not None and cap_m2 <= 0:
        raise InvalidInput(
            f"A BSA cap of {cap_m2} m² is not possible; give a positive cap or none.", code="INVALID_POLICY"
        )
    size = body_size(height, weight)
    uncapped = round_half_up(_BSA_FORMULAS[formula](size.height_cm, size.weight_kg), 2)
    capped = cap_m2 is not None and uncapped > cap_m2
    value = cap_m2 if cap_m2 is not None and capped else uncapped
    return BodySurfaceArea(value, formula, uncapped, capped, size.warnings)


def ideal_body_weight(height: Quantity, sex: Sex) -> Decimal:
    """Devine (1974): 50 kg (men) or 45.5 kg (women) + 2.3 kg per inch over 60 in; to 0.1 kg."""
    inches = _inches(height)
    ibw = _DEVINE_BASE_KG[sex.value] + _DEVINE_KG_PER_INCH * (inches - DEVINE_MINIMUM_HEIGHT_IN)
    if ibw <= 0:
        raise InvalidInput(
            f"The Devine ideal body weight is not defined for a height of {height}; use actual weight.",
            code="FORMULA_OUT_OF_RANGE",
        )
    return round_half_up(ibw, 1)


def _inches(height: Quantity) -> Decimal:
    return Quantity(height_in_cm(height), "cm").to("in").value


def adjusted_body_weight(ibw_kg: Decimal, actual_kg: Decimal, factor: Decimal = DEFAULT_ADJUSTMENT_FACTOR) -> Decimal:
    """AdjBW = IBW + factor × (actual − IBW), to 0.1 kg."""
    if not 0 <= factor <= 1:
        raise InvalidInput(
            f"An adjustment factor of {factor} is not possible; use a value from 0 to 1 (0.4 is usual).",
            code="INVALID_POLICY",
        )
    return round_half_up(ibw_kg + factor * (actual_kg - ibw_kg), 1)


def body_weights(
    height: Quantity, weight: Quantity, sex: Sex, *, adjustment_factor: Decimal = DEFAULT_ADJUSTMENT_FACTOR
) -> BodyWeights:
    """BMI, actual, ideal (Devine) and adjusted body weight, with any flags."""
    size = body_size(height, weight)
    ibw = ideal_body_weight(height, sex)
    actual = round_half_up(size.weight_kg, 1)
    warnings = size.warnings
    if _inches(height) < DEVINE_MINIMUM_HEIGHT_IN:
        warnings += (
            "The Devine formula is not validated below 60 in (152.4 cm); consider actual weight for this patient.",
        )
    adjbw = adjusted_body_weight(ibw, actual, adjustment_factor)
    return BodyWeights(size.bmi, actual, ibw, adjbw, adjustment_factor, warnings)
