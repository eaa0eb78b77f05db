"""Decision support for one order: pure functions over frozen facts, no Django, no clock.

``check(facts)`` recalculates the dose from its basis with the patient's current measurements and
returns every finding with a stable code, a severity and the numbers behind it. A hard stop blocks
verification until the order is corrected; a warning needs a pharmacist's override reason; an info
finding needs nothing. The services build the facts from the database (``orders.facts``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final

from openinfusion.clinical import body, dosing, iron, renal, rounding
from openinfusion.clinical.allergy import Allergy, Match, Table, matches
from openinfusion.clinical.cumulative import CumulativeDose, cumulative_dose
from openinfusion.clinical.units import Quantity, conversion_factor, format_decimal, magnitude, split_unit
from openinfusion.errors import DomainError

DEVIATION_WARN_PCT: Final = Decimal(5)
"""Default: warn when the ordered dose differs from the calculated one by more than 5 %."""
DEVIATION_STOP_RATIO: Final = Decimal(2)
"""An ordered dose twice the calculated one (or half of it) is a slip, not a choice: hard stop."""
WEIGHT_MAX_AGE: Final = dt.timedelta(days=30)
WEIGHT_CHANGE_PCT: Final = Decimal(10)
RENAL_CRCL_ML_MIN: Final = Decimal(60)
DUPLICATE_WINDOW: Final = dt.timedelta(hours=12)
USUAL_MAX_STOP_RATIO: Final = Decimal(3)
"""A dose three times the top of the drug's usual range is a slip (a 10× error always lands here):
hard stop. Between the top of the range and three times it, a warning asks for the reason."""
INFUSED_ROUTES: Final = frozenset({"IV"})
"""Routes given through a pump, which need a rate (a duration) to be programmed and checked (not IV push,
SC or IM). The bedside uses the same set."""


class Severity(StrEnum):
    HARD_STOP = "hard_stop"
    WARNING = "warning"
    INFO = "info"


class Code(StrEnum):
    IMPLAUSIBLE_MEASUREMENT = "IMPLAUSIBLE_MEASUREMENT"
    MEASUREMENT_MISSING = "MEASUREMENT_MISSING"
    STALE_MEASUREMENT = "STALE_MEASUREMENT"
    DOSE_DEVIATION = "DOSE_DEVIATION"
    UNIT_MISMATCH = "UNIT_MISMATCH"
    DOSE_ABOVE_MAX = "DOSE_ABOVE_MAX"
    CUMULATIVE_LIMIT = "CUMULATIVE_LIMIT"
    LAB_HOLD = "LAB_HOLD"
    LAB_MISSING = "LAB_MISSING"
    RENAL_DOSING = "RENAL_DOSING"
    ALLERGY = "ALLERGY"
    DUPLICATE_THERAPY = "DUPLICATE_THERAPY"
    CYCLE_TOO_EARLY = "CYCLE_TOO_EARLY"
    ROUTE_FORBIDDEN = "ROUTE_FORBIDDEN"
    DILUENT_INCOMPATIBLE = "DILUENT_INCOMPATIBLE"
    CONCENTRATION_OUT_OF_RANGE = "CONCENTRATION_OUT_OF_RANGE"
    INDICATION_MISMATCH = "INDICATION_MISMATCH"
    ROUNDING_AVAILABLE = "ROUNDING_AVAILABLE"
    INVALID_DOSE = "INVALID_DOSE"
    BASIS_MISMATCH = "BASIS_MISMATCH"
    DOSE_ABOVE_USUAL = "DOSE_ABOVE_USUAL"
    RATE_MISSING = "RATE_MISSING"
    IRON_ABOVE_DEFICIT = "IRON_ABOVE_DEFICIT"


@dataclass(frozen=True)
class Finding:
    code: Code
    severity: Severity
    message: str
    numbers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    quantity: Quantity
    taken_at: dt.datetime


@dataclass(frozen=True)
class LabValue:
    value: Decimal
    unit: str
    taken_at: dt.datetime

    def __str__(self) -> str:
        return f"{format_decimal(self.value)} {self.unit}"


@dataclass(frozen=True)
class DrugFacts:
    key: str
    name: str
    drug_class: str = ""
    routes_allowed: tuple[str, ...] = ()
    routes_forbidden: tuple[str, ...] = ()
    max_single_dose: Quantity | None = None
    lifetime_limit: Quantity | None = None
    rounding_threshold_pct: Decimal | None = None
    deviation_warn_pct: Decimal = DEVIATION_WARN_PCT
    compatible_diluents: tuple[str, ...] = ()
    incompatible_diluents: tuple[str, ...] = ()
    concentration_min: Decimal | None = None
    concentration_max: Decimal | None = None
    concentration_unit: str = ""
    renal_adjustment: bool = False
    vial_sizes: tuple[Quantity, ...] = ()
    dose_basis: str = ""
    """The formulary's basis: flat, mg/m2, mg/kg, units/kg or AUC (empty: not given)."""
    usual_dose: tuple[Quantity, Quantity] | None = None
    """The usual range per dose, in the unit of its basis (85–130 mg/m², 8–16 mg)."""
    alternate_usual_doses: tuple[tuple[Quantity, Quantity], ...] = ()
    """The usual range in another basis (rituximab 375 mg/m² in lymphoma, 1000 mg flat in RA)."""
    standard_minutes: int | None = None
    """The formulary's usual infusion time (the shortest), used when the order gives none."""
    category: str = ""

    @property
    def dosed_in(self) -> str:
        """The unit the drug's amount is measured in (mg for 85 mg/m², mEq for potassium)."""
        return "" if self.usual_dose is None else _amount_unit(self.usual_dose[0].unit)


@dataclass(frozen=True)
class HoldRule:
    lab: str
    op: str
    value: Decimal
    unit: str

    def breached_by(self, value: Decimal) -> bool:
        return value < self.value if self.op == "<" else value > self.value

    def __str__(self) -> str:
        return f"{self.lab.upper()} {self.op} {format_decimal(self.value)} {self.unit}"


@dataclass(frozen=True)
class PriorDose:
    """A dose this patient already had of the same drug (for cumulative totals)."""

    dose: Quantity
    bsa_m2: Decimal | None = None
    weight: Quantity | None = None


@dataclass(frozen=True)
class OtherOrder:
    order_id: int
    drug_key: str
    drug_class: str
    planned_start: dt.datetime
    same_plan_day: bool = False


@dataclass(frozen=True)
class OrderFacts:
    drug: DrugFacts
    dose: Quantity
    route: str
    planned_start: dt.datetime
    now: dt.datetime
    basis: Quantity | None = None
    reduction_pct: Decimal = Decimal(0)
    max_dose: Quantity | None = None
    diluent_key: str | None = None
    volume_ml: Decimal | None = None
    # the patient
    age_years: int = 50
    sex: body.Sex = body.Sex.FEMALE
    height: Observed | None = None
    weight: Observed | None = None
    plan_weight_kg: Decimal | None = None
    bsa_formula: body.BsaFormula = body.BsaFormula.MOSTELLER
    weight_basis: renal.WeightBasis = renal.WeightBasis.ACTUAL
    labs: dict[str, LabValue] = field(default_factory=dict)
    allergies: tuple[Allergy, ...] = ()
    allergy_groups: Table = field(default_factory=Table)
    duration_minutes: int | None = None
    allowed_bases: tuple[str, ...] = ()
    """Bases the dose may be written in: the regimen line's, else the drug's and the library's."""
    regimen_name: str = ""
    diagnoses: tuple[str, ...] = ()
    # the regimen and the history
    indications: tuple[str, ...] = ()
    hold_rules: tuple[HoldRule, ...] = ()
    required_labs: tuple[str, ...] = ()
    lab_max_age: dt.timedelta = dt.timedelta(days=3)
    cycle_days: int | None = None
    previous_cycle_start: dt.datetime | None = None
    prior_doses: tuple[PriorDose, ...] = ()
    other_orders: tuple[OtherOrder, ...] = ()


@dataclass(frozen=True)
class Calculation:
    """The dose the basis gives today, with every input used."""

    dose: Quantity | None
    inputs: dict[str, str]


@dataclass(frozen=True)
class Review:
    calculation: Calculation
    findings: tuple[Finding, ...]

    @property
    def hard_stops(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.HARD_STOP)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)


def check(facts: OrderFacts) -> Review:
    """Every finding for one order, with the calculation they were made against."""
    findings: list[Finding] = []
    calculation = _calculate(facts, findings)
    for rule in RULES:
        findings.extend(rule(facts, calculation))
    findings.extend(rounding_available(facts, calculation, findings))
    return Review(calculation, tuple(findings))


def _calculate(facts: OrderFacts, findings: list[Finding]) -> Calculation:
    inputs: dict[str, str] = {}
    if facts.basis is None:
        return Calculation(None, inputs)
    inputs["basis"] = str(facts.basis)
    kind = dosing.basis_kind(facts.basis.unit)
    try:
        bsa, weight, gfr = _patient_inputs(facts, kind, inputs)
        calculated = dosing.dose_from_basis(
            facts.basis,
            bsa_m2=bsa,
            weight=weight,
            gfr_ml_min=gfr,
            max_dose=facts.max_dose or facts.drug.max_single_dose,
        )
    except DomainError as error:
        code = Code(error.code) if error.code in Code.__members__ else Code.MEASUREMENT_MISSING
        findings.append(Finding(code, Severity.HARD_STOP, f"{error.message} The dose cannot be checked.", inputs))
        return Calculation(None, inputs)
    dose = calculated.dose
    if facts.reduction_pct:
        dose = dosing.reduce_dose(dose, facts.reduction_pct)
        inputs["reduction"] = f"{format_decimal(facts.reduction_pct)} %"
    if calculated.capped_at_max:
        inputs["capped_at"] = str(calculated.dose)
    inputs["calculated"] = str(dose)
    return Calculation(dose, inputs)


def _patient_inputs(
    facts: OrderFacts, kind: dosing.BasisKind, inputs: dict[str, str]
) -> tuple[Decimal | None, Quantity | None, Decimal | None]:
    bsa = weight = gfr = None
    if kind in (dosing.BasisKind.PER_BSA, dosing.BasisKind.PER_WEIGHT, dosing.BasisKind.AUC):
        weight = _required(facts.weight, "weight").quantity
        inputs["weight"] = str(weight)
    if kind is dosing.BasisKind.PER_BSA:
        height = _required(facts.height, "height").quantity
        assert weight is not None
        area = body.body_surface_area(height, weight, facts.bsa_formula)
        bsa = area.m2
        inputs.update(height=str(height), bsa_m2=format_decimal(bsa), bsa_formula=facts.bsa_formula.value)
    if kind is dosing.BasisKind.AUC:
        gfr = _clearance(facts, inputs)
    return bsa, weight, gfr


def _required(observed: Observed | None, what: str) -> Observed:
    if observed is None:
        raise DomainError(f"No {what} is recorded for this patient.", code="MEASUREMENT_MISSING")
    return observed


def _clearance(facts: OrderFacts, inputs: dict[str, str]) -> Decimal:
    scr = facts.labs.get("scr")
    if scr is None or facts.weight is None:
        raise DomainError("No serum creatinine is recorded, so the GFR for Calvert is unknown.", code="LAB_MISSING")
    clearance = renal.cockcroft_gault(
        age_years=facts.age_years,
        sex=facts.sex,
        weight=facts.weight.quantity,
        scr=Quantity(scr.value, scr.unit),
        height=facts.height.quantity if facts.height else None,
        weight_basis=facts.weight_basis,
    )
    inputs.update(scr=str(scr), crcl_ml_min=format_decimal(clearance.ml_min), age=str(facts.age_years))
    return clearance.ml_min


Rule = Callable[[OrderFacts, Calculation], Iterator[Finding]]


def stale_measurement(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    if facts.basis is None or facts.weight is None or dosing.basis_kind(facts.basis.unit) is dosing.BasisKind.FLAT:
        return
    age = facts.now - facts.weight.taken_at
    if age > WEIGHT_MAX_AGE:
        yield Finding(
            Code.STALE_MEASUREMENT,
            Severity.WARNING,
            f"The weight used is {age.days} days old (taken {facts.weight.taken_at:%Y-%m-%d}). Weigh the patient.",
            {"weight": str(facts.weight.quantity), "age_days": str(age.days)},
        )
    if facts.plan_weight_kg:
        now_kg = magnitude(facts.weight.quantity, "kg", what="weight")
        change = (now_kg - facts.plan_weight_kg) / facts.plan_weight_kg * 100
        if abs(change) > WEIGHT_CHANGE_PCT:
            yield Finding(
                Code.STALE_MEASUREMENT,
                Severity.WARNING,
                f"Weight changed {format_decimal(change, 1)} % since the plan was written "
                f"({format_decimal(facts.plan_weight_kg)} kg → {format_decimal(now_kg)} kg). Recalculate the doses.",
                {"plan_weight_kg": format_decimal(facts.plan_weight_kg), "weight_kg": format_decimal(now_kg)},
            )


def invalid_dose(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    """A dose of nothing, or a volume or time of nothing, cannot be prepared or given."""
    if facts.dose.value == 0:
        yield Finding(
            Code.INVALID_DOSE,
            Severity.HARD_STOP,
            f"The dose is {facts.dose}: nothing would be given. Return the order to the prescriber.",
            {"ordered": str(facts.dose)},
        )
    if facts.volume_ml is not None and facts.volume_ml <= 0:
        yield Finding(
            Code.INVALID_DOSE,
            Severity.HARD_STOP,
            f"The final volume is {format_decimal(facts.volume_ml)} mL; a bag holds more than 0 mL. "
            "Return the order to the prescriber.",
            {"volume_ml": format_decimal(facts.volume_ml)},
        )
    if facts.duration_minutes is not None and facts.duration_minutes <= 0:
        yield Finding(
            Code.INVALID_DOSE,
            Severity.HARD_STOP,
            f"The infusion time is {facts.duration_minutes} min; give a time of more than 0 minutes.",
            {"duration_minutes": str(facts.duration_minutes)},
        )


def _same_kind(unit: str, other: str) -> bool:
    try:
        conversion_factor(unit, other)
    except DomainError:
        return False
    return True


def _amount_unit(unit: str) -> str:
    """The amount part of a dose or basis unit: mg for mg/m² or mg/h, mg for an AUC."""
    return "mg" if dosing.basis_kind(unit) is dosing.BasisKind.AUC else split_unit(unit)[0]


def _in_dosing_unit(facts: OrderFacts) -> bool:
    dosed_in = facts.drug.dosed_in
    return not dosed_in or _same_kind(_amount_unit(facts.dose.unit), dosed_in)


def dose_unit(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    """A dose must be measured the way the drug is dosed (the formulary's usual dose): 8 mL of
    ondansetron or 450 mL of carboplatin is a volume for a drug given by mass."""
    dosed_in = facts.drug.dosed_in
    written = [facts.dose] + ([facts.basis] if facts.basis is not None else [])
    for quantity in written:
        if dosed_in and not _same_kind(_amount_unit(quantity.unit), dosed_in):
            yield Finding(
                Code.UNIT_MISMATCH,
                Severity.HARD_STOP,
                f"{facts.drug.name} is dosed in {dosed_in}, but the order says {quantity}. "
                f"Return the order to the prescriber to write the dose in {dosed_in}.",
                {"ordered": str(quantity), "dosed_in": dosed_in},
            )
            return


def _kind_of_basis(basis: str) -> dosing.BasisKind:
    unit = {"AUC": dosing.AUC_UNIT, "flat": "mg"}.get(basis, basis)
    return dosing.basis_kind(unit)


_BASIS_WORDS: Final = {
    dosing.BasisKind.FLAT: "a flat dose",
    dosing.BasisKind.PER_BSA: "per m² of body surface",
    dosing.BasisKind.PER_WEIGHT: "per kg of body weight",
    dosing.BasisKind.AUC: "by target AUC (Calvert)",
}


def basis_mismatch(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    """A basis the regimen (or, for a single order, the drug and the library) does not use is a slip:
    oxaliplatin written as 85 mg/kg where the regimen says 85 mg/m² gives 14,450 mg."""
    allowed = facts.allowed_bases or ((facts.drug.dose_basis,) if facts.drug.dose_basis else ())
    if facts.basis is None or not allowed:
        return
    kind = dosing.basis_kind(facts.basis.unit)
    kinds = {_kind_of_basis(b) for b in allowed}
    if kind not in kinds:
        where = f"the regimen {facts.regimen_name}" if facts.regimen_name else "the formulary and the regimen library"
        expected = " or ".join(sorted(_BASIS_WORDS[k] for k in kinds))
        yield Finding(
            Code.BASIS_MISMATCH,
            Severity.HARD_STOP,
            f"{facts.drug.name} is written as {facts.basis} ({_BASIS_WORDS[kind]}), but {where} doses it "
            f"{expected}. Return the order to the prescriber.",
            {"basis": str(facts.basis), "expected": ", ".join(sorted(allowed))},
        )


def _per_basis(facts: OrderFacts, calc: Calculation, unit: str) -> Decimal | None:
    """The ordered dose in the unit of the drug's usual range (mg, mg/m², mg/kg, AUC), if it can be known."""
    kind = dosing.basis_kind(unit)
    if kind is dosing.BasisKind.AUC:
        if facts.basis is not None and dosing.basis_kind(facts.basis.unit) is kind:
            return facts.basis.value
        return None
    bsa = Decimal(calc.inputs["bsa_m2"]) if "bsa_m2" in calc.inputs else None
    if kind is dosing.BasisKind.PER_BSA and bsa is None and facts.height and facts.weight:
        try:
            bsa = body.body_surface_area(facts.height.quantity, facts.weight.quantity, facts.bsa_formula).m2
        except DomainError:
            return None
    weight = facts.weight.quantity if facts.weight else None
    try:
        return _in_limit_unit(facts.dose, unit, bsa, weight).value
    except (DomainError, AssertionError):
        return None


def _written_per_basis(facts: OrderFacts, unit: str) -> Decimal | None:
    """The basis as written, in the unit of a usual range of the same kind (45 mg/kg against 15 mg/kg)."""
    basis = facts.basis
    if basis is None or dosing.basis_kind(basis.unit) is not dosing.basis_kind(unit):
        return None
    try:
        return magnitude(basis, unit, what="basis")
    except DomainError:
        return None


def _above_usual(facts: OrderFacts, calc: Calculation) -> tuple[Decimal, Decimal, Quantity, Quantity] | None:
    """(value, ratio, low, high) of the order against its drug's usual ranges, or None if within them.

    The basis as written must lie within a usual range of its own kind (45 mg/kg of an iron given at
    15 mg/kg is a slip even when the 1000 mg cap saves this patient, not a lighter one), and the dose
    it gives within one of the ranges (rituximab 1000 mg flat in RA, 375 mg/m² in lymphoma): the worse
    of the two counts."""
    ranges = [r for r in (facts.drug.usual_dose, *facts.drug.alternate_usual_doses) if r is not None]

    def closest(values: list[tuple[Decimal | None, Quantity, Quantity]]) -> tuple[Decimal, Decimal, Quantity, Quantity]:
        found = [(v, v / high.value, low, high) for v, low, high in values if v is not None and high.value > 0]
        return min(found, key=lambda r: r[1]) if found else (Decimal(0), Decimal(0), *ranges[0])

    written = closest([(_written_per_basis(facts, high.unit), low, high) for low, high in ranges])
    given = closest([(_per_basis(facts, calc, high.unit), low, high) for low, high in ranges])
    worse = max(written, given, key=lambda r: r[1])
    return None if worse[1] <= 1 else worse


def _unmeasured(facts: OrderFacts, calc: Calculation) -> str:
    """What is missing to compare a dose with the drug's usual ranges ('' when one can be compared):
    a flat 1500 mg of a drug dosed per m² cannot be judged without the patient's height."""
    ranges = [r for r in (facts.drug.usual_dose, *facts.drug.alternate_usual_doses) if r is not None]
    if any(_per_basis(facts, calc, high.unit) is not None for _, high in ranges):
        return ""
    kinds = {dosing.basis_kind(high.unit) for _, high in ranges}
    if dosing.BasisKind.PER_BSA in kinds and (facts.height is None or facts.weight is None):
        return (
            "height and weight"
            if facts.height is None and facts.weight is None
            else ("height" if facts.height is None else "weight")
        )
    if dosing.BasisKind.PER_WEIGHT in kinds and facts.weight is None:
        return "weight"
    return ""


def dose_above_usual(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    """Above the drug's usual range is a warning; three times its top is a hard stop no reason lifts.
    A dose that cannot be compared for want of a measurement is a hard stop too."""
    if facts.drug.usual_dose is None or not _in_dosing_unit(facts):
        return
    if facts.basis is None and (missing := _unmeasured(facts, calc)):
        yield Finding(
            Code.MEASUREMENT_MISSING,
            Severity.HARD_STOP,
            f"{facts.drug.name} is dosed by body size, and no {missing} is recorded: {facts.dose} cannot be "
            f"checked against its usual range. Record the {missing} first.",
            {"ordered": str(facts.dose), "missing": missing},
        )
        return
    above = _above_usual(facts, calc)
    if above is None:
        return
    value, ratio, low, high = above
    numbers = {"ordered": str(facts.dose), "per_basis": str(Quantity(value, high.unit)), "usual_max": str(high)}
    numbers["ratio"] = format_decimal(ratio, 2)
    if ratio >= USUAL_MAX_STOP_RATIO:
        yield Finding(
            Code.DOSE_ABOVE_USUAL,
            Severity.HARD_STOP,
            f"{facts.dose} is {Quantity(value, high.unit)}, {format_decimal(ratio, 1)} × the top of the usual "
            f"range of {facts.drug.name} ({format_decimal(low.value)}–{high}): a slip, not a choice. "
            "Return the order to the prescriber.",
            numbers,
        )
    else:
        yield Finding(
            Code.DOSE_ABOVE_USUAL,
            Severity.WARNING,
            f"{facts.dose} is {Quantity(value, high.unit)}, above the usual range of {facts.drug.name} "
            f"({format_decimal(low.value)}–{high}). Confirm it with the protocol.",
            numbers,
        )


def rate_missing(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    """An infusion without a duration (and no standard time in the formulary) cannot be programmed or
    checked at the pump. A fluid dosed by volume has no standard time: it depends on the volume."""
    by_volume = _same_kind(facts.drug.dosed_in, "mL") if facts.drug.dosed_in else False
    standard = None if by_volume else facts.drug.standard_minutes
    if facts.route.strip() not in INFUSED_ROUTES or facts.duration_minutes or standard:
        return
    yield Finding(
        Code.RATE_MISSING,
        Severity.HARD_STOP,
        f"No infusion time is given and the formulary has no standard time for {facts.drug.name} at this "
        "volume: the pump "
        "rate cannot be set or checked. Return the order to the prescriber to add the duration.",
        {"route": facts.route},
    )


def body_size_plausible(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    """A height and weight confirmed at the chart still drive this dose: show the verifier a body size
    no adult or child of this age usually has (BMI outside 12–60, height out of range for the age)."""
    if facts.basis is None or calc.dose is None or dosing.basis_kind(facts.basis.unit) is dosing.BasisKind.FLAT:
        return  # no calculation, or one the measurements could not make: its own hard stop names why
    if facts.height is None or facts.weight is None:
        return
    try:
        size = body.body_size(facts.height.quantity, facts.weight.quantity)
    except DomainError:
        return  # the calculation's hard stop names it
    low, high = body.height_range_for_age(facts.age_years)
    numbers = {"height": str(facts.height.quantity), "weight": str(facts.weight.quantity), "bmi": str(size.bmi)}
    if size.warnings:
        yield Finding(
            Code.IMPLAUSIBLE_MEASUREMENT,
            Severity.WARNING,
            f"BMI {size.bmi} from {facts.height.quantity} and {facts.weight.quantity} is outside 12–60; "
            "this dose is calculated from them. Re-measure or confirm before verifying.",
            numbers,
        )
    if not low <= size.height_cm <= high:
        yield Finding(
            Code.IMPLAUSIBLE_MEASUREMENT,
            Severity.WARNING,
            f"A height of {facts.height.quantity} is outside {low}–{high} cm, the range expected at "
            f"{facts.age_years} years; this dose is calculated from it. Re-measure or confirm before verifying.",
            numbers,
        )


def dose_against_calculation(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    if calc.dose is None or not _in_dosing_unit(facts):
        return
    numbers = {"ordered": str(facts.dose), "calculated": str(calc.dose)}
    try:
        factor = conversion_factor(facts.dose.unit, calc.dose.unit)
    except DomainError:
        yield Finding(
            Code.UNIT_MISMATCH,
            Severity.HARD_STOP,
            f"The order is in {facts.dose.unit} but the basis gives {calc.dose.unit}; these cannot be compared. "
            "Return the order to the prescriber.",
            numbers,
        )
        return
    ordered = facts.dose.value * factor
    ratio = ordered / calc.dose.value
    if facts.dose.unit != calc.dose.unit and (ratio < Decimal("0.002") or ratio > 500):
        yield Finding(
            Code.UNIT_MISMATCH,
            Severity.HARD_STOP,
            f"{facts.dose} is {format_decimal(ratio, 4)} × the calculated {calc.dose}: probably {calc.dose.unit} "
            f"was meant, not {facts.dose.unit}. Return the order to the prescriber.",
            numbers,
        )
        return
    deviation = (ratio - 1) * 100
    numbers["deviation_pct"] = format_decimal(deviation, 1)
    if ratio >= DEVIATION_STOP_RATIO or ratio <= 1 / DEVIATION_STOP_RATIO:
        yield Finding(
            Code.DOSE_DEVIATION,
            Severity.HARD_STOP,
            f"Ordered {facts.dose} is {format_decimal(ratio, 2)} × the calculated {calc.dose}: a slip, not a "
            "rounding. Return the order to the prescriber.",
            numbers,
        )
    elif abs(deviation) > facts.drug.deviation_warn_pct:
        yield Finding(
            Code.DOSE_DEVIATION,
            Severity.WARNING,
            f"Ordered {facts.dose} differs {format_decimal(deviation, 1)} % from the calculated {calc.dose} "
            f"(policy {format_decimal(facts.drug.deviation_warn_pct)} %).",
            numbers,
        )


def dose_above_max(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    cap = facts.max_dose or facts.drug.max_single_dose
    if cap is None:
        return
    try:
        over = magnitude(facts.dose, cap.unit, what="ordered dose") > cap.value
    except DomainError:
        return  # a dose in another dimension is UNIT_MISMATCH's finding
    if over:
        yield Finding(
            Code.DOSE_ABOVE_MAX,
            Severity.HARD_STOP,
            f"{facts.dose} is above the maximum single dose of {facts.drug.name}, {cap}.",
            {"ordered": str(facts.dose), "max": str(cap)},
        )


def cumulative_total(facts: OrderFacts, calc: Calculation) -> CumulativeDose | None:
    """Lifetime total of the drug before and after this dose, in the limit's unit (None: no limit)."""
    limit = facts.drug.lifetime_limit
    if limit is None:
        return None
    given = [_in_limit_unit(p.dose, limit.unit, p.bsa_m2, p.weight) for p in facts.prior_doses]
    bsa = Decimal(calc.inputs["bsa_m2"]) if "bsa_m2" in calc.inputs else None
    weight = facts.weight.quantity if facts.weight else None
    return cumulative_dose(given, limit, _in_limit_unit(facts.dose, limit.unit, bsa, weight))


def cumulative_limit(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    try:
        total = cumulative_total(facts, calc)
    except DomainError as error:
        yield Finding(Code.CUMULATIVE_LIMIT, Severity.WARNING, f"Cumulative dose cannot be totalled: {error.message}")
        return
    if total is not None and total.exceeds_limit:
        yield Finding(
            Code.CUMULATIVE_LIMIT,
            Severity.WARNING,
            f"Lifetime {facts.drug.name} would reach {total.after} with this dose, over the limit of {total.limit} "
            f"by {total.over_by}.",
            {"before": str(total.before), "after": str(total.after), "limit": str(total.limit)},
        )


def _in_limit_unit(dose: Quantity, unit: str, bsa: Decimal | None, weight: Quantity | None) -> Quantity:
    if dosing.basis_kind(unit) is dosing.BasisKind.FLAT:
        return dose.to(unit)
    return dosing.dose_in_basis(dose, unit, bsa_m2=bsa, weight=weight)


LAB_FACTORS: Final[dict[tuple[str, str, str], Decimal]] = {
    ("scr", "mg/dL", "umol/L"): Decimal("88.4"),  # as renal.CREATININE_UMOL_L_PER_MG_DL
    ("bilirubin", "mg/dL", "umol/L"): Decimal("17.1"),  # molar mass 584.7 g/mol
    ("hemoglobin", "g/dL", "g/L"): Decimal(10),
}
"""(test, from, to) → factor: the value in ``to`` is the value in ``from`` × factor."""


def _lab_in(test: str, lab: LabValue, unit: str) -> Decimal | None:
    """A lab value in another unit of the same test, or None when the units cannot be compared."""
    if lab.unit == unit:
        return lab.value
    if (factor := LAB_FACTORS.get((test, lab.unit, unit))) is not None:
        return lab.value * factor
    if (factor := LAB_FACTORS.get((test, unit, lab.unit))) is not None:
        return lab.value / factor
    return None


def _creatinine_clearance(facts: OrderFacts) -> LabValue | str:
    """CrCl by Cockcroft–Gault from the latest creatinine and weight (a derived 'lab' for holds),
    or the reason it cannot be worked out (no creatinine, no weight, a child, an implausible value)."""
    scr, weight = facts.labs.get("scr"), facts.weight
    if scr is None or weight is None:
        return "no current creatinine or weight is recorded"
    try:
        clearance = renal.cockcroft_gault(
            age_years=facts.age_years,
            sex=facts.sex,
            weight=weight.quantity,
            scr=Quantity(scr.value, scr.unit),
            height=facts.height.quantity if facts.height else None,
            weight_basis=facts.weight_basis,
        )
    except DomainError as error:
        return error.message
    return LabValue(clearance.ml_min, "mL/min", scr.taken_at)


def _measured_for_clearance(facts: OrderFacts) -> bool:
    return "scr" in facts.labs and facts.weight is not None


def labs(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    for rule in facts.hold_rules:
        lab = _creatinine_clearance(facts) if rule.lab == "crcl" else facts.labs.get(rule.lab)
        if isinstance(lab, str) and _measured_for_clearance(facts) and calc.dose is not None:
            yield Finding(
                Code.LAB_HOLD,
                Severity.WARNING,
                f"The hold at {rule} cannot be checked: {lab}. Check kidney function another way.",
                {"hold_at": str(rule)},
            )
        if not isinstance(lab, LabValue):
            continue  # absent: LAB_MISSING names it; implausible: the calculation's hard stop does
        value = _lab_in(rule.lab, lab, rule.unit)
        if value is None:
            yield Finding(
                Code.LAB_HOLD,
                Severity.WARNING,
                f"{rule.lab.upper()} is recorded as {lab}, which cannot be compared with the hold at {rule}. "
                "Check it by hand.",
                {"lab": rule.lab, "value": str(lab), "hold_at": str(rule)},
            )
        elif rule.breached_by(value):
            yield Finding(
                Code.LAB_HOLD,
                Severity.WARNING,
                f"Hold: {rule.lab.upper()} is {lab} ({lab.taken_at:%Y-%m-%d}), the regimen holds at {rule}. "
                "Proceed only on the prescriber's documented decision.",
                {"lab": rule.lab, "value": str(lab), "hold_at": str(rule)},
            )
    for test in facts.required_labs:
        found = _creatinine_clearance(facts) if test == "crcl" else facts.labs.get(test)
        lab = found if isinstance(found, LabValue) else None
        if lab is None or facts.planned_start - lab.taken_at > facts.lab_max_age:
            when = "none on record" if lab is None else f"last {lab.taken_at:%Y-%m-%d}"
            yield Finding(
                Code.LAB_MISSING,
                Severity.WARNING,
                f"{test.upper()} is needed within {facts.lab_max_age.days} days before the dose ({when}).",
                {"lab": test},
            )


def renal_dosing(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    if "crcl_ml_min" in calc.inputs or not facts.drug.renal_adjustment:
        return  # an AUC dose was recalculated with today's creatinine already
    clearance = _creatinine_clearance(facts)
    if isinstance(clearance, str):
        yield Finding(
            Code.RENAL_DOSING,
            Severity.WARNING,
            f"{facts.drug.name} is dosed by kidney function, but CrCl cannot be worked out: {clearance}",
        )
    elif clearance.value < RENAL_CRCL_ML_MIN:
        yield Finding(
            Code.RENAL_DOSING,
            Severity.WARNING,
            f"CrCl is {clearance} (SCr {facts.labs['scr']}); check the renal dose of {facts.drug.name}.",
            {"crcl_ml_min": format_decimal(clearance.value)},
        )


def allergy(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    """Allergies match through the drug's groups and their cross-sensitivities, however they were typed.
    A severe reaction to the same drug or group is a hard stop that only a documented exception lowers."""
    hits = matches(
        facts.allergies,
        drug_key=facts.drug.key,
        drug_name=facts.drug.name,
        drug_class=facts.drug.drug_class,
        table=facts.allergy_groups,
    )
    for hit in hits:
        found = hit.allergy
        reaction = f" ({found.reaction})" if found.reaction else ""
        what = f"Recorded {found.severity} allergy to {found.substance}{reaction}"
        how = {
            Match.SAME_DRUG: f"this is {facts.drug.name}",
            Match.SAME_GROUP: f"{facts.drug.name} is in the same group ({hit.via})",
            Match.CROSS_SENSITIVE: f"{facts.drug.name} can cross-react with {hit.via}",
        }[hit.match]
        numbers = {
            "substance": found.substance,
            "severity": found.severity,
            "match": hit.match.value,
            "allergy_id": str(found.allergy_id),
        }
        if hit.severe and hit.match is not Match.CROSS_SENSITIVE and not found.exception:
            numbers["exception_required"] = "yes"
            yield Finding(
                Code.ALLERGY,
                Severity.HARD_STOP,
                f"{what}: {how}. Do not give it unless the prescriber documents an exception on the order "
                "(a desensitisation protocol or a note); an override reason is not enough.",
                numbers,
            )
        elif found.exception:
            numbers["exception"] = found.exception
            yield Finding(
                Code.ALLERGY,
                Severity.WARNING,
                f"{what}: {how}. Documented exception: {found.exception}.",
                numbers,
            )
        else:
            yield Finding(Code.ALLERGY, Severity.WARNING, f"{what}: {how}.", numbers)


def duplicate_therapy(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    for other in facts.other_orders:
        near = abs(other.planned_start - facts.planned_start) <= DUPLICATE_WINDOW
        same = other.drug_key == facts.drug.key or (facts.drug.drug_class and other.drug_class == facts.drug.drug_class)
        if near and same and not other.same_plan_day:
            yield Finding(
                Code.DUPLICATE_THERAPY,
                Severity.WARNING,
                f"Order {other.order_id} ({other.drug_key}, {other.planned_start:%Y-%m-%d %H:%M} UTC) duplicates this "
                "therapy.",
                {"other_order": str(other.order_id)},
            )


def cycle_too_early(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    if facts.cycle_days is None or facts.previous_cycle_start is None:
        return
    elapsed = facts.planned_start - facts.previous_cycle_start
    if elapsed < dt.timedelta(days=facts.cycle_days) - dt.timedelta(hours=12):
        yield Finding(
            Code.CYCLE_TOO_EARLY,
            Severity.WARNING,
            f"Only {elapsed.days} days since the previous cycle; the regimen's cycle is {facts.cycle_days} days.",
            {"elapsed_days": str(elapsed.days), "cycle_days": str(facts.cycle_days)},
        )


def route_forbidden(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    route = facts.route.strip()
    allowed = facts.drug.routes_allowed
    if route in facts.drug.routes_forbidden or (allowed and route not in allowed):
        yield Finding(
            Code.ROUTE_FORBIDDEN,
            Severity.HARD_STOP,
            f"{facts.drug.name} must not be given {route}" + (f" (allowed: {', '.join(allowed)})." if allowed else "."),
            {"route": route},
        )


def diluent(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    key = facts.diluent_key
    if key is None:
        return
    if key in facts.drug.incompatible_diluents or (
        facts.drug.compatible_diluents and key not in facts.drug.compatible_diluents
    ):
        yield Finding(
            Code.DILUENT_INCOMPATIBLE,
            Severity.HARD_STOP,
            f"{facts.drug.name} is not compatible with {key}"
            + (f"; use {' or '.join(facts.drug.compatible_diluents)}." if facts.drug.compatible_diluents else "."),
            {"diluent": key},
        )


def concentration(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    drug = facts.drug
    if (
        not facts.volume_ml
        or not drug.concentration_unit
        or (drug.concentration_min is None and drug.concentration_max is None)
    ):
        return
    numerator = drug.concentration_unit.split("/")[0]
    try:
        amount = magnitude(facts.dose, numerator, what="dose")
    except DomainError:
        return
    final = amount / facts.volume_ml
    low, high = drug.concentration_min, drug.concentration_max
    if (low is not None and final < low) or (high is not None and final > high):
        unit = drug.concentration_unit
        allowed = f"{_bound(low)}–{_bound(high)} {unit}"
        yield Finding(
            Code.CONCENTRATION_OUT_OF_RANGE,
            Severity.WARNING,
            f"{facts.dose} in {format_decimal(facts.volume_ml)} mL is {format_decimal(final, 3)} {unit}, "
            f"outside {allowed}. Change the volume.",
            {"concentration": f"{format_decimal(final, 3)} {unit}", "allowed": allowed},
        )


def _bound(value: Decimal | None) -> str:
    return "any" if value is None else format_decimal(value)


def iron_deficit(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    """An IV iron dose above the patient's total iron deficit (Ganzoni, with the SmPC's target and
    stores) replaces iron the patient does not lack. (Above the product's single-dose maximum is
    DOSE_ABOVE_MAX's hard stop.)"""
    hb = facts.labs.get("hemoglobin")
    if facts.drug.category != "iron" or hb is None or facts.weight is None:
        return
    try:
        deficit = iron.total_iron_deficit(weight=facts.weight.quantity, hb=iron.hemoglobin(hb.value, hb.unit))
        excesses = iron.check_iron_dose(facts.dose, deficit.deficit)
    except DomainError:
        return  # a dose not in mg is UNIT_MISMATCH's finding; an implausible Hb was refused at entry
    for excess in excesses:
        yield Finding(
            Code.IRON_ABOVE_DEFICIT,
            Severity.WARNING,
            f"{excess.message} ({deficit.formula}, Hb {hb} on {hb.taken_at:%Y-%m-%d}). Check the course total.",
            {"dose": str(excess.dose), "deficit": str(deficit.deficit), "formula": deficit.formula},
        )


def indication(facts: OrderFacts, calc: Calculation) -> Iterator[Finding]:
    if not facts.indications:
        return
    if not any(d.startswith(i) or i.startswith(d) for d in facts.diagnoses for i in facts.indications):
        yield Finding(
            Code.INDICATION_MISMATCH,
            Severity.WARNING,
            f"None of the patient's diagnoses ({', '.join(facts.diagnoses) or 'none recorded'}) is an indication "
            f"of this regimen ({', '.join(facts.indications)}).",
        )


def rounding_ceiling(facts: OrderFacts, calc: Calculation) -> Quantity | None:
    """The most a rounded dose may be: the single-dose cap, what is left under the lifetime limit, and
    the adjusted dose itself when it was capped, reduced or is renally dosed (round down only)."""
    ceilings: list[Quantity] = []
    cap = facts.max_dose or facts.drug.max_single_dose
    if cap is not None and _same_kind(cap.unit, facts.dose.unit):
        ceilings.append(cap.to(facts.dose.unit))
    limit = facts.drug.lifetime_limit
    try:
        total = cumulative_total(facts, calc)
    except DomainError:
        return facts.dose if limit is not None else None
    if total is not None and limit is not None:
        room = max(limit.value - total.before.value, Decimal(0))
        ceilings.append(_dose_for(Quantity(room, limit.unit), facts, calc))
    if facts.reduction_pct or "capped_at" in calc.inputs or _renally_reduced(facts):
        ceilings.append(facts.dose)
    return min(ceilings, key=lambda q: q.value) if ceilings else None


def _renally_reduced(facts: OrderFacts) -> bool:
    if not facts.drug.renal_adjustment:
        return False
    clearance = _creatinine_clearance(facts)
    return not isinstance(clearance, LabValue) or clearance.value < RENAL_CRCL_ML_MIN


def _dose_for(amount: Quantity, facts: OrderFacts, calc: Calculation) -> Quantity:
    """A lifetime-limit amount (mg/m², mg/kg or mg) as a dose in the order's unit for this patient."""
    kind = dosing.basis_kind(amount.unit)
    if kind is dosing.BasisKind.FLAT:
        return amount.to(facts.dose.unit)
    per = Decimal(calc.inputs["bsa_m2"]) if kind is dosing.BasisKind.PER_BSA else None
    if kind is dosing.BasisKind.PER_WEIGHT and facts.weight is not None:
        per = magnitude(facts.weight.quantity, "kg", what="weight")
    if per is None:
        return Quantity(Decimal(0), facts.dose.unit)
    return Quantity(amount.value * per, split_unit(amount.unit)[0]).to(facts.dose.unit)


def rounding_available(facts: OrderFacts, calc: Calculation, found: list[Finding]) -> Iterator[Finding]:
    """Rounding to whole vials is offered on the ordered dose only when it stands (no deviation and no
    hard stop among the findings already made), and never above a cap, a lifetime limit or an
    adjusted dose."""
    threshold = facts.drug.rounding_threshold_pct
    if threshold is None or not facts.drug.vial_sizes or calc.dose is None or facts.dose.value <= 0:
        return
    if any(f.code is Code.DOSE_DEVIATION or f.severity is Severity.HARD_STOP for f in found):
        return
    try:
        ceiling = rounding_ceiling(facts, calc)
        rounded = rounding.round_to_vials(facts.dose, facts.drug.vial_sizes, threshold_pct=threshold, at_most=ceiling)
    except DomainError:
        return
    if rounded.rounded and rounded.dose.value != facts.dose.value:
        vials = " + ".join(f"{v.count} × {v.size}" for v in rounded.vials)
        yield Finding(
            Code.ROUNDING_AVAILABLE,
            Severity.INFO,
            f"Rounding to {rounded.dose} ({vials}) is within the {format_decimal(threshold)} % policy "
            f"({format_decimal(rounded.deviation_pct, 1)} %) and wastes no drug.",
            {"rounded": str(rounded.dose), "deviation_pct": format_decimal(rounded.deviation_pct, 2)},
        )


RULES: Final[tuple[Rule, ...]] = (
    invalid_dose,
    dose_unit,
    basis_mismatch,
    body_size_plausible,
    rate_missing,
    stale_measurement,
    dose_against_calculation,
    dose_above_usual,
    dose_above_max,
    cumulative_limit,
    labs,
    renal_dosing,
    allergy,
    duplicate_therapy,
    cycle_too_early,
    route_forbidden,
    diluent,
    concentration,
    indication,
    iron_deficit,
)
"""Every rule but rounding, which is offered last, on what these found."""
