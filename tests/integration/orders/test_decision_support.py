"""Decision support through ``check_order``: every finding code fires from what is really in the
database (chart, plan, formulary, other orders), a clean order gives nothing to act on, and a check
saves nothing. The rules themselves are table-tested in tests/unit/orders; here the facts come
from the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.orders.conftest import PASSWORD, chart, plan_order, post, start_plan, submitted

from openinfusion.audit.models import AuditEvent
from openinfusion.formulary.models import Drug
from openinfusion.orders import services
from openinfusion.orders.models import Order
from openinfusion.orders.rules import Code
from openinfusion.patients.services import record_allergy, record_lab, record_measurement

pytestmark = pytest.mark.django_db

COVERED: dict[Code, str] = {}


def covers(*codes: Code) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(test: Callable[..., None]) -> Callable[..., None]:
        for code in codes:
            COVERED[code] = test.__name__
        return test

    return register


def check(client, **body: Any) -> dict[str, Any]:
    """POST check_order and prove it saved nothing."""
    before = (Order.objects.count(), AuditEvent.objects.count())
    response = post(client, "/api/v1/orders/check", body)
    assert response.status_code == 200, response.content
    assert (Order.objects.count(), AuditEvent.objects.count()) == before
    return response.json()


def by_code(review: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in review["findings"]:
        found.setdefault(finding["code"], []).append(finding)
    return found


def the(review: dict[str, Any], code: Code, severity: str) -> dict[str, Any]:
    """The one finding with this code, checked for its severity and a message for people."""
    found = by_code(review).get(code, [])
    assert len(found) == 1, review["findings"]
    assert found[0]["severity"] == severity and found[0]["message"]
    return found[0]


def proposed(patient, drug: str, dose: str, route: str = "IV", hours: int = 2, **extra: Any) -> dict[str, Any]:
    start = timezone.now() + dt.timedelta(hours=hours)
    return {"patient_id": patient.pk, "drug": drug, "dose": dose, "route": route, "planned_start": start, **extra}


def amend(order, prescriber, **change: Any):
    return services.amend_order(
        order.pk, actor=prescriber, expected_version=order.version, reason="test change", **change
    )


@pytest.fixture
def checker(pharmacist, client_for):
    return client_for(pharmacist)


# --- a clean order ---------------------------------------------------------------------------------


@covers(Code.ROUNDING_AVAILABLE)
def test_a_clean_plan_order_gives_only_information(plan, checker):
    """153 mg oxaliplatin rounds to 150 mg (100 + 50 mg vials, −1.96 %), within the 10 % policy."""
    review = check(checker, order_id=plan_order(plan).pk)
    assert review["calculated"] == "153 mg"
    assert review["inputs"]["bsa_m2"] == "1.8"
    rounding = the(review, Code.ROUNDING_AVAILABLE, "info")
    assert rounding["numbers"] == {"rounded": "150 mg", "deviation_pct": "-1.96"}
    assert {f["severity"] for f in review["findings"]} == {"info"}
    for order in Order.objects.filter(plan=plan, cycle=1):
        severities = {f["severity"] for f in check(checker, order_id=order.pk)["findings"]}
        assert severities <= {"info"}, order


def test_check_order_needs_an_order_or_a_proposal(patient, checker):
    response = post(checker, "/api/v1/orders/check", {})
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"


def test_another_sites_order_cannot_be_checked(plan, make_user, other_site, client_for):
    south = make_user("south-pharmacist", "pharmacist", sites=("south",))
    response = post(client_for(south), "/api/v1/orders/check", {"order_id": plan_order(plan).pk})
    assert response.status_code == 404


# --- measurements ----------------------------------------------------------------------------------


@covers(Code.IMPLAUSIBLE_MEASUREMENT)
def test_a_confirmed_weight_slip_is_a_hard_stop_not_a_dose(plan, prescriber, checker):
    """650 kg (65.0 typed as 650) confirmed past the BMI warning gives a BSA of 5.57 m², more than any
    person has: the dose cannot be calculated."""
    record_measurement(plan.patient_id, actor=prescriber, kind="weight", text="650 kg", confirm_unusual=True)
    review = check(checker, order_id=plan_order(plan).pk)
    assert review["calculated"] is None
    assert "5.57" in the(review, Code.IMPLAUSIBLE_MEASUREMENT, "hard_stop")["message"]


@covers(Code.MEASUREMENT_MISSING)
def test_a_per_m2_dose_without_a_height_cannot_be_checked(library, prescriber, site, checker):
    patient = chart(prescriber, site, height=None)
    response = post(checker, "/api/v1/orders/check", {"proposed": proposed(patient, "oxaliplatin", "85 mg/m2")})
    assert response.status_code == 422  # a proposed per-m² dose needs its inputs to be calculated at all
    assert response.json()["code"] == "MEASUREMENT_MISSING"
    assert not Order.objects.exists()

    # An order that reached the database without its inputs (an interface, a migration) is a hard stop.
    drug = Drug.objects.get(key="oxaliplatin")
    order = Order.objects.create(
        site=site,
        patient=patient,
        drug=drug,
        dose=Decimal(150),
        dose_unit="mg",
        basis_value=Decimal(85),
        basis_unit="mg/m2",
        route="IV",
        planned_start=timezone.now() + dt.timedelta(hours=2),
        prescriber=prescriber,
        created_at=timezone.now(),
    )
    review = check(checker, order_id=order.pk)
    assert "No height" in the(review, Code.MEASUREMENT_MISSING, "hard_stop")["message"]


@covers(Code.STALE_MEASUREMENT)
def test_a_weight_older_than_30_days_is_a_warning(library, prescriber, site, checker):
    patient = chart(prescriber, site, weight=None)
    record_measurement(
        patient.pk, actor=prescriber, kind="weight", text="68 kg", taken_at=timezone.now() - dt.timedelta(days=40)
    )
    review = check(checker, proposed=proposed(patient, "oxaliplatin", "85 mg/m2", diluent="dextrose-5"))
    assert the(review, Code.STALE_MEASUREMENT, "warning")["numbers"]["age_days"] == "40"


def test_a_weight_change_of_more_than_10_percent_since_the_plan_is_a_warning(plan, prescriber, checker):
    record_measurement(plan.patient_id, actor=prescriber, kind="weight", text="78 kg", confirm_unusual=True)
    stale = the(check(checker, order_id=plan_order(plan).pk), Code.STALE_MEASUREMENT, "warning")
    assert stale["numbers"] == {"plan_weight_kg": "68", "weight_kg": "78"}


# --- the dose --------------------------------------------------------------------------------------


@covers(Code.DOSE_DEVIATION)
@pytest.mark.parametrize(
    ("dose", "severity", "deviation"), [("165 mg", "warning", "7.8"), ("320 mg", "hard_stop", "109.2")]
)
def test_an_ordered_dose_off_its_calculation_is_flagged(plan, prescriber, checker, dose, severity, deviation):
    """Against 153 mg: 165 mg is +7.8 % (over the 5 % policy); 320 mg is 2.09 × (a slip)."""
    order = amend(plan_order(plan), prescriber, dose=dose)
    finding = the(check(checker, order_id=order.pk), Code.DOSE_DEVIATION, severity)
    assert finding["numbers"] == {"ordered": dose, "calculated": "153 mg", "deviation_pct": deviation}


@covers(Code.UNIT_MISMATCH)
@pytest.mark.parametrize("dose", ["153 g", "153 mL"])
def test_a_dose_in_the_wrong_unit_is_a_hard_stop(plan, prescriber, checker, dose):
    order = amend(plan_order(plan), prescriber, dose=dose)
    finding = the(check(checker, order_id=order.pk), Code.UNIT_MISMATCH, "hard_stop")
    assert finding["numbers"]["ordered"] == dose


@covers(Code.DOSE_ABOVE_MAX)
def test_a_dose_above_the_drugs_maximum_is_a_hard_stop(patient, checker):
    """Vincristine is capped at 2 mg a dose (the formulary's max_single_dose)."""
    review = check(checker, proposed=proposed(patient, "vincristine", "2.5 mg"))
    assert the(review, Code.DOSE_ABOVE_MAX, "hard_stop")["numbers"] == {"ordered": "2.5 mg", "max": "2 mg"}


@covers(Code.CUMULATIVE_LIMIT)
def test_a_dose_past_the_lifetime_limit_is_a_warning(patient, prescriber, pharmacist, checker):
    """Doxorubicin's lifetime limit is 450 mg/m²: 2 × 150 mg/m² verified in the last months + 200 mg/m²
    now = 500 (each above the usual 40–75 mg/m², a warning the pharmacist accepted)."""
    for days_ago in (60, 30):
        earlier = services.create_order(
            patient.pk,
            actor=prescriber,
            drug_key="doxorubicin",
            dose="150 mg/m2",
            route="IV",
            planned_start=timezone.now() - dt.timedelta(days=days_ago),
        )
        earlier = submitted(earlier, prescriber)
        warnings = {f.code.value: "reviewed" for f in services.review(earlier).warnings}
        services.verify_order(
            earlier.pk, actor=pharmacist, expected_version=earlier.version, password=PASSWORD, overrides=warnings
        )
    review = check(checker, proposed=proposed(patient, "doxorubicin", "200 mg/m2"))
    numbers = the(review, Code.CUMULATIVE_LIMIT, "warning")["numbers"]
    assert (numbers["before"], numbers["after"], numbers["limit"]) == ("300 mg/m²", "500 mg/m²", "450 mg/m²")


# --- labs and kidney function ----------------------------------------------------------------------


@covers(Code.LAB_HOLD)
def test_a_lab_below_the_regimens_hold_is_a_warning(plan, prescriber, checker):
    record_lab(plan.patient_id, actor=prescriber, test="anc", value="1.0", unit="10^9/L")
    hold = the(check(checker, order_id=plan_order(plan).pk), Code.LAB_HOLD, "warning")
    assert hold["numbers"]["lab"] == "anc" and hold["numbers"]["value"] == "1 10^9/L"


@covers(Code.LAB_MISSING)
def test_labs_older_than_the_regimen_allows_are_missing(library, prescriber, site, checker):
    """mFOLFOX6 wants ANC, platelets, creatinine, bilirubin, AST and ALT within 3 days of the dose."""
    patient = chart(prescriber, site, labs_taken_at=timezone.now() - dt.timedelta(days=5))
    plan = start_plan(prescriber, patient, cycles=1)
    missing = by_code(check(checker, order_id=plan_order(plan).pk))[Code.LAB_MISSING]
    assert sorted(f["numbers"]["lab"] for f in missing) == sorted(
        ["anc", "platelets", "scr", "bilirubin", "ast", "alt"]
    )
    assert {f["severity"] for f in missing} == {"warning"}


@covers(Code.RENAL_DOSING)
def test_a_renally_dosed_drug_with_a_low_clearance_is_a_warning(plan, prescriber, checker):
    """Cockcroft–Gault for a 60-year-old woman, 68 kg, SCr 2.0 mg/dL: 80 × 68 / (72 × 2.0) × 0.85 ≈ 32 mL/min."""
    record_lab(plan.patient_id, actor=prescriber, test="scr", value="2.0", unit="mg/dL")
    renal = the(check(checker, order_id=plan_order(plan).pk), Code.RENAL_DOSING, "warning")
    assert Decimal(renal["numbers"]["crcl_ml_min"]) < 60


# --- the patient and other orders ------------------------------------------------------------------


@covers(Code.ALLERGY)
@pytest.mark.parametrize(
    ("substance", "is_class", "severity", "expected"),
    [("oxaliplatin", False, "anaphylaxis", "hard_stop"), ("platinum", True, "moderate", "warning")],
)
def test_a_recorded_allergy_is_flagged(plan, prescriber, checker, substance, is_class, severity, expected):
    record_allergy(plan.patient_id, actor=prescriber, substance=substance, severity=severity, is_class=is_class)
    allergy = the(check(checker, order_id=plan_order(plan).pk), Code.ALLERGY, expected)
    assert (allergy["numbers"]["substance"], allergy["numbers"]["severity"]) == (substance, severity)


@covers(Code.DUPLICATE_THERAPY)
def test_the_same_drug_within_12_hours_is_a_duplicate(patient, prescriber, checker):
    first = services.create_order(
        patient.pk,
        actor=prescriber,
        drug_key="cefazolin",
        dose="2 g",
        route="IV",
        planned_start=timezone.now() + dt.timedelta(hours=3),
    )
    review = check(checker, proposed=proposed(patient, "cefazolin", "1 g", hours=5))
    assert the(review, Code.DUPLICATE_THERAPY, "warning")["numbers"] == {"other_order": str(first.pk)}
    later = check(checker, proposed=proposed(patient, "cefazolin", "1 g", hours=20))
    assert Code.DUPLICATE_THERAPY not in by_code(later)


@covers(Code.CYCLE_TOO_EARLY)
def test_a_cycle_started_before_the_regimens_interval_is_a_warning(plan, prescriber, checker):
    first = plan_order(plan, cycle=1)
    second = amend(plan_order(plan, cycle=2), prescriber, planned_start=first.planned_start + dt.timedelta(days=7))
    early = the(check(checker, order_id=second.pk), Code.CYCLE_TOO_EARLY, "warning")
    assert early["numbers"] == {"elapsed_days": "7", "cycle_days": "14"}
    assert Code.CYCLE_TOO_EARLY not in by_code(check(checker, order_id=plan_order(plan, cycle=3).pk))


# --- route, diluent, concentration, indication -----------------------------------------------------


@covers(Code.ROUTE_FORBIDDEN)
def test_intrathecal_vincristine_is_a_hard_stop(patient, checker):
    """ISMP: vincristine given intrathecally is fatal."""
    review = check(checker, proposed=proposed(patient, "vincristine", "1.4 mg", route="intrathecal"))
    assert the(review, Code.ROUTE_FORBIDDEN, "hard_stop")["numbers"] == {"route": "intrathecal"}


@covers(Code.DILUENT_INCOMPATIBLE)
def test_oxaliplatin_in_saline_is_a_hard_stop(patient, checker):
    """Oxaliplatin label: never chloride-containing solutions; dilute in D5W only."""
    body = proposed(patient, "oxaliplatin", "150 mg", diluent="sodium-chloride-0.9", volume_ml="250")
    finding = the(check(checker, proposed=body), Code.DILUENT_INCOMPATIBLE, "hard_stop")
    assert "dextrose-5" in finding["message"]


@covers(Code.CONCENTRATION_OUT_OF_RANGE)
def test_a_final_concentration_outside_the_labels_range_is_a_warning(patient, checker):
    """Oxaliplatin 0.2–0.7 mg/mL: 150 mg in 100 mL is 1.5 mg/mL."""
    body = proposed(patient, "oxaliplatin", "150 mg", diluent="dextrose-5", volume_ml="100")
    finding = the(check(checker, proposed=body), Code.CONCENTRATION_OUT_OF_RANGE, "warning")
    assert finding["numbers"] == {"concentration": "1.5 mg/mL", "allowed": "0.2–0.7 mg/mL"}
    in_range = check(checker, proposed={**body, "volume_ml": "250"})
    assert Code.CONCENTRATION_OUT_OF_RANGE not in by_code(in_range)


@covers(Code.INDICATION_MISMATCH)
def test_a_regimen_without_the_patients_diagnosis_is_a_warning(library, prescriber, site, checker):
    """mFOLFOX6 is indicated for C18–C20; a breast cancer (C50.9) patient does not match."""
    patient = chart(prescriber, site, diagnosis="C50.9")
    plan = start_plan(prescriber, patient, cycles=1)
    finding = the(check(checker, order_id=plan_order(plan).pk), Code.INDICATION_MISMATCH, "warning")
    assert "C50.9" in finding["message"]


# --- doses that cannot be right (issue 14) -----------------------------------------------------------


@covers(Code.INVALID_DOSE)
def test_an_order_that_reached_the_database_with_a_zero_dose_is_a_hard_stop(plan, checker):
    """Typed doses of 0 are refused at entry (test_dose_safety); one that arrives another way (an older
    record, an interface) still cannot be verified."""
    order = plan_order(plan)
    Order.objects.filter(pk=order.pk).update(dose=0, basis_value=None, basis_unit="")
    assert the(check(checker, order_id=order.pk), Code.INVALID_DOSE, "hard_stop")["numbers"] == {"ordered": "0 mg"}


@covers(Code.BASIS_MISMATCH)
def test_oxaliplatin_written_per_kg_in_a_per_m2_regimen_is_a_hard_stop(plan, prescriber, checker):
    """mFOLFOX6 doses oxaliplatin at 85 mg/m²; 85 mg/kg × 68 kg is 5780 mg, 25 × the top of the usual range."""
    order = amend(plan_order(plan), prescriber, dose="85 mg/kg")
    review = check(checker, order_id=order.pk)
    assert the(review, Code.BASIS_MISMATCH, "hard_stop")["numbers"]["expected"] == "mg/m2"
    assert the(review, Code.DOSE_ABOVE_USUAL, "hard_stop")["numbers"]["usual_max"] == "130 mg/m²"


@covers(Code.DOSE_ABOVE_USUAL)
@pytest.mark.parametrize(("dose", "severity"), [("40 mg", "warning"), ("200 mg", "hard_stop")])
def test_a_dose_above_the_usual_range_warns_and_ten_times_it_stops(patient, checker, dose, severity):
    """Dexamethasone's usual IV dose is 4–20 mg (formulary): 40 mg is twice the top, 200 mg ten times."""
    review = check(checker, proposed=proposed(patient, "dexamethasone", dose, duration_minutes=15))
    assert the(review, Code.DOSE_ABOVE_USUAL, severity)["numbers"]["usual_max"] == "20 mg"


@covers(Code.RATE_MISSING)
def test_an_infusion_without_a_duration_or_a_standard_time_is_a_hard_stop(patient, checker):
    """Sodium chloride 0.9 % has no standard infusion time in the formulary: 1000 mL needs one."""
    review = check(checker, proposed=proposed(patient, "sodium-chloride-0.9", "1000 mL"))
    assert the(review, Code.RATE_MISSING, "hard_stop")["numbers"] == {"route": "IV"}
    timed = check(checker, proposed=proposed(patient, "sodium-chloride-0.9", "1000 mL", duration_minutes=240))
    assert Code.RATE_MISSING not in by_code(timed)


@covers(Code.IRON_ABOVE_DEFICIT)
def test_iv_iron_above_the_ganzoni_deficit_is_a_warning(patient, prescriber, checker):
    """68 kg, Hb 12 g/dL: 68 × (15 − 12) × 2.4 + 500 = 989.6 → 990 mg (Venofer SmPC 4.2 defaults)."""
    record_lab(patient.pk, actor=prescriber, test="hemoglobin", value="12", unit="g/dL")
    over = check(checker, proposed=proposed(patient, "ferric-carboxymaltose", "1000 mg", duration_minutes=15))
    assert the(over, Code.IRON_ABOVE_DEFICIT, "warning")["numbers"]["deficit"] == "990 mg"
    within = check(checker, proposed=proposed(patient, "ferric-carboxymaltose", "750 mg", duration_minutes=15))
    assert Code.IRON_ABOVE_DEFICIT not in by_code(within)


def test_every_finding_code_has_an_integration_test():
    assert set(COVERED) == set(Code), sorted(set(Code) - set(COVERED))
