"""Body size: BSA by five formulas, BMI, Devine IBW, adjusted weight, and plausibility checks.

Formulas and constants: http://globalrph.com/bsa2.htm and
https://harderworld.com/2013/03/13/here-we-go-again-2/ (Mosteller NEJM 1987;317:1098; DuBois &
DuBois Arch Int Med 1916;17:863; Haycock J Pediatr 1978;93:62; Gehan & George Cancer Chemother
Rep 1970;54:225; Boyd 1935). Devine IBW and AdjBW: https://clincalc.com/Kinetics/IdealBW.aspx.
Where no published worked example exists for a formula, the expected value was computed with an
independent floating-point implementation of the published formula and is stated as such.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.body import (
    BsaFormula,
    Sex,
    adjusted_body_weight,
    body_mass_index,
    body_size,
    body_surface_area,
    body_weights,
    ideal_body_weight,
)
from openinfusion.clinical.units import Quantity, parse_quantity
from openinfusion.errors import InvalidInput

P = parse_quantity


def test_mosteller_worked_example_180_cm_80_kg_is_2_m2():
    """calculatorlib.com worked example of Mosteller: √(180 × 80 / 3600) = √4 = 2.00 m²."""
    assert body_surface_area(P("180 cm"), P("80 kg")).m2 == Decimal("2.00")


def test_mosteller_175_cm_70_kg_is_1_84_m2():
    """Mosteller 1987: √(175 × 70 / 3600) = √3.4028 = 1.8447 → 1.84 m² (omnicalc worked example: 1.845)."""
    bsa = body_surface_area(P("175 cm"), P("70 kg"))
    assert (bsa.m2, bsa.formula, bsa.capped, bsa.warnings) == (Decimal("1.84"), BsaFormula.MOSTELLER, False, ())


@pytest.mark.parametrize(
    ("formula", "expected_175_70", "expected_180_80"),
    [
        # independent float computation of the published formulas: 1.8481 / 1.9964
        (BsaFormula.DUBOIS, "1.85", "2.00"),
        # 1.8468 / 2.0066
        (BsaFormula.HAYCOCK, "1.85", "2.01"),
        # 1.8539 / 2.0095
        (BsaFormula.GEHAN_GEORGE, "1.85", "2.01"),
        # 1.8507 / 2.0074 (weight in grams in the exponent)
        (BsaFormula.BOYD, "1.85", "2.01"),
    ],
)
def test_other_bsa_formulas_match_their_published_equations(formula, expected_175_70, expected_180_80):
    assert body_surface_area(P("175 cm"), P("70 kg"), formula).m2 == Decimal(expected_175_70)
    assert body_surface_area(P("180 cm"), P("80 kg"), formula).m2 == Decimal(expected_180_80)


def test_a_bsa_cap_limits_the_bsa_and_says_so():
    bsa = body_surface_area(P("190 cm"), P("120 kg"), cap_m2=Decimal(2))
    assert (bsa.m2, bsa.uncapped_m2, bsa.capped) == (Decimal(2), Decimal("2.52"), True)
    assert body_surface_area(P("175 cm"), P("70 kg"), cap_m2=Decimal(2)).capped is False
    with pytest.raises(InvalidInput):
        body_surface_area(P("175 cm"), P("70 kg"), cap_m2=Decimal(0))


def test_bmi_is_weight_over_height_squared():
    """BMI = 70 / 1.75² = 22.857 → 22.9 kg/m²."""
    assert body_mass_index(P("175 cm"), P("70 kg")) == Decimal("22.9")


def test_devine_ideal_body_weight():
    """Devine: 175 cm = 68.90 in; man 50 + 2.3 × 8.90 = 70.46 → 70.5 kg; 165 cm woman 45.5 + 2.3 × 4.96 = 56.9 kg."""
    assert ideal_body_weight(P("175 cm"), Sex.MALE) == Decimal("70.5")
    assert ideal_body_weight(P("165 cm"), Sex.FEMALE) == Decimal("56.9")
    assert ideal_body_weight(P("60 in"), Sex.MALE) == Decimal(50)


def test_adjusted_body_weight_uses_factor_0_4_by_default():
    """AdjBW = IBW + 0.4 × (actual − IBW) = 70.5 + 0.4 × 29.5 = 82.3 kg (NCCN Appendix B factor)."""
    weights = body_weights(P("175 cm"), P("100 kg"), Sex.MALE)
    assert (weights.bmi, weights.ibw_kg, weights.adjbw_kg) == (Decimal("32.7"), Decimal("70.5"), Decimal("82.3"))
    assert adjusted_body_weight(Decimal("70.5"), Decimal(100), Decimal("0.25")) == Decimal("77.9")


def test_adjustment_factor_outside_0_to_1_is_refused():
    with pytest.raises(InvalidInput) as refused:
        adjusted_body_weight(Decimal(70), Decimal(100), Decimal("1.5"))
    assert refused.value.code == "INVALID_POLICY"


def test_devine_below_60_inches_is_flagged_and_undefined_heights_refused():
    assert "not validated below 60 in" in body_weights(P("140 cm"), P("40 kg"), Sex.FEMALE).warnings[-1]
    with pytest.raises(InvalidInput) as refused:
        ideal_body_weight(P("90 cm"), Sex.FEMALE)
    assert refused.value.code == "FORMULA_OUT_OF_RANGE"


@pytest.mark.parametrize(
    ("height", "weight", "meant"),
    [
        ("175 in", "70 kg", "175 cm"),
        ("175 m", "70 kg", "175 cm"),
        ("175 cm", "70 g", "70 kg"),
        ("175 cm", "700 kg", None),
        ("0 cm", "70 kg", None),
        ("300 cm", "70 kg", None),
    ],
)
def test_measures_no_person_can_have_are_refused_naming_the_likely_unit(height, weight, meant):
    with pytest.raises(InvalidInput) as refused:
        body_surface_area(P(height), P(weight))
    assert refused.value.code == "IMPLAUSIBLE_MEASUREMENT"
    if meant:
        assert f"Did you mean {meant}" in refused.value.message


@pytest.mark.parametrize(
    ("height", "weight", "slip"),
    [
        ("69 cm", "70 kg", "the height looks like inches entered as centimetres"),
        ("175 cm", "60 lb", "the weight looks like kilograms entered as pounds"),
        ("70 cm", "175 kg", "height and weight look swapped"),
        ("69 cm", "154 kg", "inches and pounds entered as centimetres and kilograms"),
    ],
)
def test_classic_slips_are_flagged_by_an_implausible_bmi(height, weight, slip):
    bsa = body_surface_area(P(height), P(weight))
    assert len(bsa.warnings) == 1
    assert "outside the plausible 12–60" in bsa.warnings[0]
    assert slip in bsa.warnings[0].lower()


def test_a_wrong_kind_of_quantity_is_refused():
    with pytest.raises(InvalidInput) as refused:
        body_size(P("70 kg"), P("175 cm"))
    assert refused.value.code == "UNIT_DIMENSION_MISMATCH"


def test_sex_is_read_from_m_or_f_only():
    assert Sex.parse("f") is Sex.FEMALE
    assert Sex.parse("Male") is Sex.MALE
    with pytest.raises(InvalidInput):
        Sex.parse("x")


heights_cm = st.decimals(min_value=Decimal(140), max_value=Decimal(200), places=1)
weights_kg = st.decimals(min_value=Decimal(40), max_value=Decimal(150), places=1)


@settings(max_examples=150, deadline=None)
@given(heights_cm, weights_kg, st.sampled_from(list(BsaFormula)))
def test_bsa_does_not_depend_on_the_units_the_height_and_weight_were_given_in(cm, kg, formula):
    """175 cm = 1.75 m = 68.9 in: the same person has the same BSA (to the displayed 0.01 m²)."""
    reference = body_surface_area(Quantity(cm, "cm"), Quantity(kg, "kg"), formula).m2
    in_metres = body_surface_area(Quantity(cm / 100, "m"), Quantity(kg, "kg"), formula).m2
    in_imperial = body_surface_area(Quantity(cm, "cm").to("in"), Quantity(kg, "kg").to("lb"), formula).m2
    assert in_metres == reference
    assert abs(in_imperial - reference) <= Decimal("0.01")


@settings(max_examples=150, deadline=None)
@given(
    heights_cm,
    weights_kg,
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal(10), places=1),
    st.sampled_from(list(BsaFormula)),
)
def test_bsa_never_decreases_when_height_or_weight_increases(cm, kg, more, formula):
    base = body_surface_area(Quantity(cm, "cm"), Quantity(kg, "kg"), formula).m2
    assert body_surface_area(Quantity(cm + more, "cm"), Quantity(kg, "kg"), formula).m2 >= base
    assert body_surface_area(Quantity(cm, "cm"), Quantity(kg + more, "kg"), formula).m2 >= base
