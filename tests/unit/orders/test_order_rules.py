"""Order decision support (``orders.rules.check``): every finding code fires when it should, with its
severity and the numbers behind it, and stays silent on a clean order.

One clean baseline order is built and each case changes one thing with ``dataclasses.replace``.
The baseline: oxaliplatin 85 mg/m² IV in dextrose 5 % 250 mL for a woman of 60, 165 cm, 70 kg.

Numbers checked by hand, with their sources:

- Mosteller BSA = √(height cm × weight kg / 3600) (Mosteller, N Engl J Med 1987;317:1098):
  √(165 × 70 / 3600) = √3.2083 = 1.791 → 1.79 m²; 85 mg/m² × 1.79 m² = 152.15 mg.
- Cockcroft–Gault CrCl = (140 − age) × weight / (72 × SCr) × 0.85 for women (Cockcroft & Gault,
  Nephron 1976;16:31): (140 − 60) × 70 / (72 × 0.9) × 0.85 = 73.46 → 73.5 mL/min.
- Calvert: carboplatin dose (mg) = target AUC × (GFR + 25) (Calvert et al., J Clin Oncol 1989;7:1748),
  with the estimated GFR capped at 125 mL/min (FDA 2010), so never more than AUC × 150 mg:
  AUC 5 × (73.5 + 25) = 492.5 mg.
- Oxaliplatin (label): 85 mg/m², diluted in 250–500 mL dextrose 5 % to 0.2–0.7 mg/mL; never in
  sodium chloride (chloride degrades it).
- Vincristine (label, boxed warning): 1.4 mg/m², usually capped at 2 mg; fatal if given
  intrathecally, for intravenous use only.
- Doxorubicin (label): cumulative lifetime limit 450–550 mg/m² (cardiotoxicity); 450 is used here.
- Dose rounding to whole vials within 10 % (HOPA position statement, J Oncol Pract 2018).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.allergy import Allergy
from openinfusion.clinical.body import Sex
from openinfusion.clinical.renal import WeightBasis
from openinfusion.clinical.units import Quantity
from openinfusion.orders.rules import (
    Code,
    DrugFacts,
    Finding,
    HoldRule,
    LabValue,
    Observed,
    OrderFacts,
    OtherOrder,
    PriorDose,
    Review,
    Severity,
    check,
)

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
START = dt.datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
YESTERDAY = dt.datetime(2025, 3, 9, 9, 0, tzinfo=UTC)

HARD, WARN, INFO = Severity.HARD_STOP, Severity.WARNING, Severity.INFO


def q(value: str | int, unit: str) -> Quantity:
    return Quantity.of(value, unit)


def d(text: str | int) -> Decimal:
    return Decimal(text)


def lab(value: str, unit: str, taken_at: dt.datetime = YESTERDAY) -> LabValue:
    return LabValue(d(value), unit, taken_at)


PLATINUM_CLASS = "platinum analogue (alkylating-like)"

OXALIPLATIN = DrugFacts(
    key="oxaliplatin",
    name="OXALIplatin",
    drug_class=PLATINUM_CLASS,
    routes_allowed=("IV",),
    compatible_diluents=("dextrose-5",),
    incompatible_diluents=("sodium-chloride-0.9", "sodium-chloride-23.4"),
    concentration_min=d("0.2"),
    concentration_max=d("0.7"),
    concentration_unit="mg/mL",
)

LABS = {
    "anc": lab("2.1", "10^9/L"),
    "platelets": lab("180", "10^9/L"),
    "scr": lab("0.9", "mg/dL"),
    "bilirubin": lab("0.8", "mg/dL"),
}

CLEAN = OrderFacts(
    drug=OXALIPLATIN,
    dose=q("152.15", "mg"),
    route="IV",
    planned_start=START,
    now=NOW,
    basis=q(85, "mg/m2"),
    diluent_key="dextrose-5",
    volume_ml=d(250),
    duration_minutes=120,
    age_years=60,
    sex=Sex.FEMALE,
    height=Observed(q(165, "cm"), YESTERDAY),
    weight=Observed(q(70, "kg"), YESTERDAY),
    plan_weight_kg=d(70),
    labs=LABS,
    diagnoses=("C18.7",),
    indications=("C18",),
    hold_rules=(
        HoldRule("anc", "<", d("1.5"), "10^9/L"),
        HoldRule("platelets", "<", d(75), "10^9/L"),
        HoldRule("bilirubin", ">", d("1.5"), "mg/dL"),
        HoldRule("crcl", "<", d(30), "mL/min"),
    ),
    required_labs=("anc", "platelets", "scr", "bilirubin"),
    lab_max_age=dt.timedelta(days=3),
    cycle_days=14,
    previous_cycle_start=START - dt.timedelta(days=14),
)

VINCRISTINE_DRUG = DrugFacts(
    key="vincristine",
    name="vinCRIStine",
    drug_class="vinca alkaloid",
    routes_allowed=("IV",),
    routes_forbidden=("intrathecal",),
    max_single_dose=q(2, "mg"),
    compatible_diluents=("sodium-chloride-0.9", "dextrose-5"),
)
VINCRISTINE = replace(
    CLEAN,
    drug=VINCRISTINE_DRUG,
    basis=q("1.4", "mg/m2"),
    dose=q(2, "mg"),
    diluent_key="sodium-chloride-0.9",
    volume_ml=d(50),
)
"""1.4 mg/m² × 1.79 m² = 2.506 mg, capped at 2 mg."""

DOXORUBICIN = replace(
    CLEAN,
    drug=DrugFacts(
        key="doxorubicin",
        name="DOXOrubicin",
        drug_class="anthracycline",
        routes_allowed=("IV",),
        lifetime_limit=q(450, "mg/m2"),
    ),
    basis=q(60, "mg/m2"),
    dose=q("107.4", "mg"),
)
"""60 mg/m² × 1.79 m² = 107.4 mg."""

CARBOPLATIN = replace(
    CLEAN,
    drug=DrugFacts(key="carboplatin", name="CARBOplatin", drug_class=PLATINUM_CLASS, renal_adjustment=True),
    basis=q(5, "mg.min/mL"),
    dose=q("492.5", "mg"),
    diluent_key=None,
    volume_ml=None,
)
"""AUC 5 × (CrCl 73.5 + 25) = 492.5 mg."""


def prior_doxorubicin(count: int) -> tuple[PriorDose, ...]:
    """``count`` doses of 60 mg/m² already given at the same BSA (107.4 mg at 1.79 m²)."""
    return tuple(PriorDose(q("107.4", "mg"), bsa_m2=d("1.79")) for _ in range(count))


def with_drug(facts: OrderFacts, **changes: object) -> OrderFacts:
    return replace(facts, drug=replace(facts.drug, **changes))


def with_labs(facts: OrderFacts, **changes: LabValue | None) -> OrderFacts:
    labs = {**facts.labs, **changes}
    return replace(facts, labs={k: v for k, v in labs.items() if v is not None})


def kinds(review: Review) -> list[tuple[Code, Severity]]:
    return sorted((f.code, f.severity) for f in review.findings)


def messages(review: Review, code: Code) -> str:
    return " | ".join(f.message for f in review.findings if f.code is code)


# ---------------------------------------------------------------------------------------------------
# The clean baselines
# ---------------------------------------------------------------------------------------------------


def test_the_clean_oxaliplatin_order_has_no_findings():
    review = check(CLEAN)
    assert review.findings == ()
    assert review.hard_stops == ()
    assert review.warnings == ()


def test_the_clean_order_is_calculated_with_mosteller_bsa():
    """√(165 × 70 / 3600) = 1.79 m² (Mosteller 1987); 85 mg/m² × 1.79 m² = 152.15 mg."""
    inputs = check(CLEAN).calculation.inputs
    assert check(CLEAN).calculation.dose == q("152.15", "mg")
    assert inputs["bsa_m2"] == "1.79"
    assert inputs["bsa_formula"] == "mosteller"
    assert inputs["calculated"] == "152.15 mg"
    assert "capped_at" not in inputs


@pytest.mark.parametrize(
    "facts", [VINCRISTINE, DOXORUBICIN, CARBOPLATIN], ids=["vincristine", "doxorubicin", "carboplatin"]
)
def test_the_other_clean_baselines_have_no_findings(facts):
    assert check(facts).findings == ()


def test_mosteller_worked_example_180_cm_80_kg_gives_2_m2():
    """√(180 × 80 / 3600) = √4 = 2.00 m² (Mosteller, NEJM 1987;317:1098): 85 mg/m² → 170 mg."""
    facts = replace(
        CLEAN,
        height=Observed(q(180, "cm"), YESTERDAY),
        weight=Observed(q(80, "kg"), YESTERDAY),
        plan_weight_kg=d(80),
        dose=q(170, "mg"),
    )
    review = check(facts)
    assert review.calculation.inputs["bsa_m2"] == "2"
    assert review.calculation.dose == q(170, "mg")
    assert review.findings == ()


def test_a_dose_reduction_is_applied_to_the_calculated_dose_and_recorded():
    """20 % off 152.15 mg = 121.72 mg; ordering the reduced dose is clean."""
    review = check(replace(CLEAN, reduction_pct=d(20), dose=q("121.72", "mg")))
    assert review.calculation.dose == q("121.72", "mg")
    assert review.calculation.inputs["reduction"] == "20 %"
    assert review.findings == ()


def test_an_order_without_a_basis_is_not_recalculated_and_needs_no_measurements():
    review = check(replace(CLEAN, basis=None, height=None, weight=None))
    assert review.calculation.dose is None
    assert review.findings == ()


def test_a_flat_basis_needs_no_height_or_weight():
    review = check(replace(CLEAN, basis=q(150, "mg"), dose=q(150, "mg"), height=None, weight=None))
    assert review.calculation.dose == q(150, "mg")
    assert review.findings == ()


def test_a_dose_in_an_equivalent_unit_is_not_a_mismatch():
    """0.15215 g is 152.15 mg: no UNIT_MISMATCH, no deviation."""
    assert check(replace(CLEAN, dose=q("0.15215", "g"))).findings == ()


# ---------------------------------------------------------------------------------------------------
# Every code: it fires (severity, numbers in the message) when it should
# ---------------------------------------------------------------------------------------------------

FIRES = [
    # IMPLAUSIBLE_MEASUREMENT
    pytest.param(
        replace(CLEAN, height=Observed(q(1750, "cm"), YESTERDAY)),
        Code.IMPLAUSIBLE_MEASUREMENT,
        [(Code.IMPLAUSIBLE_MEASUREMENT, HARD)],
        ("1750 cm", "20–275 cm"),
        id="implausible-height-1750-cm",
    ),
    pytest.param(
        replace(CLEAN, weight=Observed(q(700, "kg"), YESTERDAY), plan_weight_kg=None, hold_rules=()),
        Code.IMPLAUSIBLE_MEASUREMENT,
        [(Code.IMPLAUSIBLE_MEASUREMENT, HARD)],
        ("700 kg", "700 lb"),
        id="implausible-weight-700-kg-suggests-lb",
    ),
    # MEASUREMENT_MISSING
    pytest.param(
        replace(CLEAN, height=None),
        Code.MEASUREMENT_MISSING,
        [(Code.MEASUREMENT_MISSING, HARD)],
        ("No height",),
        id="no-height-for-mg-per-m2",
    ),
    pytest.param(
        replace(CLEAN, weight=None),
        Code.MEASUREMENT_MISSING,
        [(Code.MEASUREMENT_MISSING, HARD)],
        ("No weight",),
        id="no-weight-for-mg-per-m2",
    ),
    pytest.param(
        replace(CLEAN, basis=q(2, "mg/kg"), dose=q(140, "mg"), weight=None),
        Code.MEASUREMENT_MISSING,
        [(Code.MEASUREMENT_MISSING, HARD)],
        ("No weight",),
        id="no-weight-for-mg-per-kg",
    ),
    pytest.param(
        with_drug(
            replace(CLEAN, basis=None, dose=q(1500, "mg"), volume_ml=None, height=None),
            usual_dose=(q(85, "mg/m2"), q(130, "mg/m2")),
        ),
        Code.MEASUREMENT_MISSING,
        [(Code.MEASUREMENT_MISSING, HARD)],
        ("no height", "1500 mg", "usual range"),
        id="a-flat-dose-of-a-per-m2-drug-without-a-height",
    ),
    # STALE_MEASUREMENT
    pytest.param(
        replace(CLEAN, weight=Observed(q(70, "kg"), NOW - dt.timedelta(days=45))),
        Code.STALE_MEASUREMENT,
        [(Code.STALE_MEASUREMENT, WARN)],
        ("45 days old", "2025-01-24"),
        id="weight-45-days-old",
    ),
    pytest.param(
        replace(CLEAN, plan_weight_kg=d(80)),
        Code.STALE_MEASUREMENT,
        [(Code.STALE_MEASUREMENT, WARN)],
        ("-12.5 %", "80 kg", "70 kg"),
        id="weight-fell-12.5-pct-since-the-plan",
    ),
    pytest.param(
        replace(CLEAN, plan_weight_kg=d(62)),
        Code.STALE_MEASUREMENT,
        [(Code.STALE_MEASUREMENT, WARN)],
        ("12.9 %", "62 kg", "70 kg"),
        id="weight-rose-12.9-pct-since-the-plan",
    ),
    pytest.param(
        replace(CLEAN, weight=Observed(q(70, "kg"), NOW - dt.timedelta(days=45)), plan_weight_kg=d(80)),
        Code.STALE_MEASUREMENT,
        [(Code.STALE_MEASUREMENT, WARN), (Code.STALE_MEASUREMENT, WARN)],
        ("45 days old", "-12.5 %"),
        id="weight-old-and-changed-gives-two-findings",
    ),
    # DOSE_DEVIATION
    pytest.param(
        replace(CLEAN, dose=q("164.32", "mg")),
        Code.DOSE_DEVIATION,
        [(Code.DOSE_DEVIATION, WARN)],
        ("164.32 mg", "152.15 mg", "8 %", "policy 5 %"),
        id="plus-8-pct-warns",
    ),
    pytest.param(
        replace(CLEAN, dose=q("139.98", "mg")),
        Code.DOSE_DEVIATION,
        [(Code.DOSE_DEVIATION, WARN)],
        ("139.98 mg", "152.15 mg", "-8 %"),
        id="minus-8-pct-warns",
    ),
    pytest.param(
        with_drug(replace(CLEAN, dose=q("170.41", "mg")), deviation_warn_pct=d(10)),
        Code.DOSE_DEVIATION,
        [(Code.DOSE_DEVIATION, WARN)],
        ("170.41 mg", "12 %", "policy 10 %"),
        id="plus-12-pct-over-a-10-pct-drug-policy-warns",
    ),
    pytest.param(
        replace(CLEAN, dose=q("1521.5", "mg"), volume_ml=d(2500)),
        Code.DOSE_DEVIATION,
        [(Code.DOSE_DEVIATION, HARD)],
        ("1521.5 mg", "10 ×", "152.15 mg"),
        id="ten-times-is-a-hard-stop",
    ),
    pytest.param(
        replace(CLEAN, dose=q("304.3", "mg"), volume_ml=d(500)),
        Code.DOSE_DEVIATION,
        [(Code.DOSE_DEVIATION, HARD)],
        ("304.3 mg", "2 ×", "152.15 mg"),
        id="exactly-twice-is-a-hard-stop",
    ),
    pytest.param(
        replace(CLEAN, dose=q("76", "mg")),
        Code.DOSE_DEVIATION,
        [(Code.DOSE_DEVIATION, HARD)],
        ("76 mg", "0.5 ×", "152.15 mg"),
        id="half-is-a-hard-stop",
    ),
    # UNIT_MISMATCH
    pytest.param(
        replace(CLEAN, dose=q("152.15", "mcg"), volume_ml=None),
        Code.UNIT_MISMATCH,
        [(Code.UNIT_MISMATCH, HARD)],
        ("152.15 mcg", "0.001 ×", "152.15 mg", "probably mg was meant, not mcg"),
        id="mcg-for-mg-1000x-slip",
    ),
    pytest.param(
        replace(CLEAN, dose=q("152.15", "g"), volume_ml=None),
        Code.UNIT_MISMATCH,
        [(Code.UNIT_MISMATCH, HARD)],
        ("152.15 g", "1000 ×", "152.15 mg"),
        id="g-for-mg-1000x-slip",
    ),
    pytest.param(
        replace(CLEAN, dose=q("152.15", "units")),
        Code.UNIT_MISMATCH,
        [(Code.UNIT_MISMATCH, HARD)],
        ("in units", "gives mg"),
        id="units-for-a-mg-basis",
    ),
    # DOSE_ABOVE_MAX
    pytest.param(
        replace(VINCRISTINE, dose=q("2.5", "mg")),
        Code.DOSE_ABOVE_MAX,
        [(Code.DOSE_DEVIATION, WARN), (Code.DOSE_ABOVE_MAX, HARD)],
        ("2.5 mg", "vinCRIStine", "2 mg"),
        id="vincristine-2.5-mg-over-the-2-mg-cap",
    ),
    pytest.param(
        replace(VINCRISTINE, dose=q(2500, "mcg")),
        Code.DOSE_ABOVE_MAX,
        [(Code.DOSE_DEVIATION, WARN), (Code.DOSE_ABOVE_MAX, HARD)],
        ("2500 mcg", "2 mg"),
        id="vincristine-2500-mcg-over-the-2-mg-cap",
    ),
    pytest.param(
        replace(VINCRISTINE, max_dose=q("1.5", "mg"), dose=q(2, "mg")),
        Code.DOSE_ABOVE_MAX,
        [(Code.DOSE_DEVIATION, WARN), (Code.DOSE_ABOVE_MAX, HARD)],
        ("2 mg", "1.5 mg"),
        id="the-order-cap-overrides-the-drug-cap",
    ),
    # CUMULATIVE_LIMIT
    pytest.param(
        replace(DOXORUBICIN, prior_doses=prior_doxorubicin(7)),
        Code.CUMULATIVE_LIMIT,
        [(Code.CUMULATIVE_LIMIT, WARN)],
        ("480 mg/m²", "450 mg/m²", "by 30 mg/m²"),
        id="doxorubicin-seven-prior-doses-reach-480-of-450",
    ),
    pytest.param(
        replace(DOXORUBICIN, prior_doses=(PriorDose(q(120, "mg"), bsa_m2=d(2)),) * 7),
        Code.CUMULATIVE_LIMIT,
        [(Code.CUMULATIVE_LIMIT, WARN)],
        ("480 mg/m²", "450 mg/m²"),
        id="doxorubicin-prior-doses-at-another-bsa-are-per-their-own-bsa",
    ),
    pytest.param(
        replace(DOXORUBICIN, prior_doses=(PriorDose(q(120, "mg")),)),
        Code.CUMULATIVE_LIMIT,
        [(Code.CUMULATIVE_LIMIT, WARN)],
        ("cannot be totalled", "BSA"),
        id="a-prior-dose-without-its-bsa-cannot-be-totalled",
    ),
    # LAB_HOLD
    pytest.param(
        with_labs(CLEAN, anc=lab("1.2", "10^9/L")),
        Code.LAB_HOLD,
        [(Code.LAB_HOLD, WARN)],
        ("ANC is 1.2 10^9/L", "ANC < 1.5 10^9/L", "2025-03-09"),
        id="anc-1.2-under-1.5",
    ),
    pytest.param(
        with_labs(CLEAN, platelets=lab("60", "10^9/L")),
        Code.LAB_HOLD,
        [(Code.LAB_HOLD, WARN)],
        ("60 10^9/L", "PLATELETS < 75 10^9/L"),
        id="platelets-60-under-75",
    ),
    pytest.param(
        with_labs(CLEAN, bilirubin=lab("2.0", "mg/dL")),
        Code.LAB_HOLD,
        [(Code.LAB_HOLD, WARN)],
        ("2 mg/dL", "BILIRUBIN > 1.5 mg/dL"),
        id="bilirubin-2-over-1.5",
    ),
    pytest.param(
        # (140 − 60) × 70 / (72 × 2.5) × 0.85 = 26.4 mL/min
        with_labs(CLEAN, scr=lab("2.5", "mg/dL")),
        Code.LAB_HOLD,
        [(Code.LAB_HOLD, WARN)],
        ("CRCL is 26.4 mL/min", "CRCL < 30 mL/min"),
        id="crcl-26.4-from-creatinine-2.5-under-30",
    ),
    # LAB_MISSING
    pytest.param(
        with_labs(CLEAN, bilirubin=None),
        Code.LAB_MISSING,
        [(Code.LAB_MISSING, WARN)],
        ("BILIRUBIN", "within 3 days", "none on record"),
        id="required-bilirubin-absent",
    ),
    pytest.param(
        with_labs(CLEAN, anc=lab("2.1", "10^9/L", START - dt.timedelta(days=5))),
        Code.LAB_MISSING,
        [(Code.LAB_MISSING, WARN)],
        ("ANC", "within 3 days", "last 2025-03-05"),
        id="required-anc-5-days-old",
    ),
    pytest.param(
        replace(CARBOPLATIN, labs={k: v for k, v in LABS.items() if k != "scr"}),
        Code.LAB_MISSING,
        [(Code.LAB_MISSING, HARD), (Code.LAB_MISSING, WARN), (Code.RENAL_DOSING, WARN)],
        ("serum creatinine", "Calvert", "SCR"),
        id="auc-dose-without-creatinine-is-a-hard-stop",
    ),
    # RENAL_DOSING
    pytest.param(
        # (140 − 60) × 70 / (72 × 1.2) × 0.85 = 55.1 mL/min
        with_drug(with_labs(CLEAN, scr=lab("1.2", "mg/dL")), renal_adjustment=True),
        Code.RENAL_DOSING,
        [(Code.RENAL_DOSING, WARN)],
        ("55.1 mL/min", "SCr 1.2 mg/dL", "OXALIplatin"),
        id="renal-drug-with-crcl-55-under-60",
    ),
    pytest.param(
        with_drug(with_labs(CLEAN, scr=None), renal_adjustment=True),
        Code.RENAL_DOSING,
        [(Code.LAB_MISSING, WARN), (Code.RENAL_DOSING, WARN)],
        ("no current creatinine",),
        id="renal-drug-without-creatinine",
    ),
    # ALLERGY
    pytest.param(
        replace(CLEAN, allergies=(Allergy("oxaliplatin", "severe"),)),
        Code.ALLERGY,
        [(Code.ALLERGY, HARD)],
        ("severe", "oxaliplatin"),
        id="severe-allergy-to-the-drug",
    ),
    pytest.param(
        replace(CLEAN, allergies=(Allergy("oxaliplatin", "anaphylaxis"),)),
        Code.ALLERGY,
        [(Code.ALLERGY, HARD)],
        ("anaphylaxis", "oxaliplatin"),
        id="anaphylaxis-to-the-drug",
    ),
    pytest.param(
        replace(CLEAN, allergies=(Allergy("oxaliplatin", "mild"),)),
        Code.ALLERGY,
        [(Code.ALLERGY, WARN)],
        ("mild", "oxaliplatin"),
        id="mild-allergy-to-the-drug-warns",
    ),
    pytest.param(
        replace(CLEAN, allergies=(Allergy("platinum", "moderate"),)),
        Code.ALLERGY,
        [(Code.ALLERGY, WARN)],
        ("moderate", "platinum"),
        id="moderate-class-allergy-platinum-warns",
    ),
    # DUPLICATE_THERAPY
    pytest.param(
        replace(CLEAN, other_orders=(OtherOrder(41, "oxaliplatin", PLATINUM_CLASS, START + dt.timedelta(hours=2)),)),
        Code.DUPLICATE_THERAPY,
        [(Code.DUPLICATE_THERAPY, WARN)],
        ("Order 41", "oxaliplatin", "2025-03-10 12:00"),
        id="same-drug-2-h-apart",
    ),
    pytest.param(
        replace(CLEAN, other_orders=(OtherOrder(42, "carboplatin", PLATINUM_CLASS, START - dt.timedelta(hours=12)),)),
        Code.DUPLICATE_THERAPY,
        [(Code.DUPLICATE_THERAPY, WARN)],
        ("Order 42", "carboplatin", "2025-03-09 22:00"),
        id="same-class-12-h-apart",
    ),
    # CYCLE_TOO_EARLY
    pytest.param(
        replace(CLEAN, previous_cycle_start=START - dt.timedelta(days=10)),
        Code.CYCLE_TOO_EARLY,
        [(Code.CYCLE_TOO_EARLY, WARN)],
        ("10 days", "14 days"),
        id="day-10-of-a-14-day-cycle",
    ),
    pytest.param(
        replace(CLEAN, previous_cycle_start=START - dt.timedelta(days=13)),
        Code.CYCLE_TOO_EARLY,
        [(Code.CYCLE_TOO_EARLY, WARN)],
        ("13 days", "14 days"),
        id="day-13-of-a-14-day-cycle",
    ),
    # ROUTE_FORBIDDEN
    pytest.param(
        replace(VINCRISTINE, route="intrathecal"),
        Code.ROUTE_FORBIDDEN,
        [(Code.ROUTE_FORBIDDEN, HARD)],
        ("vinCRIStine", "intrathecal", "allowed: IV"),
        id="vincristine-intrathecal",
    ),
    pytest.param(
        replace(VINCRISTINE, route="IM"),
        Code.ROUTE_FORBIDDEN,
        [(Code.ROUTE_FORBIDDEN, HARD)],
        ("IM", "allowed: IV"),
        id="route-not-in-the-allowed-list",
    ),
    pytest.param(
        replace(VINCRISTINE, drug=replace(VINCRISTINE_DRUG, routes_allowed=()), route=" intrathecal "),
        Code.ROUTE_FORBIDDEN,
        [(Code.ROUTE_FORBIDDEN, HARD)],
        ("intrathecal",),
        id="forbidden-route-with-no-allowed-list-and-stray-spaces",
    ),
    # DILUENT_INCOMPATIBLE
    pytest.param(
        replace(CLEAN, diluent_key="sodium-chloride-0.9"),
        Code.DILUENT_INCOMPATIBLE,
        [(Code.DILUENT_INCOMPATIBLE, HARD)],
        ("OXALIplatin", "sodium-chloride-0.9", "use dextrose-5"),
        id="oxaliplatin-in-sodium-chloride",
    ),
    pytest.param(
        replace(CLEAN, diluent_key="lactated-ringers"),
        Code.DILUENT_INCOMPATIBLE,
        [(Code.DILUENT_INCOMPATIBLE, HARD)],
        ("lactated-ringers", "use dextrose-5"),
        id="diluent-not-in-the-compatible-list",
    ),
    # CONCENTRATION_OUT_OF_RANGE
    pytest.param(
        replace(CLEAN, volume_ml=d(100)),
        Code.CONCENTRATION_OUT_OF_RANGE,
        [(Code.CONCENTRATION_OUT_OF_RANGE, WARN)],
        ("152.15 mg in 100 mL", "1.522 mg/mL", "0.2–0.7 mg/mL"),
        id="too-concentrated-152-mg-in-100-ml",
    ),
    pytest.param(
        replace(CLEAN, volume_ml=d(1000)),
        Code.CONCENTRATION_OUT_OF_RANGE,
        [(Code.CONCENTRATION_OUT_OF_RANGE, WARN)],
        ("152.15 mg in 1000 mL", "0.152 mg/mL", "0.2–0.7 mg/mL"),
        id="too-dilute-152-mg-in-1000-ml",
    ),
    pytest.param(
        with_drug(replace(CLEAN, volume_ml=d(100)), concentration_min=None),
        Code.CONCENTRATION_OUT_OF_RANGE,
        [(Code.CONCENTRATION_OUT_OF_RANGE, WARN)],
        ("1.522 mg/mL", "any–0.7 mg/mL"),
        id="only-a-maximum-concentration",
    ),
    # INDICATION_MISMATCH
    pytest.param(
        replace(CLEAN, diagnoses=("C50.9",)),
        Code.INDICATION_MISMATCH,
        [(Code.INDICATION_MISMATCH, WARN)],
        ("C50.9", "C18"),
        id="breast-diagnosis-for-a-colon-regimen",
    ),
    pytest.param(
        replace(CLEAN, diagnoses=()),
        Code.INDICATION_MISMATCH,
        [(Code.INDICATION_MISMATCH, WARN)],
        ("none recorded", "C18"),
        id="no-diagnosis-recorded",
    ),
    # INVALID_DOSE
    pytest.param(
        replace(CLEAN, basis=None, dose=q(0, "mg"), volume_ml=None),
        Code.INVALID_DOSE,
        [(Code.INVALID_DOSE, HARD)],
        ("0 mg", "nothing would be given"),
        id="zero-dose",
    ),
    # BASIS_MISMATCH: oxaliplatin 85 mg/kg where the regimen says mg/m² (85 × 70 kg = 5950 mg)
    pytest.param(
        replace(
            CLEAN,
            basis=q(85, "mg/kg"),
            dose=q(5950, "mg"),
            volume_ml=None,
            allowed_bases=("mg/m2",),
            regimen_name="mFOLFOX6",
        ),
        Code.BASIS_MISMATCH,
        [(Code.BASIS_MISMATCH, HARD)],
        ("85 mg/kg", "per kg", "mFOLFOX6", "per m²"),
        id="oxaliplatin-85-mg-per-kg-in-a-mg-per-m2-regimen",
    ),
    # DOSE_ABOVE_USUAL (oxaliplatin usual 85–130 mg/m², label)
    pytest.param(
        with_drug(
            replace(CLEAN, basis=None, dose=q(250, "mg"), volume_ml=None), usual_dose=(q(85, "mg/m2"), q(130, "mg/m2"))
        ),
        Code.DOSE_ABOVE_USUAL,
        [(Code.DOSE_ABOVE_USUAL, WARN)],
        ("139.66 mg/m²", "85–130 mg/m²"),
        id="250-mg-is-139.7-mg-per-m2-above-the-usual-130",
    ),
    pytest.param(
        with_drug(
            replace(CLEAN, basis=None, dose=q(1520, "mg"), volume_ml=None), usual_dose=(q(85, "mg/m2"), q(130, "mg/m2"))
        ),
        Code.DOSE_ABOVE_USUAL,
        [(Code.DOSE_ABOVE_USUAL, HARD)],
        ("849.16 mg/m²", "6.5 ×", "slip"),
        id="a-10x-flat-dose-is-a-hard-stop",
    ),
    # RATE_MISSING
    pytest.param(
        replace(CLEAN, duration_minutes=None),
        Code.RATE_MISSING,
        [(Code.RATE_MISSING, HARD)],
        ("No infusion time", "OXALIplatin"),
        id="iv-order-without-a-duration-or-a-standard-time",
    ),
    # IRON_ABOVE_DEFICIT: Ganzoni 70 kg × (15 − 12) g/dL × 2.4 + 500 mg = 1004 mg (Venofer SmPC 4.2)
    pytest.param(
        replace(
            CLEAN,
            drug=DrugFacts(key="ferric-carboxymaltose", name="ferric carboxymaltose", category="iron"),
            basis=None,
            dose=q(1500, "mg"),
            volume_ml=None,
            labs={**LABS, "hemoglobin": lab("12", "g/dL")},
        ),
        Code.IRON_ABOVE_DEFICIT,
        [(Code.IRON_ABOVE_DEFICIT, WARN)],
        ("1500 mg", "1004 mg", "Hb 12 g/dL"),
        id="1500-mg-iron-above-a-1004-mg-deficit",
    ),
    # ROUNDING_AVAILABLE
    pytest.param(
        with_drug(
            replace(CLEAN, dose=q(152, "mg")),
            vial_sizes=(q(50, "mg"), q(100, "mg")),
            rounding_threshold_pct=d(10),
        ),
        Code.ROUNDING_AVAILABLE,
        [(Code.ROUNDING_AVAILABLE, INFO)],
        ("150 mg", "1 × 100 mg + 1 × 50 mg", "10 %", "-1.3 %"),
        id="152-mg-rounds-to-150-mg-of-whole-vials",
    ),
]


@pytest.mark.parametrize(("facts", "code", "expected", "fragments"), FIRES)
def test_each_code_fires_with_its_severity_and_numbers(facts, code, expected, fragments):
    review = check(facts)
    assert kinds(review) == sorted(expected), [f.message for f in review.findings]
    text = messages(review, code)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


def test_the_fire_table_covers_every_code():
    covered = {param.values[1] for param in FIRES}
    assert covered == set(Code)


# ---------------------------------------------------------------------------------------------------
# ... and stays silent just inside each threshold
# ---------------------------------------------------------------------------------------------------

SILENT = [
    pytest.param(replace(CLEAN, weight=Observed(q(70, "kg"), NOW - dt.timedelta(days=30))), id="weight-30-days-old"),
    pytest.param(replace(CLEAN, plan_weight_kg=d(75)), id="weight-changed-6.7-pct"),
    pytest.param(replace(CLEAN, plan_weight_kg=None), id="no-plan-weight"),
    pytest.param(
        replace(
            CLEAN, basis=q(150, "mg"), dose=q(150, "mg"), weight=Observed(q(70, "kg"), NOW - dt.timedelta(days=90))
        ),
        id="old-weight-does-not-matter-for-a-flat-dose",
    ),
    pytest.param(replace(CLEAN, dose=q("158.24", "mg")), id="plus-4-pct"),
    pytest.param(replace(CLEAN, dose=q("146.06", "mg")), id="minus-4-pct"),
    pytest.param(replace(CLEAN, dose=q("159.7575", "mg")), id="exactly-plus-5-pct"),
    pytest.param(
        with_drug(replace(CLEAN, dose=q("164.32", "mg")), deviation_warn_pct=d(10)), id="plus-8-pct-policy-10"
    ),
    pytest.param(replace(CLEAN, dose=q("152150", "mcg")), id="the-calculated-dose-in-mcg"),
    pytest.param(VINCRISTINE, id="vincristine-at-the-2-mg-cap"),
    pytest.param(replace(VINCRISTINE, dose=q("1.9", "mg")), id="vincristine-under-the-cap"),
    pytest.param(replace(DOXORUBICIN, prior_doses=prior_doxorubicin(5)), id="doxorubicin-five-prior-doses-360-of-450"),
    pytest.param(replace(DOXORUBICIN, prior_doses=prior_doxorubicin(6)), id="doxorubicin-six-prior-doses-420-of-450"),
    pytest.param(
        replace(DOXORUBICIN, prior_doses=(PriorDose(q("698.1", "mg"), bsa_m2=d("1.79")),)),
        id="doxorubicin-reaching-exactly-450-is-allowed",
    ),
    pytest.param(with_labs(CLEAN, anc=lab("1.5", "10^9/L")), id="anc-exactly-at-the-hold"),
    pytest.param(with_labs(CLEAN, bilirubin=lab("1.5", "mg/dL")), id="bilirubin-exactly-at-the-hold"),
    pytest.param(with_labs(CLEAN, scr=lab("2.0", "mg/dL")), id="crcl-33.1-above-the-hold"),
    pytest.param(
        replace(CLEAN, hold_rules=(HoldRule("anc", "<", d("1.5"), "10^9/L"),), labs={}, required_labs=()),
        id="hold-lab-absent-and-not-required",
    ),
    pytest.param(with_labs(CLEAN, anc=lab("2.1", "10^9/L", START - dt.timedelta(days=3))), id="anc-exactly-3-days-old"),
    pytest.param(with_drug(CLEAN, renal_adjustment=True), id="renal-drug-with-crcl-73.5"),
    pytest.param(
        with_drug(with_labs(CLEAN, scr=lab("1.2", "mg/dL")), renal_adjustment=False), id="crcl-55-but-not-renal-drug"
    ),
    pytest.param(replace(CLEAN, allergies=(Allergy("penicillin", "anaphylaxis"),)), id="allergy-to-another-drug"),
    pytest.param(replace(CLEAN, allergies=(Allergy("taxane", "severe"),)), id="allergy-to-another-class"),
    pytest.param(
        replace(
            CLEAN,
            other_orders=(
                OtherOrder(41, "oxaliplatin", PLATINUM_CLASS, START + dt.timedelta(hours=2), same_plan_day=True),
            ),
        ),
        id="same-drug-on-the-same-plan-day",
    ),
    pytest.param(
        replace(CLEAN, other_orders=(OtherOrder(41, "oxaliplatin", PLATINUM_CLASS, START + dt.timedelta(hours=13)),)),
        id="same-drug-13-h-apart",
    ),
    pytest.param(
        replace(CLEAN, other_orders=(OtherOrder(43, "fluorouracil", "antimetabolite", START),)),
        id="another-drug-at-the-same-time",
    ),
    pytest.param(replace(CLEAN, previous_cycle_start=START - dt.timedelta(days=14)), id="day-14-of-a-14-day-cycle"),
    pytest.param(
        replace(CLEAN, previous_cycle_start=START - dt.timedelta(days=13, hours=12)), id="half-a-day-early-is-tolerated"
    ),
    pytest.param(replace(CLEAN, cycle_days=None), id="not-the-first-day-of-a-cycle"),
    pytest.param(replace(CLEAN, diluent_key=None), id="no-diluent"),
    pytest.param(replace(CLEAN, volume_ml=d(500)), id="152-mg-in-500-ml-is-0.304-mg-per-ml"),
    pytest.param(replace(CLEAN, volume_ml=None), id="no-volume"),
    pytest.param(replace(CLEAN, diagnoses=("C18",), indications=("C18.7",)), id="indication-more-specific"),
    pytest.param(replace(CLEAN, diagnoses=("I10", "C18.7")), id="one-of-several-diagnoses-matches"),
    pytest.param(replace(CLEAN, indications=()), id="regimen-without-indications"),
    pytest.param(
        replace(
            CLEAN,
            drug=DrugFacts(key="ferric-carboxymaltose", name="ferric carboxymaltose", category="iron"),
            basis=None,
            dose=q(1000, "mg"),
            volume_ml=None,
            labs={**LABS, "hemoglobin": lab("12", "g/dL")},
        ),
        id="1000-mg-iron-within-a-1004-mg-deficit",
    ),
    pytest.param(
        with_drug(
            replace(CLEAN, dose=q(150, "mg")), vial_sizes=(q(50, "mg"), q(100, "mg")), rounding_threshold_pct=d(10)
        ),
        id="already-whole-vials",
    ),
    pytest.param(
        with_drug(
            replace(CLEAN, dose=q(152, "mg")), vial_sizes=(q(50, "mg"), q(100, "mg")), rounding_threshold_pct=None
        ),
        id="no-rounding-policy",
    ),
    pytest.param(
        with_drug(
            replace(CLEAN, dose=q(152, "mg")), vial_sizes=(q(50, "mg"), q(100, "mg")), rounding_threshold_pct=d(1)
        ),
        id="rounding-outside-a-1-pct-policy",
    ),
]


@pytest.mark.parametrize("facts", SILENT)
def test_nothing_fires_just_inside_each_threshold(facts):
    review = check(facts)
    assert review.findings == (), [f.message for f in review.findings]


# ---------------------------------------------------------------------------------------------------
# The calculation itself
# ---------------------------------------------------------------------------------------------------


def test_vincristine_is_capped_at_2_mg_and_the_cap_is_recorded():
    """1.4 mg/m² × 1.79 m² = 2.506 mg → capped at the 2 mg maximum single dose."""
    calculation = check(VINCRISTINE).calculation
    assert calculation.dose == q(2, "mg")
    assert calculation.inputs["capped_at"] == "2 mg"
    assert calculation.inputs["calculated"] == "2 mg"


def test_an_ordered_2_5_mg_of_vincristine_is_a_hard_stop_naming_the_cap():
    review = check(replace(VINCRISTINE, dose=q("2.5", "mg")))
    [above] = [f for f in review.hard_stops if f.code is Code.DOSE_ABOVE_MAX]
    assert above.numbers == {"ordered": "2.5 mg", "max": "2 mg"}


def test_carboplatin_auc_dose_uses_cockcroft_gault_crcl_in_calvert():
    """CrCl = (140 − 60) × 70 / (72 × 0.9) × 0.85 = 73.5 mL/min; AUC 5 × (73.5 + 25) = 492.5 mg
    (Calvert et al., J Clin Oncol 1989;7:1748)."""
    calculation = check(CARBOPLATIN).calculation
    assert calculation.inputs["crcl_ml_min"] == "73.5"
    assert calculation.inputs["scr"] == "0.9 mg/dL"
    assert calculation.dose == q("492.5", "mg")
    assert calculation.dose.value == 5 * (Decimal(calculation.inputs["crcl_ml_min"]) + 25)


def test_carboplatin_crcl_above_125_is_capped_so_the_dose_is_auc_times_150():
    """Man of 40, 80 kg, SCr 0.7: CrCl = 100 × 80 / (72 × 0.7) = 158.7 mL/min, capped at 125;
    AUC 5 × (125 + 25) = 750 mg (FDA 2010 cap; Calvert 1989)."""
    facts = replace(
        CARBOPLATIN,
        sex=Sex.MALE,
        age_years=40,
        weight=Observed(q(80, "kg"), YESTERDAY),
        plan_weight_kg=d(80),
        labs={**LABS, "scr": lab("0.7", "mg/dL")},
        dose=q(750, "mg"),
    )
    review = check(facts)
    assert review.calculation.inputs["crcl_ml_min"] == "158.7"
    assert review.calculation.dose == q(750, "mg")
    assert review.findings == ()


def test_carboplatin_with_low_crcl_is_already_renally_dosed_so_no_renal_warning():
    """SCr 1.2: CrCl 55.1 mL/min → AUC 5 × 80.1 = 400.5 mg; Calvert has adjusted it, no RENAL_DOSING."""
    facts = replace(CARBOPLATIN, labs={**LABS, "scr": lab("1.2", "mg/dL")}, dose=q("400.5", "mg"))
    review = check(facts)
    assert review.calculation.inputs["crcl_ml_min"] == "55.1"
    assert review.calculation.dose == q("400.5", "mg")
    assert review.findings == ()


def test_carboplatin_with_creatinine_in_micromoles_gives_the_same_dose():
    """0.9 mg/dL × 88.4 = 79.56 µmol/L: the same CrCl and the same 492.5 mg."""
    facts = replace(CARBOPLATIN, labs={**LABS, "scr": lab("79.56", "umol/L")})
    review = check(facts)
    assert review.calculation.inputs["crcl_ml_min"] == "73.5"
    assert review.calculation.dose == q("492.5", "mg")


def test_carboplatin_ordered_at_the_previous_creatinine_dose_is_a_deviation():
    """The old 492.5 mg against today's 400.5 mg (SCr 1.2) is +23 %: DOSE_DEVIATION warning."""
    review = check(replace(CARBOPLATIN, labs={**LABS, "scr": lab("1.2", "mg/dL")}))
    assert kinds(review) == [(Code.DOSE_DEVIATION, WARN)]
    assert review.findings[0].numbers == {"ordered": "492.5 mg", "calculated": "400.5 mg", "deviation_pct": "23"}


def test_deviation_finding_carries_the_numbers():
    [finding] = check(replace(CLEAN, dose=q("164.32", "mg"))).findings
    assert finding.numbers == {"ordered": "164.32 mg", "calculated": "152.15 mg", "deviation_pct": "8"}


def test_cumulative_finding_carries_before_after_and_limit():
    [finding] = check(replace(DOXORUBICIN, prior_doses=prior_doxorubicin(7))).findings
    assert finding.numbers == {"before": "420 mg/m²", "after": "480 mg/m²", "limit": "450 mg/m²"}


def test_rounding_finding_suggests_150_mg():
    facts = with_drug(
        replace(CLEAN, dose=q(152, "mg")), vial_sizes=(q(50, "mg"), q(100, "mg")), rounding_threshold_pct=d(10)
    )
    [finding] = check(facts).findings
    assert finding.numbers == {"rounded": "150 mg", "deviation_pct": "-1.32"}


# ---------------------------------------------------------------------------------------------------
# Review: hard stops and warnings partition the findings
# ---------------------------------------------------------------------------------------------------


def test_hard_stops_and_warnings_partition_the_findings_and_leave_info_out():
    facts = with_drug(
        with_labs(
            replace(CLEAN, dose=q(152, "mg"), allergies=(Allergy("oxaliplatin", "severe"),)),
            anc=lab("1.2", "10^9/L"),
        ),
        vial_sizes=(q(50, "mg"), q(100, "mg")),
        rounding_threshold_pct=d(10),
    )
    review = check(facts)
    assert [f.code for f in review.hard_stops] == [Code.ALLERGY]
    assert [f.code for f in review.warnings] == [Code.LAB_HOLD]
    info = [f for f in review.findings if f.severity is INFO]
    assert info == []  # rounding is not offered while a hard stop stands
    without_the_stop = check(replace(facts, allergies=()))
    assert [f.code for f in without_the_stop.findings if f.severity is INFO] == [Code.ROUNDING_AVAILABLE]
    assert {id(f) for f in review.hard_stops}.isdisjoint(id(f) for f in review.warnings)
    assert len(review.hard_stops) + len(review.warnings) + len(info) == len(review.findings)
    assert all(f.severity is HARD for f in review.hard_stops)
    assert all(f.severity is WARN for f in review.warnings)


def test_a_review_with_only_info_has_no_hard_stops_or_warnings():
    review = Review(check(CLEAN).calculation, (Finding(Code.ROUNDING_AVAILABLE, INFO, "Round to 150 mg."),))
    assert review.hard_stops == ()
    assert review.warnings == ()


def test_every_severity_of_every_finding_is_one_of_the_three():
    facts = replace(CLEAN, dose=q("1521.5", "mg"), diluent_key="sodium-chloride-0.9", diagnoses=("C50.9",))
    review = check(facts)
    assert {f.severity for f in review.findings} <= set(Severity)
    assert {f.code for f in review.hard_stops} == {Code.DOSE_DEVIATION, Code.DILUENT_INCOMPATIBLE}
    assert {f.code for f in review.warnings} == {Code.CONCENTRATION_OUT_OF_RANGE, Code.INDICATION_MISMATCH}


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------

heights_cm = st.decimals(min_value=Decimal(140), max_value=Decimal(200), places=1)
weights_kg = st.decimals(min_value=Decimal(40), max_value=Decimal(150), places=1)
heights_in = st.decimals(min_value=Decimal("55.2"), max_value=Decimal("78.7"), places=1)
weights_lb = st.decimals(min_value=Decimal("88.2"), max_value=Decimal("330.6"), places=1)


def _person(facts: OrderFacts, height: Quantity, weight: Quantity) -> OrderFacts:
    return replace(facts, height=Observed(height, YESTERDAY), weight=Observed(weight, YESTERDAY), plan_weight_kg=None)


@settings(max_examples=200, deadline=None)
@given(heights_cm, weights_kg)
def test_ordering_the_calculated_dose_never_deviates_or_mismatches(cm, kg):
    facts = _person(CLEAN, Quantity(cm, "cm"), Quantity(kg, "kg"))
    calculated = check(facts).calculation.dose
    assert calculated is not None
    review = check(replace(facts, dose=calculated))
    codes = {f.code for f in review.findings}
    assert Code.DOSE_DEVIATION not in codes
    assert Code.UNIT_MISMATCH not in codes
    assert review.hard_stops == ()


@settings(max_examples=200, deadline=None)
@given(heights_cm, weights_kg)
def test_the_calculated_dose_is_85_times_the_mosteller_bsa(cm, kg):
    """Independent Mosteller: √(cm × kg / 3600) to 0.01 m², × 85 mg/m² (NEJM 1987;317:1098)."""
    bsa = (cm * kg / 3600).sqrt().quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    facts = _person(CLEAN, Quantity(cm, "cm"), Quantity(kg, "kg"))
    assert check(facts).calculation.dose == Quantity((85 * bsa).quantize(Decimal("0.01")), "mg")


@settings(max_examples=200, deadline=None)
@given(heights_in, weights_kg)
def test_the_mg_per_m2_dose_does_not_depend_on_height_in_inches_or_cm(inches, kg):
    """68.9 in is 175.006 cm (1 in = 2.54 cm exactly): the same person, the same dose."""
    in_inches = check(_person(CLEAN, Quantity(inches, "in"), Quantity(kg, "kg"))).calculation
    in_cm = check(_person(CLEAN, Quantity(inches * Decimal("2.54"), "cm"), Quantity(kg, "kg"))).calculation
    assert in_inches.dose == in_cm.dose
    assert in_inches.inputs["bsa_m2"] == in_cm.inputs["bsa_m2"]


@settings(max_examples=100, deadline=None)
@given(heights_in, weights_lb)
def test_the_mg_per_m2_dose_does_not_depend_on_imperial_or_metric_units(inches, lb):
    """1 in = 2.54 cm and 1 lb = 0.45359237 kg exactly, so the BSA and dose are identical."""
    imperial = check(_person(CLEAN, Quantity(inches, "in"), Quantity(lb, "lb"))).calculation
    metric = check(
        _person(CLEAN, Quantity(inches * Decimal("2.54"), "cm"), Quantity(lb * Decimal("0.45359237"), "kg"))
    ).calculation
    assert imperial.dose == metric.dose


# ---------------------------------------------------------------------------------------------------
# Bugs found in rules.py, documented as strict expected failures
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        pytest.param(replace(CLEAN, age_years=10), id="crcl-hold-rule"),
        pytest.param(with_drug(replace(CLEAN, age_years=10, hold_rules=()), renal_adjustment=True), id="renal-drug"),
    ],
)
def test_a_child_with_a_crcl_rule_is_reviewed_not_crashed(facts):
    review = check(facts)
    assert review.findings  # the CrCl could not be worked out: the pharmacist must be told


@pytest.mark.parametrize(
    "facts",
    [
        pytest.param(replace(CLEAN, weight=Observed(q(700, "kg"), YESTERDAY), plan_weight_kg=None), id="weight"),
        pytest.param(
            replace(CLEAN, height=Observed(q(1750, "cm"), YESTERDAY), weight_basis=WeightBasis.AUTO), id="height"
        ),
    ],
)
def test_an_implausible_measurement_with_a_crcl_hold_is_a_finding_not_a_crash(facts):
    review = check(facts)
    assert [(f.code, f.severity) for f in review.findings] == [(Code.IMPLAUSIBLE_MEASUREMENT, HARD)]


def test_a_bilirubin_in_micromoles_still_breaches_a_hold_set_in_mg_per_dl():
    """51.3 µmol/L ÷ 17.1 = 3.0 mg/dL, twice the 1.5 mg/dL hold."""
    review = check(with_labs(CLEAN, bilirubin=lab("51.3", "umol/L")))
    assert Code.LAB_HOLD in {f.code for f in review.findings}
