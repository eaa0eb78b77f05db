"""The whole formulary against the dose rules (issue 14): orders in random units and bases for every
drug, written the way a prescriber would, are refused at entry or cannot be verified whenever an
independent reading of the formulary says they cannot be right; and no rounding suggestion for any
capped drug crosses its cap.

The oracle below does not call the rules: it reads the formulary's own fields (usual dose and its
unit, dose basis, the regimen library's bases) and works the patient's BSA out by Mosteller
(√(165 × 70 / 3600) = 1.79 m²; Mosteller, N Engl J Med 1987;317:1098)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.integration.orders.conftest import chart

from openinfusion.clinical.dosing import AUC_UNIT
from openinfusion.clinical.units import Quantity, conversion_factor, split_unit
from openinfusion.errors import DomainError
from openinfusion.formulary.models import Drug
from openinfusion.orders import facts, rules, services
from openinfusion.orders.models import Regimen

pytestmark = pytest.mark.django_db

BSA_M2 = Decimal("1.79")
WEIGHT_KG = Decimal(70)
UNITS = [
    *("mg", "g", "mcg", "mL", "L", "units", "mEq", "mmol", "mg/m2", "mg/kg", "mcg/kg", "units/kg", "mg.min/mL"),
    *("mg/h", "mg/m2/day", "mg/kg/day", "units/h"),  # rates: refused at entry (write the dose and a duration)
]
PER = {"m2": BSA_M2, "kg": WEIGHT_KG}


def kind(unit: str) -> str:
    if unit in ("AUC", AUC_UNIT):
        return "auc"
    return {"m2": "bsa", "kg": "weight"}.get(split_unit(unit)[1][0], "flat") if "/" in unit else "flat"


def same_kind(a: str, b: str) -> bool:
    try:
        conversion_factor(a, b)
    except DomainError:
        return False
    return True


def amount_unit(unit: str) -> str:
    return "mg" if kind(unit) == "auc" else split_unit(unit)[0]


def should_stop(drug: Drug, value: Decimal, unit: str, library_bases: set[str], measured: bool = True) -> str:
    """Why the formulary says this order cannot be right (or cannot be checked), or ''."""
    if value == 0:
        return "zero dose"
    if set(split_unit(unit)[1]) & {"h", "min", "day"}:
        return "a rate, not a dose"
    usual_kinds = {kind(drug.usual_dose_unit)} | {kind(r["unit"]) for r in drug.alternate_usual_doses}
    by_size = {"bsa", "weight"}
    if (
        not measured
        and drug.usual_dose_unit
        and (kind(unit) in by_size or (kind(unit) == "flat" and usual_kinds <= by_size))
    ):
        return f"{drug.key} is dosed by body size and the chart has no height or weight"
    if drug.usual_dose_unit:
        dosed_in = amount_unit(AUC_UNIT if drug.usual_dose_unit == "AUC" else drug.usual_dose_unit)
        if not same_kind(amount_unit(unit), dosed_in):
            return f"{unit} is not how {drug.key} is dosed ({dosed_in})"
    if "/" in unit and kind(unit) not in {kind(b if b != "flat" else "mg") for b in library_bases}:
        return f"basis {unit} is not one of {sorted(library_bases)}"
    ranges = [(drug.usual_dose_max, drug.usual_dose_unit)] + [
        (Decimal(r["max"]), r["unit"]) for r in drug.alternate_usual_doses
    ]
    ranges = [(top, AUC_UNIT if usual == "AUC" else usual) for top, usual in ranges if top and usual]
    as_written = [
        value * conversion_factor(amount_unit(unit), amount_unit(usual)) / top
        for top, usual in ranges
        if "/" in unit and kind(usual) == kind(unit) and same_kind(amount_unit(unit), amount_unit(usual))
    ]
    as_given = [r for r in (_ratio(value, unit, top, usual) for top, usual in ranges) if r is not None]
    if as_written and min(as_written) >= 3:
        return f"{value} {unit} is 3 × the top of the usual {unit.split('/')[-1]} range of {drug.key} or more"
    if as_given and min(as_given) >= 3:
        return f"{value} {unit} gives 3 × the top of every usual range of {drug.key} or more"
    return ""


def _ratio(value: Decimal, unit: str, top: Decimal, usual: str) -> Decimal | None:
    """The order (as written, and as the dose it gives this patient) against the top of one usual range."""
    usual = AUC_UNIT if usual == "AUC" else usual
    if not same_kind(amount_unit(unit), amount_unit(usual)):
        return None
    factor = conversion_factor(amount_unit(unit), amount_unit(usual))
    if kind(usual) == kind(unit):
        return value * factor / top
    if kind(unit) == "auc" or kind(usual) == "auc":
        return None
    amount = value * factor * (PER[split_unit(unit)[1][0]] if "/" in unit else 1)
    per = PER[split_unit(usual)[1][0]] if "/" in usual else Decimal(1)
    return amount / per / top


@pytest.fixture
def formulary(library):
    drugs = list(Drug.objects.exclude(routes_allowed=[]).order_by("key"))
    bases: dict[str, set[str]] = {d.key: {d.dose_basis} for d in drugs}
    for regimen in Regimen.objects.all():
        for day in regimen.days:
            for line in day["drugs"]:
                bases.setdefault(line["drug"], set()).add(str(line["dose"]["basis"]))
    return drugs, bases


@pytest.fixture
def adult(library, prescriber, site):
    """165 cm, 70 kg, with a creatinine (for AUC doses)."""
    return chart(prescriber, site, height="165 cm", weight="70 kg")


@pytest.fixture
def unmeasured(library, prescriber, site):
    """A chart with no height or weight yet."""
    return chart(prescriber, site, mrn="MRN-1002", height=None, weight=None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    measured=st.booleans(),
    pick=st.integers(min_value=0, max_value=10_000),
    value=st.one_of(
        st.integers(min_value=0, max_value=20_000).map(Decimal),
        st.decimals(min_value="0.01", max_value="100", places=2),
    ),
    unit=st.sampled_from(UNITS),
)
def test_no_order_the_formulary_says_is_wrong_can_be_verified(
    formulary, adult, unmeasured, prescriber, measured, pick, value, unit
):
    drugs, bases = formulary
    drug = drugs[pick % len(drugs)]
    reason = should_stop(drug, value, unit, bases[drug.key], measured)
    text = f"{format(value.normalize(), 'f')} {unit}"
    try:
        order = services.proposed_order(
            adult if measured else unmeasured,
            actor=prescriber,
            drug_key=drug.key,
            dose=text,
            route=drug.routes_allowed[0],
            planned_start=timezone.now() + dt.timedelta(hours=2),
            duration_minutes=60,
        )
        review = services.review(order)
    except DomainError:
        return  # refused at entry: nothing to verify
    if reason:
        assert review.hard_stops, f"{drug.key} {text}: {reason}, but only {[f.code for f in review.findings]}"


def test_every_formulary_drug_can_be_ordered_at_its_usual_dose_without_a_hard_stop(formulary, adult, prescriber):
    """The other side of the oracle: the top of each drug's usual range, in its own basis, is not stopped
    by the dose rules (so the rules above stop slips, not the formulary's own doses)."""
    drugs, _ = formulary
    dose_codes = {rules.Code.UNIT_MISMATCH, rules.Code.BASIS_MISMATCH, rules.Code.DOSE_ABOVE_USUAL}
    stopped = []
    for drug in drugs:
        if drug.usual_dose_max is None or not drug.usual_dose_unit:
            continue
        unit = AUC_UNIT if drug.usual_dose_unit == "AUC" else drug.usual_dose_unit
        order = services.proposed_order(
            adult,
            actor=prescriber,
            drug_key=drug.key,
            dose=f"{format(drug.usual_dose_max.normalize(), 'f')} {unit}",
            route=drug.routes_allowed[0],
            planned_start=timezone.now() + dt.timedelta(hours=2),
            duration_minutes=60,
        )
        codes = {f.code for f in services.review(order).hard_stops} & dose_codes
        if codes:
            stopped.append((drug.key, sorted(codes)))
    assert stopped == []


def test_no_rounding_suggestion_crosses_the_cap_of_any_capped_drug(formulary, adult, prescriber):
    """Every drug with a maximum single dose and vials, under its own rounding policy or a 10 % one:
    doses from 60 % to 140 % of the cap written per kg (the calculation caps them) and ordered as
    calculated; any suggestion stays at or under the cap."""
    drugs, _ = formulary
    capped = [d for d in drugs if d.max_single_dose and d.products.filter(active=True).exists()]
    assert len(capped) >= 3, [d.key for d in capped]
    crossings, suggestions = [], 0
    for drug in capped:
        cap = Quantity(drug.max_single_dose, drug.max_single_dose_unit)
        proposed = services.proposed_order(
            adult,
            actor=prescriber,
            drug_key=drug.key,
            dose=f"{format(cap.value.normalize(), 'f')} {cap.unit}",
            route=drug.routes_allowed[0],
            planned_start=timezone.now() + dt.timedelta(hours=2),
            duration_minutes=60,
        )
        base = facts.order_facts(proposed)
        policy = replace(base.drug, rounding_threshold_pct=base.drug.rounding_threshold_pct or Decimal(10))
        for percent in range(60, 141, 5):
            target = cap.value * percent / 100
            order = replace(
                base,
                drug=policy,
                dose=Quantity(min(target, cap.value), cap.unit),
                basis=Quantity(target / WEIGHT_KG, f"{cap.unit}/kg"),
                allowed_bases=(f"{cap.unit}/kg",),
            )
            for finding in rules.check(order).findings:
                if finding.code is rules.Code.ROUNDING_AVAILABLE:
                    suggestions += 1
                    if Decimal(finding.numbers["rounded"].split()[0]) > cap.value:
                        crossings.append((drug.key, percent, finding.numbers["rounded"]))
    assert crossings == []
    assert suggestions > 0, "some doses under a cap do round (the test would see a crossing)"
