"""Dose from basis, Calvert carboplatin dosing with the FDA GFR cap, deviation and reduction.

Calvert: dose (mg) = target AUC × (GFR + 25) (Calvert et al., J Clin Oncol 1989). FDA 2010: cap an
estimated GFR at 125 mL/min, so the maximum dose is AUC × 150
(https://www.fda.gov/AboutFDA/CentersOffices/OfficeofMedicalProductsandTobacco/CDER/ucm228974.htm);
NCCN Appendix B tabulates AUC 6 → 900 mg, 5 → 750 mg, 4 → 600 mg. Worked examples and the dose
table: https://creatinineclearancecalculator.net/dosing/calvert/. Vincristine's 2 mg maximum
single dose is the usual cap (reference file section 2; label).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.dosing import (
    BasisKind,
    basis_kind,
    calvert_dose,
    dose_from_basis,
    dose_in_basis,
    percent_deviation,
    reduce_dose,
)
from openinfusion.clinical.units import Quantity, parse_quantity
from openinfusion.errors import InvalidInput

P = parse_quantity


def test_calvert_worked_example_auc_5_gfr_90_is_575_mg():
    """5 × (90 + 25) = 575 mg."""
    dose = calvert_dose(Decimal(5), Decimal(90))
    assert (dose.dose_mg, dose.gfr_used_ml_min, dose.gfr_capped) == (Decimal(575), Decimal(90), False)


def test_calvert_caps_an_estimated_gfr_at_125():
    """GFR 140 is treated as 125: 5 × 150 = 750 mg instead of the uncapped 825 mg."""
    dose = calvert_dose(Decimal(5), Decimal(140))
    assert (dose.dose_mg, dose.uncapped_dose_mg, dose.gfr_used_ml_min, dose.gfr_capped) == (
        Decimal(750),
        Decimal(825),
        Decimal(125),
        True,
    )


@pytest.mark.parametrize(
    ("gfr", "auc4", "auc5", "auc6"),
    [(50, 300, 375, 450), (75, 400, 500, 600), (100, 500, 625, 750), (125, 600, 750, 900), (200, 600, 750, 900)],
)
def test_calvert_dose_table_and_nccn_maximum_doses(gfr, auc4, auc5, auc6):
    for auc, expected in ((4, auc4), (5, auc5), (6, auc6)):
        assert calvert_dose(Decimal(auc), Decimal(gfr)).dose_mg == Decimal(expected)


def test_calvert_without_a_cap_uses_the_gfr_as_given():
    assert calvert_dose(Decimal(5), Decimal(140), gfr_cap_ml_min=None).dose_mg == Decimal(825)


@pytest.mark.parametrize(("auc", "gfr", "cap"), [("0", "90", "125"), ("5", "0", "125"), ("5", "90", "0")])
def test_calvert_refuses_impossible_inputs(auc, gfr, cap):
    with pytest.raises(InvalidInput):
        calvert_dose(Decimal(auc), Decimal(gfr), gfr_cap_ml_min=Decimal(cap))


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal(10), places=1),
    st.decimals(min_value=Decimal(1), max_value=Decimal(400), places=1),
)
def test_calvert_never_exceeds_auc_times_150_with_the_default_cap(auc, gfr):
    assert calvert_dose(auc, gfr).dose_mg <= auc * 150


@settings(max_examples=150, deadline=None)
@given(
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal(10), places=1),
    st.decimals(min_value=Decimal(1), max_value=Decimal(300), places=1),
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal(50), places=1),
)
def test_calvert_dose_rises_with_gfr(auc, gfr, more):
    assert calvert_dose(auc, gfr + more).dose_mg >= calvert_dose(auc, gfr).dose_mg


@pytest.mark.parametrize(
    ("unit", "kind"),
    [
        ("mg", BasisKind.FLAT),
        ("mg/m2", BasisKind.PER_BSA),
        ("mg/m2/day", BasisKind.PER_BSA),
        ("mg/kg", BasisKind.PER_WEIGHT),
        ("units/kg", BasisKind.PER_WEIGHT),
        ("mg.min/mL", BasisKind.AUC),
        ("mg/h", BasisKind.FLAT),
    ],
)
def test_basis_kind_is_read_from_the_unit(unit, kind):
    assert basis_kind(unit) is kind


def test_dose_per_m2():
    """Rituximab 375 mg/m² × 1.9 m² = 712.5 mg."""
    dose = dose_from_basis(P("375 mg/m2"), bsa_m2=Decimal("1.9"))
    assert (dose.dose, dose.kind, dose.capped_at_max) == (Quantity(Decimal("712.5"), "mg"), BasisKind.PER_BSA, False)


def test_dose_per_kg_and_units_per_kg():
    """Infliximab 5 mg/kg × 70 kg = 350 mg; heparin 80 units/kg × 154 lb (69.8532 kg) = 5588.26 units."""
    assert dose_from_basis(P("5 mg/kg"), weight=P("70 kg")).dose == Quantity(Decimal(350), "mg")
    assert dose_from_basis(P("80 units/kg"), weight=P("154 lb")).dose == Quantity(Decimal("5588.26"), "units")


def test_a_per_m2_per_day_basis_gives_a_daily_dose():
    assert dose_from_basis(P("1000 mg/m2/day"), bsa_m2=Decimal("1.8")).dose == Quantity(Decimal(1800), "mg/day")


def test_a_flat_dose_is_the_dose():
    assert dose_from_basis(P("4 mg")).dose == Quantity(Decimal(4), "mg")


def test_an_auc_basis_uses_calvert():
    dose = dose_from_basis(P("5 mg.min/mL"), gfr_ml_min=Decimal(140))
    assert dose.dose == Quantity(Decimal(750), "mg")
    assert dose.carboplatin is not None and dose.carboplatin.gfr_capped


def test_vincristine_is_capped_at_its_2_mg_maximum_single_dose():
    """1.4 mg/m² × 1.84 m² = 2.58 mg → capped at 2 mg."""
    dose = dose_from_basis(P("1.4 mg/m2"), bsa_m2=Decimal("1.84"), max_dose=P("2 mg"))
    assert (dose.dose, dose.uncapped, dose.capped_at_max) == (
        Quantity(Decimal(2), "mg"),
        Quantity(Decimal("2.58"), "mg"),
        True,
    )
    assert dose_from_basis(P("1.4 mg/m2"), bsa_m2=Decimal("1.2"), max_dose=P("2000 mcg")).capped_at_max is False


@pytest.mark.parametrize(
    ("basis", "kwargs", "code"),
    [
        ("375 mg/m2", {}, "MISSING_BSA"),
        ("5 mg/kg", {}, "MISSING_WEIGHT"),
        ("5 mg.min/mL", {}, "MISSING_GFR"),
        ("375 mg/m2", {"bsa_m2": Decimal(19)}, "IMPLAUSIBLE_MEASUREMENT"),
        ("5 mg/kg", {"weight": Quantity(Decimal(700), "kg")}, "IMPLAUSIBLE_MEASUREMENT"),
        ("2 mg", {"max_dose": Quantity(Decimal(2), "units")}, "UNIT_DIMENSION_MISMATCH"),
    ],
)
def test_dose_from_basis_refuses_what_it_cannot_compute(basis, kwargs, code):
    with pytest.raises(InvalidInput) as refused:
        dose_from_basis(P(basis), **kwargs)
    assert refused.value.code == code


def test_dose_in_basis_is_the_inverse_for_cumulative_totals():
    """690 mg at 1.84 m² = 375 mg/m²; 350 mg at 70 kg = 5 mg/kg."""
    assert dose_in_basis(P("690 mg"), "mg/m2", bsa_m2=Decimal("1.84")) == Quantity(Decimal(375), "mg/m2")
    assert dose_in_basis(P("0.35 g"), "mg/kg", weight=P("70 kg")) == Quantity(Decimal(5), "mg/kg")
    assert dose_in_basis(P("2 mg"), "mcg") == Quantity(Decimal(2000), "mcg")
    with pytest.raises(InvalidInput):
        dose_in_basis(P("575 mg"), "mg.min/mL")
    with pytest.raises(InvalidInput):
        dose_in_basis(P("350 mg"), "mg/kg")


def test_percent_deviation_of_an_ordered_dose():
    """(700 − 712.5) / 712.5 = −1.75 %; (0.8 g − 712.5 mg) / 712.5 mg = +12.28 %."""
    assert percent_deviation(P("700 mg"), P("712.5 mg")) == Decimal("-1.75")
    assert percent_deviation(P("0.8 g"), P("712.5 mg")) == Decimal("12.28")
    with pytest.raises(InvalidInput):
        percent_deviation(P("700 mg"), P("0 mg"))
    with pytest.raises(InvalidInput):
        percent_deviation(P("700 units"), P("712.5 mg"))


def test_dose_reduction_by_percent():
    """25 % reduction of 712.5 mg = 534.375 → 534.38 mg."""
    assert reduce_dose(P("712.5 mg"), Decimal(25)) == Quantity(Decimal("534.38"), "mg")
    for impossible in (Decimal(-5), Decimal(100)):
        with pytest.raises(InvalidInput):
            reduce_dose(P("712.5 mg"), impossible)


@settings(max_examples=150, deadline=None)
@given(
    st.decimals(min_value=Decimal(1), max_value=Decimal(1000), places=1),
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2.8"), places=2),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.5"), places=2),
)
def test_a_dose_per_m2_rises_with_bsa(basis, bsa, more):
    per_m2 = Quantity(basis, "mg/m2")
    assert dose_from_basis(per_m2, bsa_m2=bsa + more).dose.value >= dose_from_basis(per_m2, bsa_m2=bsa).dose.value
