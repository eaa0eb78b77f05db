"""IV iron: the total iron deficit (Ganzoni) and a proposed dose checked against it.

Total iron deficit (mg) = weight (kg) × (target Hb − actual Hb) (g/dL) × 2.4 + iron stores (mg)
(Ganzoni 1970, as printed in the Venofer SmPC section 4.2). The factor 2.4 = 0.0034 (iron content
of haemoglobin, 0.34 %) × 0.07 (blood volume, 7 % of body weight) × 1000 (g to mg) × 10 (dL to L).

Defaults (Venofer SmPC 4.2): 35 kg and above, target Hb 15 g/dL and stores 500 mg; below 35 kg,
target Hb 13 g/dL and stores 15 mg/kg. Haemoglobin is read in g/dL, g/L (÷ 10) or mmol/L of the
haemoglobin monomer, Hb(Fe) (÷ 0.6206; the Venofer label rounds it to × 1.6). The unit list has
no g/dL, so ``hemoglobin`` and ``parse_hemoglobin`` carry a g/dL value as ten times the value in g/L.

Rounded as shown, and later steps use the shown value: weight to 0.1 kg, haemoglobin to
0.01 g/dL, iron in whole mg.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from openinfusion.clinical.body import weight_in_kg
from openinfusion.clinical.units import (
    Quantity,
    describe_unit,
    format_decimal,
    magnitude,
    parse_quantity,
    parse_unit,
    round_half_up,
)
from openinfusion.errors import InvalidInput

GANZONI_FACTOR: Final = Decimal("2.4")
"""mg of iron per kg of body weight per g/dL of haemoglobin: 0.0034 × 0.07 × 1000 × 10 (Venofer SmPC 4.2)."""
FORMULA: Final = "total iron deficit (mg) = weight (kg) × (target Hb − actual Hb) (g/dL) × 2.4 + iron stores (mg)"
CHILD_WEIGHT_BELOW_KG: Final = Decimal(35)
"""Below 35 kg the SmPC defaults are a target of 13 g/dL and stores of 15 mg/kg; from 35 kg, 15 g/dL and 500 mg."""
DEFAULT_TARGET_HB_G_DL: Final = Decimal(15)
CHILD_TARGET_HB_G_DL: Final = Decimal(13)
DEFAULT_STORES_MG: Final = Decimal(500)
CHILD_STORES_MG_PER_KG: Final = Decimal(15)
MAX_TARGET_HB_G_DL: Final = Decimal(15)
"""No label aims higher than 15 g/dL; a higher target replaces iron the patient does not lack."""
MAX_STORES_MG: Final = Decimal(1000)
MAX_STORES_MG_PER_KG: Final = Decimal(15)
"""The largest published store assumptions: 1000 mg, or 10–15 mg/kg (CADTH, Monoferric review, Table 12)."""
HB_RANGE_G_DL: Final = (Decimal(2), Decimal(25))
"""Outside this, no living patient's sample (as chart entry, ``patients.services.LAB_LIMITS``)."""
HB_MMOL_L_PER_G_DL: Final = Decimal("0.6206")
"""Haemoglobin monomer, 16 114 g/mol: g/dL × 0.6206 = mmol/L (IQTIG specification 2016)."""

_G_DL: Final = re.compile(r"\s*g\s*/\s*(?:dl|100\s*ml)\s*", re.IGNORECASE)
_HB_TEXT: Final = re.compile(r"\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>.*?)\s*")


@dataclass(frozen=True)
class IronDeficit:
    """The Ganzoni total iron deficit and every value it was computed from, as used."""

    deficit: Quantity
    """Total iron deficit in mg (whole mg): ``hb_iron`` + ``stores``."""
    hb_iron: Quantity
    """The haemoglobin part, weight × (target − actual) × 2.4, in mg (zero when Hb is at or above target)."""
    stores: Quantity
    """The iron stores added, in mg."""
    weight_kg: Decimal
    hb_g_dl: Decimal
    target_hb_g_dl: Decimal
    target_hb_default: bool
    """The target was not given: the SmPC default for the weight was used."""
    stores_default: bool
    formula: str
    """The formula with this patient's numbers, e.g. ``70 kg × (12 − 8) g/dL × 2.4 + 500 mg = 1172 mg``."""
    warnings: tuple[str, ...] = ()


class IronDoseLimit(StrEnum):
    DEFICIT = "deficit"
    """The dose is more than the calculated total iron deficit."""
    SINGLE_DOSE_MAX = "single_dose_max"
    """The dose is more than the product's maximum single dose."""


@dataclass(frozen=True)
class IronDoseExcess:
    """One limit a proposed iron dose is above, with the numbers (all in mg)."""

    limit: IronDoseLimit
    dose: Quantity
    limit_amount: Quantity
    excess: Quantity
    message: str


def hemoglobin(value: Decimal | int | str, unit: str) -> Quantity:
    """A haemoglobin as a Quantity: ``g/dL`` (held as g/L × 10), or any unit code such as g/L or mmol/L."""
    if isinstance(value, float):
        raise TypeError("hemoglobin refuses floats; pass a Decimal or text such as '8.5'")
    if _G_DL.fullmatch(unit):
        return Quantity(Decimal(value) * 10, "g/L")
    code, _ = parse_unit(unit)
    return Quantity(Decimal(value), code)


def parse_hemoglobin(text: str) -> Quantity:
    """Read ``"8 g/dL"``, ``"80 g/L"`` or ``"5 mmol/L"``; a number without its unit is refused."""
    match = _HB_TEXT.fullmatch(text)
    if match is not None and not match["unit"]:
        raise InvalidInput(
            f"The haemoglobin “{text.strip()}” has no unit: write 8 g/dL, 80 g/L or 5 mmol/L.",
            code="UNKNOWN_UNIT",
            details={"text": text},
        )
    if match is not None and _G_DL.fullmatch(match["unit"]):
        return hemoglobin(match["number"], "g/dL")
    return parse_quantity(text)


def hemoglobin_g_dl(hb: Quantity, *, what: str = "haemoglobin") -> Decimal:
    """A haemoglobin in g/dL (to 0.01) from a mass concentration or mmol/L (monomer), refused if implausible."""
    kind = describe_unit(hb.unit)
    if kind == "a mass concentration":
        value = hb.to("g/L").value / 10
    elif kind == "a molar concentration":
        value = hb.to("mmol/L").value / HB_MMOL_L_PER_G_DL
    else:
        raise InvalidInput(
            f"The {what} must be in g/dL, g/L or mmol/L; {hb} is {kind}.",
            code="UNIT_DIMENSION_MISMATCH",
            details={"measure": what, "value": str(hb)},
        )
    value = round_half_up(value, 2)
    low, high = HB_RANGE_G_DL
    if not low <= value <= high:
        raise InvalidInput(
            f"A {what} of {_shown_hb(hb, value)} is not possible (expected {low}–{high} g/dL). "
            f"{_hb_hint(hb, value)}Check the number and its unit on the lab report.",
            code="IMPLAUSIBLE_MEASUREMENT",
            details={"measure": what, "value": _shown_hb(hb, value)},
        )
    return value


def _shown_hb(hb: Quantity, g_dl: Decimal) -> str:
    shown = f"{format_decimal(g_dl)} g/dL"
    return shown if hb.unit == "g/L" else f"{shown} ({hb})"


def _hb_hint(hb: Quantity, g_dl: Decimal) -> str:
    low, high = HB_RANGE_G_DL
    if describe_unit(hb.unit) == "a molar concentration":
        return (
            "mmol/L is read per haemoglobin monomer, Hb(Fe), as laboratories report it "
            "(1 g/dL = 0.6206 mmol/L); a value per tetramer is a quarter of that. "
        )
    if g_dl > high and low <= g_dl / 10 <= high:
        return f"{format_decimal(g_dl)} g/L would be {format_decimal(g_dl / 10)} g/dL. "
    if g_dl < low and low <= g_dl * 10 <= high:
        return (
            f"{format_decimal(g_dl * 10)} g/L is {format_decimal(g_dl)} g/dL; was it {format_decimal(g_dl * 10)} g/dL? "
        )
    return ""


def total_iron_deficit(
    *, weight: Quantity, hb: Quantity, target_hb: Quantity | None = None, stores: Quantity | None = None
) -> IronDeficit:
    """Ganzoni total iron deficit (mg); the target and stores default to the SmPC values for the weight.

    When the haemoglobin is at or above the target, the haemoglobin part is zero and the deficit is
    the stores alone (iron deficiency without anaemia), with a warning to check the target.
    """
    weight_kg = round_half_up(weight_in_kg(weight), 1)
    child = weight_kg < CHILD_WEIGHT_BELOW_KG
    hb_g_dl = hemoglobin_g_dl(hb)
    target = _target_g_dl(target_hb, child)
    stores_mg, stores_text = _stores_mg(stores, weight_kg, child)
    gap = target - hb_g_dl
    warnings: tuple[str, ...] = ()
    if gap > 0:
        hb_iron = round_half_up(weight_kg * gap * GANZONI_FACTOR, 0)
        hb_text = f"({format_decimal(target)} − {format_decimal(hb_g_dl)}) g/dL"
    else:
        hb_iron, hb_text = Decimal(0), "0 g/dL (Hb at or above target)"
        warnings = (
            f"The haemoglobin {format_decimal(hb_g_dl)} g/dL is at or above the target "
            f"{format_decimal(target)} g/dL: the deficit is the iron stores only (iron deficiency without "
            "anaemia). Check the target and that the two values are not swapped.",
        )
    deficit = hb_iron + stores_mg
    formula = (
        f"{format_decimal(weight_kg)} kg × {hb_text} × {GANZONI_FACTOR} + {stores_text} = {format_decimal(deficit)} mg"
    )
    return IronDeficit(
        deficit=Quantity(deficit, "mg"),
        hb_iron=Quantity(hb_iron, "mg"),
        stores=Quantity(stores_mg, "mg"),
        weight_kg=weight_kg,
        hb_g_dl=hb_g_dl,
        target_hb_g_dl=target,
        target_hb_default=target_hb is None,
        stores_default=stores is None,
        formula=formula,
        warnings=warnings,
    )


def _target_g_dl(target_hb: Quantity | None, child: bool) -> Decimal:
    if target_hb is None:
        return CHILD_TARGET_HB_G_DL if child else DEFAULT_TARGET_HB_G_DL
    target = hemoglobin_g_dl(target_hb, what="target haemoglobin")
    if target > MAX_TARGET_HB_G_DL:
        raise InvalidInput(
            f"A target haemoglobin of {format_decimal(target)} g/dL is above {MAX_TARGET_HB_G_DL} g/dL, the "
            "highest target the labels use; it would give iron the patient does not lack. Use 15 g/dL or less.",
            code="INVALID_POLICY",
            details={"measure": "target haemoglobin", "value": str(target_hb)},
        )
    return target


def _stores_mg(stores: Quantity | None, weight_kg: Decimal, child: bool) -> tuple[Decimal, str]:
    """The iron stores in whole mg and how they read in the formula (``500 mg``, ``15 mg/kg × 30 kg``)."""
    if stores is None:
        if child:
            return _per_kg_stores(CHILD_STORES_MG_PER_KG, weight_kg)
        return DEFAULT_STORES_MG, f"{DEFAULT_STORES_MG} mg"
    kind = describe_unit(stores.unit)
    if kind == "a dose per kg of body weight":
        per_kg = stores.to("mg/kg").value
        if per_kg > MAX_STORES_MG_PER_KG:
            raise _too_many_stores(stores, f"{MAX_STORES_MG_PER_KG} mg/kg")
        return _per_kg_stores(per_kg, weight_kg)
    mg = magnitude(stores, "mg", what="iron stores (a mass such as 500 mg, or per kg such as 15 mg/kg)")
    if mg > MAX_STORES_MG:
        raise _too_many_stores(stores, f"{MAX_STORES_MG} mg")
    mg = round_half_up(mg, 0)
    return mg, f"{format_decimal(mg)} mg"


def _per_kg_stores(per_kg: Decimal, weight_kg: Decimal) -> tuple[Decimal, str]:
    mg = round_half_up(per_kg * weight_kg, 0)
    return mg, f"{format_decimal(per_kg)} mg/kg × {format_decimal(weight_kg)} kg"


def _too_many_stores(stores: Quantity, limit: str) -> InvalidInput:
    return InvalidInput(
        f"Iron stores of {stores} are more than {limit}, the largest published assumption "
        "(500 mg from 35 kg, 15 mg/kg below; some guidelines 1000 mg or 10–15 mg/kg). Check the number and unit.",
        code="INVALID_POLICY",
        details={"measure": "iron stores", "value": str(stores)},
    )


def check_iron_dose(
    dose: Quantity, deficit: Quantity, single_dose_max: Quantity | None = None
) -> tuple[IronDoseExcess, ...]:
    """Which limits a proposed single dose of iron is above (none: an empty tuple); equal is not above."""
    dose_mg = magnitude(dose, "mg", what="iron dose")
    limits = [(IronDoseLimit.DEFICIT, magnitude(deficit, "mg", what="iron deficit"), "the calculated iron deficit")]
    if single_dose_max is not None:
        if describe_unit(single_dose_max.unit) != "a mass":
            raise InvalidInput(
                f"The single-dose maximum must be a mass in mg; for {single_dose_max}, multiply by the weight first.",
                code="UNIT_DIMENSION_MISMATCH",
                details={"value": str(single_dose_max)},
            )
        limit_mg = magnitude(single_dose_max, "mg", what="single-dose maximum")
        limits.append((IronDoseLimit.SINGLE_DOSE_MAX, limit_mg, "the product's single-dose maximum"))
    return tuple(
        IronDoseExcess(
            limit=kind,
            dose=Quantity(dose_mg, "mg"),
            limit_amount=Quantity(limit_mg, "mg"),
            excess=Quantity(dose_mg - limit_mg, "mg"),
            message=(
                f"The iron dose of {format_decimal(dose_mg)} mg is above {what} of {format_decimal(limit_mg)} mg "
                f"by {format_decimal(dose_mg - limit_mg)} mg."
            ),
        )
        for kind, limit_mg, what in limits
        if dose_mg > limit_mg
    )
