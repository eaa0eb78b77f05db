"""Kidney function: Cockcroft–Gault and CKD-EPI 2021.

Cockcroft–Gault: CrCl = (140 − age) × weight / (72 × SCr) × 0.85 if female (Taber's,
https://www.tabers.com/tabersonline/view/Tabers-Dictionary/738131/all/Cockcroft_Gault_formula).
Worked examples: superglobalcalculator.com/formulas/pharmacology/creatinine-clearance and
/formulas/health/creatinine-clearance, theprimecalculator.com/health/creatinine-clearance/formula.
µmol/L ÷ 88.4 = mg/dL. Weight rules: NCCN Chemotherapy Order Templates, Appendix B (AdjBW 0.4 when
BMI ≥ 25; consider an SCr floor of 0.7 mg/dL).
CKD-EPI 2021: https://kidney.org/ckd-epi-creatinine-equation-2021 and NIDDK
(https://www.niddk.nih.gov/research-funding/research-programs/kidney-clinical-research-epidemiology/
laboratory/glomerular-filtration-rate-equations/adults); expected values computed independently
from the published equation (floating point) and given to the decimal in each test.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.body import Sex
from openinfusion.clinical.renal import WeightBasis, ckd_epi_2021, cockcroft_gault, serum_creatinine_mg_dl
from openinfusion.clinical.units import Quantity, parse_quantity
from openinfusion.errors import InvalidInput

P = parse_quantity


@pytest.mark.parametrize(
    ("age", "sex", "weight", "scr", "expected"),
    [
        (65, Sex.MALE, "70 kg", "1.4 mg/dL", "52.1"),  # superglobalcalculator example 1: 75 × 70 / 100.8
        (45, Sex.FEMALE, "60 kg", "0.9 mg/dL", "74.8"),  # superglobalcalculator example 2: 5700 / 64.8 × 0.85
        (60, Sex.MALE, "80 kg", "1.2 mg/dL", "74.1"),  # superglobalcalculator (health): 6400 / 86.4
        (50, Sex.MALE, "80 kg", "1.0 mg/dL", "100.0"),  # theprimecalculator worked example: 7200 / 72
        (70, Sex.MALE, "75 kg", "1 mg/dL", "72.9"),  # droracle example: 5250 / 72
    ],
)
def test_cockcroft_gault_published_examples(age, sex, weight, scr, expected):
    crcl = cockcroft_gault(age_years=age, sex=sex, weight=P(weight), scr=P(scr))
    assert crcl.ml_min == Decimal(expected)
    assert crcl.weight_basis is WeightBasis.ACTUAL


def test_creatinine_in_micromoles_is_divided_by_88_4():
    """124 µmol/L / 88.4 = 1.4027 → 1.40 mg/dL; the same CrCl as example 1 (52.1 mL/min)."""
    assert serum_creatinine_mg_dl(P("124 umol/L")) == Decimal("1.40")
    assert cockcroft_gault(age_years=65, sex=Sex.MALE, weight=P("70 kg"), scr=P("124 µmol/L")).ml_min == Decimal("52.1")
    assert serum_creatinine_mg_dl(P("0.124 mmol/L")) == Decimal("1.40")


def test_auto_weight_basis_uses_adjusted_weight_when_bmi_is_25_or_more():
    """175 cm, 100 kg (BMI 32.7): AdjBW 82.3 kg; (140 − 65) × 82.3 / (72 × 1.4) = 61.2 mL/min."""
    crcl = cockcroft_gault(
        age_years=65,
        sex=Sex.MALE,
        weight=P("100 kg"),
        height=P("175 cm"),
        scr=P("1.4 mg/dL"),
        weight_basis=WeightBasis.AUTO,
    )
    assert (crcl.ml_min, crcl.weight_used_kg, crcl.weight_basis) == (
        Decimal("61.2"),
        Decimal("82.3"),
        WeightBasis.ADJUSTED,
    )
    lean = cockcroft_gault(
        age_years=65,
        sex=Sex.MALE,
        weight=P("70 kg"),
        height=P("175 cm"),
        scr=P("1.4 mg/dL"),
        weight_basis=WeightBasis.AUTO,
    )
    assert (lean.weight_used_kg, lean.weight_basis) == (Decimal("70.0"), WeightBasis.ACTUAL)


def test_ideal_weight_basis_uses_devine_ibw():
    """IBW 70.5 kg: 75 × 70.5 / 100.8 = 52.5 mL/min."""
    crcl = cockcroft_gault(
        age_years=65,
        sex=Sex.MALE,
        weight=P("100 kg"),
        height=P("175 cm"),
        scr=P("1.4 mg/dL"),
        weight_basis=WeightBasis.IDEAL,
    )
    assert (crcl.ml_min, crcl.weight_used_kg) == (Decimal("52.5"), Decimal("70.5"))


def test_the_weight_used_is_never_more_than_the_actual_weight():
    crcl = cockcroft_gault(
        age_years=80,
        sex=Sex.FEMALE,
        weight=P("45 kg"),
        height=P("165 cm"),
        scr=P("0.9 mg/dL"),
        weight_basis=WeightBasis.IDEAL,
    )
    assert (crcl.weight_used_kg, crcl.weight_basis) == (Decimal("45.0"), WeightBasis.ACTUAL)
    assert "actual weight was used" in crcl.warnings[0]


def test_an_scr_floor_raises_a_low_creatinine_and_says_so():
    """SCr 0.5 raised to 0.7: (140 − 80) × 60 / (72 × 0.7) × 0.85 = 60.7 mL/min."""
    crcl = cockcroft_gault(
        age_years=80, sex=Sex.FEMALE, weight=P("60 kg"), scr=P("0.5 mg/dL"), scr_floor_mg_dl=Decimal("0.7")
    )
    assert (crcl.ml_min, crcl.scr_used_mg_dl, crcl.scr_floor_applied) == (Decimal("60.7"), Decimal("0.7"), True)
    assert "floor" in crcl.warnings[-1]
    with pytest.raises(InvalidInput):
        cockcroft_gault(age_years=80, sex=Sex.FEMALE, weight=P("60 kg"), scr=P("0.5 mg/dL"), scr_floor_mg_dl=Decimal(0))


@pytest.mark.parametrize(
    ("scr", "meant"),
    [("88 mg/dL", "88 µmol/L = 1 mg/dL"), ("1.1 umol/L", "1.1 mg/dL"), ("0.05 mg/dL", "µmol/L")],
)
def test_implausible_creatinine_is_refused_naming_the_other_unit(scr, meant):
    with pytest.raises(InvalidInput) as refused:
        serum_creatinine_mg_dl(P(scr))
    assert refused.value.code == "IMPLAUSIBLE_MEASUREMENT"
    assert meant in refused.value.message


def test_creatinine_in_a_unit_of_the_wrong_kind_is_refused():
    with pytest.raises(InvalidInput) as refused:
        serum_creatinine_mg_dl(P("1.4 mg"))
    assert refused.value.code == "UNIT_DIMENSION_MISMATCH"


def test_height_is_needed_for_ideal_adjusted_and_auto_weights():
    with pytest.raises(InvalidInput) as refused:
        cockcroft_gault(age_years=65, sex=Sex.MALE, weight=P("70 kg"), scr=P("1 mg/dL"), weight_basis=WeightBasis.AUTO)
    assert refused.value.code == "MISSING_HEIGHT"


@pytest.mark.parametrize(("age", "code"), [(17, "ADULT_EQUATION"), (121, "IMPLAUSIBLE_MEASUREMENT")])
def test_both_equations_are_for_adults(age, code):
    for refuse in (
        lambda: cockcroft_gault(age_years=age, sex=Sex.MALE, weight=P("70 kg"), scr=P("1 mg/dL")),
        lambda: ckd_epi_2021(age_years=age, sex=Sex.MALE, scr=P("1 mg/dL")),
    ):
        with pytest.raises(InvalidInput) as refused:
            refuse()
        assert refused.value.code == code


@pytest.mark.parametrize(
    ("age", "sex", "scr", "expected"),
    [
        (55, Sex.FEMALE, "0.9 mg/dL", 75),  # 75.499 (SCr above κ 0.7: exponent −1.200)
        (50, Sex.MALE, "1.0 mg/dL", 92),  # 91.69
        (55, Sex.MALE, "0.9 mg/dL", 101),  # 100.86 (SCr = κ)
        (70, Sex.FEMALE, "0.6 mg/dL", 97),  # 96.50 (SCr below κ: exponent α −0.241)
        (40, Sex.MALE, "2.0 mg/dL", 42),  # 42.47
    ],
)
def test_ckd_epi_2021_matches_the_published_equation(age, sex, scr, expected):
    assert ckd_epi_2021(age_years=age, sex=sex, scr=P(scr)).ml_min_1_73m2 == Decimal(expected)


def test_ckd_epi_can_be_de_indexed_by_bsa():
    """101 mL/min/1.73 m² × 2.1 m² / 1.73 = 122.6 mL/min."""
    egfr = ckd_epi_2021(age_years=55, sex=Sex.MALE, scr=P("0.9 mg/dL"), bsa_m2=Decimal("2.1"))
    assert (egfr.ml_min_1_73m2, egfr.ml_min) == (Decimal(101), Decimal("122.6"))
    with pytest.raises(InvalidInput):
        ckd_epi_2021(age_years=55, sex=Sex.MALE, scr=P("0.9 mg/dL"), bsa_m2=Decimal(0))


creatinines = st.decimals(min_value=Decimal("0.3"), max_value=Decimal(10), places=2)


@settings(max_examples=150, deadline=None)
@given(st.integers(18, 100), st.sampled_from(list(Sex)), creatinines, creatinines)
def test_kidney_function_falls_as_creatinine_rises(age, sex, first, second):
    low, high = sorted((first, second))
    assert (
        ckd_epi_2021(age_years=age, sex=sex, scr=Quantity(high, "mg/dL")).ml_min_1_73m2
        <= ckd_epi_2021(age_years=age, sex=sex, scr=Quantity(low, "mg/dL")).ml_min_1_73m2
    )
    weight = Quantity(Decimal(70), "kg")
    assert cockcroft_gault(age_years=age, sex=sex, weight=weight, scr=Quantity(high, "mg/dL")).ml_min <= (
        cockcroft_gault(age_years=age, sex=sex, weight=weight, scr=Quantity(low, "mg/dL")).ml_min
    )


@settings(max_examples=150, deadline=None)
@given(st.integers(18, 99), creatinines)
def test_kidney_function_falls_with_age(age, scr):
    for sex in Sex:
        older, younger = (
            ckd_epi_2021(age_years=a, sex=sex, scr=Quantity(scr, "mg/dL")).ml_min_1_73m2 for a in (age + 1, age)
        )
        assert older <= younger
