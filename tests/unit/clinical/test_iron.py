"""IV iron: the Ganzoni total iron deficit and a dose checked against it.

Sources of the worked examples (each test names its own):
- Venofer (iron sucrose) SmPC, section 4.2, UK MHRA text 2020 (Vifor France), as reproduced at
  https://www.rxreasoner.com/monographs/venofer/usage and https://drugquest.org/medicament_info.php?d=420&p=Posology:
  the formula, the factor 2.4 = 0.0034 × 0.07 × 1000 × 10, the defaults (below 35 kg: target 13 g/dL
  and stores 15 mg/kg; 35 kg and above: 15 g/dL and 500 mg), the table of mL of 20 mg/mL solution
  (30 kg: Hb 6.0 g/dL → 47.5 mL, Hb 7.5 g/dL → 42.5 mL; the table is in steps of 2.5 mL = 50 mg),
  and the blood-loss example (60 kg, Hb 1 g/dL below the target, stores not replaced → ≅ 150 mg, 7.5 mL).
- The Venofer prescribing information (Vifor, MIMS Malaysia,
  https://prdmimsweb.azurewebsites.net/malaysia/drug/info/venofer/dosage): "To convert Hb (mM) to
  Hb (g/dl), multiply the former by 1.6"; the exact factor is g/dL × 0.6206 = mmol/L (haemoglobin
  monomer; IQTIG specification 2016, https://iqtig.org/downloads/spezifikation/2016/Anwenderinformationen/
  unzipped/ausfuellhinweise/felder/ANAEMIE.htm: 10 g/dL = 6.20 mmol/L).
- CADTH Pharmacoeconomic Review Report, Iron Isomaltoside 1000 (Monoferric), 2020, Table 12
  "Ganzoni Formula for Iron Isomaltoside 1000 Dosing" (https://ncbi.nlm.nih.gov/books/NBK564172/table/pe.app5.tab4):
  target 15 g/dL; 50 kg, Hb 11, stores 10 mg/kg → 980 mg; 70 kg, Hb 9, stores 1000 mg → 2008 mg;
  90 kg, Hb 10, stores 1000 mg → 2080 mg.
- Drug Information Service blog, "Iron Dose Calculation & Administration", 2015
  (https://askdis.blogspot.com/2015/07/iron-dose-calculation-administration.html): in g/L with the
  factor 0.24, a 70 kg woman with Hb 80 g/L: 70 × (150 − 80) × 0.24 + 500 = 1676 mg.
- onlycalculators.com iron deficiency calculator worked example
  (https://www.onlycalculators.com/health/hematology/iron-deficiency-calculator/): 70 kg, Hb 8.0,
  target 12.0 g/dL, stores 500 mg → 1172 mg (the example in issue 14); calculatorlib.com
  (https://calculatorlib.com/iron-deficiency-calculator): 70 kg, Hb 9, target 15, 500 mg → 1508 mg.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.iron import (
    IronDoseLimit,
    check_iron_dose,
    hemoglobin,
    hemoglobin_g_dl,
    parse_hemoglobin,
    total_iron_deficit,
)
from openinfusion.clinical.units import Quantity, parse_quantity, round_half_up
from openinfusion.errors import InvalidInput

P = parse_quantity
HB = parse_hemoglobin


def deficit_mg(weight: str, hb: str, target: str | None = None, stores: str | None = None) -> Decimal:
    return total_iron_deficit(
        weight=P(weight),
        hb=HB(hb),
        target_hb=None if target is None else HB(target),
        stores=None if stores is None else P(stores),
    ).deficit.value


def nearest_2_5_ml(mg: Decimal) -> Decimal:
    """The Venofer table's volume of 20 mg/mL solution, in steps of 2.5 mL."""
    return (mg / 20 / Decimal("2.5")).quantize(Decimal(1)) * Decimal("2.5")


# --- published worked examples -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hb", "exact_mg", "table_ml"),
    [
        ("6.0 g/dL", "954", "47.5"),  # 30 × (13 − 6) × 2.4 + 15 × 30 = 504 + 450
        ("7.5 g/dL", "846", "42.5"),  # 30 × (13 − 7.5) × 2.4 + 450 = 396 + 450
    ],
)
def test_venofer_smpc_table_for_30_kg_uses_the_under_35_kg_defaults(hb, exact_mg, table_ml):
    """Venofer SmPC 4.2 table, 30 kg row: target 13 g/dL and stores 15 mg/kg by default below 35 kg."""
    result = total_iron_deficit(weight=P("30 kg"), hb=HB(hb))
    assert result.deficit == Quantity(Decimal(exact_mg), "mg")
    assert (result.target_hb_g_dl, result.stores.value) == (Decimal(13), Decimal(450))
    assert result.target_hb_default and result.stores_default
    assert nearest_2_5_ml(result.deficit.value) == Decimal(table_ml)


def test_venofer_smpc_blood_loss_example_without_stores():
    """Venofer SmPC 4.2: 60 kg, Hb 1 g/dL below the target, stores not replaced → ≅ 150 mg (7.5 mL)."""
    result = total_iron_deficit(weight=P("60 kg"), hb=HB("14 g/dL"), target_hb=HB("15 g/dL"), stores=P("0 mg"))
    assert result.deficit.value == Decimal(144)
    assert nearest_2_5_ml(result.deficit.value) == Decimal("7.5")


@pytest.mark.parametrize(
    ("weight", "hb", "stores", "expected"),
    [
        ("50 kg", "11 g/dL", "10 mg/kg", "980"),  # 50 × (15 − 11) × 2.4 + 10 × 50
        ("70 kg", "9 g/dL", "1000 mg", "2008"),  # 70 × (15 − 9) × 2.4 + 1000
        ("90 kg", "10 g/dL", "1000 mg", "2080"),  # 90 × (15 − 10) × 2.4 + 1000
    ],
)
def test_cadth_monoferric_review_table_12_examples(weight, hb, stores, expected):
    """CADTH Monoferric pharmacoeconomic review 2020, Table 12; the default target 15 g/dL."""
    assert deficit_mg(weight, hb, stores=stores) == Decimal(expected)


def test_haemoglobin_in_g_per_litre_drug_information_service_example():
    """askdis.blogspot.com 2015: 70 kg, Hb 80 g/L, target 150 g/L → 70 × 70 × 0.24 + 500 = 1676 mg."""
    assert deficit_mg("70 kg", "80 g/L", "150 g/L", "500 mg") == Decimal(1676)
    assert deficit_mg("70 kg", "80 g/L") == Decimal(1676)  # the defaults from 35 kg: 15 g/dL, 500 mg


@pytest.mark.parametrize(
    ("hb", "target", "expected"),
    [
        ("8 g/dL", "12 g/dL", "1172"),  # onlycalculators.com: 672 + 500 (issue 14's example)
        ("9 g/dL", "15 g/dL", "1508"),  # calculatorlib.com: 1008 + 500
    ],
)
def test_calculator_worked_examples_for_70_kg(hb, target, expected):
    result = total_iron_deficit(weight=P("70 kg"), hb=HB(hb), target_hb=HB(target), stores=P("500 mg"))
    assert result.deficit.value == Decimal(expected)
    assert result.formula.endswith(f"= {expected} mg")


def test_the_formula_text_shows_every_number():
    result = total_iron_deficit(weight=P("70 kg"), hb=HB("8 g/dL"), target_hb=HB("12 g/dL"), stores=P("500 mg"))
    assert result.formula == "70 kg × (12 − 8) g/dL × 2.4 + 500 mg = 1172 mg"
    assert (result.hb_iron.value, result.stores.value, result.weight_kg) == (Decimal(672), Decimal(500), Decimal(70))
    child = total_iron_deficit(weight=P("30 kg"), hb=HB("6 g/dL"))
    assert child.formula == "30 kg × (13 − 6) g/dL × 2.4 + 15 mg/kg × 30 kg = 954 mg"


# --- defaults and units --------------------------------------------------------------------------


def test_the_defaults_change_at_35_kg():
    """Venofer SmPC 4.2: "Below 35 kg BW" 13 g/dL and 15 mg/kg; "35 kg BW and above" 15 g/dL and 500 mg."""
    at_35 = total_iron_deficit(weight=P("35 kg"), hb=HB("10 g/dL"))
    below = total_iron_deficit(weight=P("34.9 kg"), hb=HB("10 g/dL"))
    assert (at_35.target_hb_g_dl, at_35.stores.value) == (Decimal(15), Decimal(500))
    assert (below.target_hb_g_dl, below.stores.value) == (Decimal(13), Decimal(524))  # 15 × 34.9 = 523.5 → 524


def test_millimoles_are_read_per_haemoglobin_monomer():
    """IQTIG: g/dL × 0.6206 = mmol/L, so 6.206 mmol/L = 10 g/dL; the Venofer label's × 1.6 is the rounded factor."""
    assert hemoglobin_g_dl(P("6.206 mmol/L")) == Decimal("10.00")
    assert hemoglobin_g_dl(P("5 mmol/L")) == Decimal("8.06")  # × 1.6 would give 8.0
    assert abs(hemoglobin_g_dl(P("5 mmol/L")) - 5 * Decimal("1.6")) < Decimal("0.1")


def test_haemoglobin_is_read_in_g_dl_g_l_and_as_a_lab_value():
    assert hemoglobin_g_dl(HB("8 g/dL")) == hemoglobin_g_dl(HB("80 g/L")) == Decimal(8)
    assert hemoglobin_g_dl(HB("8 g/100 mL")) == Decimal(8)
    assert hemoglobin_g_dl(hemoglobin(Decimal("8.5"), "g/dL")) == Decimal("8.5")
    assert hemoglobin_g_dl(hemoglobin("85", "g/L")) == Decimal("8.5")


def test_weight_in_pounds_is_converted_and_rounded_to_0_1_kg():
    result = total_iron_deficit(weight=P("154 lb"), hb=HB("8 g/dL"), target_hb=HB("12 g/dL"), stores=P("500 mg"))
    assert result.weight_kg == Decimal("69.9")  # 154 × 0.45359237 = 69.85
    assert result.deficit.value == Decimal(1171)  # 69.9 × 4 × 2.4 = 671.04 → 671, + 500


def test_at_or_above_the_target_the_deficit_is_the_stores_with_a_warning():
    result = total_iron_deficit(weight=P("70 kg"), hb=HB("13 g/dL"), target_hb=HB("12 g/dL"))
    assert (result.hb_iron.value, result.deficit.value) == (Decimal(0), Decimal(500))
    assert "at or above the target" in result.warnings[0] and "swapped" in result.warnings[0]
    assert not total_iron_deficit(weight=P("70 kg"), hb=HB("8 g/dL")).warnings


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "hb", "target", "stores", "code", "says"),
    [
        ("70 kg", "80 g/dL", None, None, "IMPLAUSIBLE_MEASUREMENT", "80 g/L would be 8 g/dL"),
        ("70 kg", "8 g/L", None, None, "IMPLAUSIBLE_MEASUREMENT", "was it 8 g/dL?"),
        ("70 kg", "1 mmol/L", None, None, "IMPLAUSIBLE_MEASUREMENT", "per tetramer"),
        ("70 kg", "8 mg", None, None, "UNIT_DIMENSION_MISMATCH", "g/dL, g/L or mmol/L"),
        ("70 kg", "8 g/dL", "16 g/dL", None, "INVALID_POLICY", "above 15 g/dL"),
        ("70 kg", "8 g/dL", "120 g/dL", None, "IMPLAUSIBLE_MEASUREMENT", "target haemoglobin"),
        ("70 kg", "8 g/dL", None, "2000 mg", "INVALID_POLICY", "more than 1000 mg"),
        ("70 kg", "8 g/dL", None, "20 mg/kg", "INVALID_POLICY", "more than 15 mg/kg"),
        ("70 kg", "8 g/dL", None, "500 units", "UNIT_DIMENSION_MISMATCH", "iron stores"),
        ("70 kg", "8 g/dL", None, "500 mL", "UNIT_DIMENSION_MISMATCH", "iron stores"),
        ("700 kg", "8 g/dL", None, None, "IMPLAUSIBLE_MEASUREMENT", "not possible for a person"),
        ("70 cm", "8 g/dL", None, None, "UNIT_DIMENSION_MISMATCH", "weight"),
    ],
)
def test_nonsense_is_refused_with_a_message_that_says_what_to_check(weight, hb, target, stores, code, says):
    with pytest.raises(InvalidInput) as refused:
        deficit_mg(weight, hb, target, stores)
    assert refused.value.code == code
    assert says in refused.value.message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("8", "UNKNOWN_UNIT"),
        ("-8 g/dL", "NOT_A_QUANTITY"),
        ("8,5 g/dL", "NOT_A_QUANTITY"),
        ("8 g/dl/h", "UNKNOWN_UNIT"),
    ],
)
def test_a_haemoglobin_without_a_unit_or_not_a_number_is_refused(text, code):
    with pytest.raises(InvalidInput) as refused:
        parse_hemoglobin(text)
    assert refused.value.code == code


# --- the dose check ------------------------------------------------------------------------------


def test_a_dose_above_the_deficit_and_the_single_dose_maximum_names_both_with_the_numbers():
    above = check_iron_dose(P("1.2 g"), P("1172 mg"), P("1000 mg"))
    assert [(a.limit, a.limit_amount.value, a.excess.value) for a in above] == [
        (IronDoseLimit.DEFICIT, Decimal(1172), Decimal(28)),
        (IronDoseLimit.SINGLE_DOSE_MAX, Decimal(1000), Decimal(200)),
    ]
    assert all(a.dose == Quantity(Decimal(1200), "mg") for a in above)
    assert (
        above[1].message == "The iron dose of 1200 mg is above the product's single-dose maximum of 1000 mg by 200 mg."
    )


def test_a_dose_equal_to_a_limit_is_not_above_it():
    assert check_iron_dose(P("1000 mg"), P("1172 mg"), P("1000 mg")) == ()
    assert check_iron_dose(P("1172 mg"), P("1172 mg")) == ()
    assert [a.limit for a in check_iron_dose(P("200 mg"), P("150 mg"), P("200 mg"))] == [IronDoseLimit.DEFICIT]


@pytest.mark.parametrize(
    ("dose", "deficit", "maximum", "says"),
    [
        ("10 mL", "1172 mg", None, "iron dose"),
        ("500 mg", "1172 mg", "20 mg/kg", "multiply by the weight"),
        ("500 mg", "5 mL", None, "iron deficit"),
    ],
)
def test_the_dose_check_refuses_what_is_not_a_mass(dose, deficit, maximum, says):
    with pytest.raises(InvalidInput) as refused:
        check_iron_dose(P(dose), P(deficit), None if maximum is None else P(maximum))
    assert refused.value.code == "UNIT_DIMENSION_MISMATCH"
    assert says in refused.value.message


# --- properties ----------------------------------------------------------------------------------

weights_kg = st.decimals(min_value=Decimal(1), max_value=Decimal(250), places=1)
hbs_g_dl = st.decimals(min_value=Decimal(2), max_value=Decimal(15), places=1)
stores_mg = st.integers(min_value=0, max_value=1000)


def g_dl(value: Decimal) -> Quantity:
    return hemoglobin(value, "g/dL")


@settings(max_examples=200, deadline=None)
@given(weights_kg, hbs_g_dl, hbs_g_dl, stores_mg)
def test_the_deficit_is_the_haemoglobin_iron_plus_the_stores_exactly(weight, hb, target, stores):
    base = total_iron_deficit(weight=Quantity(weight, "kg"), hb=g_dl(hb), target_hb=g_dl(target), stores=P("0 mg"))
    with_stores = total_iron_deficit(
        weight=Quantity(weight, "kg"), hb=g_dl(hb), target_hb=g_dl(target), stores=Quantity(Decimal(stores), "mg")
    )
    assert with_stores.deficit.value - base.deficit.value == stores
    assert with_stores.deficit.value == with_stores.hb_iron.value + with_stores.stores.value
    assert with_stores.hb_iron.value >= 0
    assert with_stores.formula.endswith(f"= {with_stores.deficit.value} mg")


@settings(max_examples=200, deadline=None)
@given(weights_kg, weights_kg, hbs_g_dl, hbs_g_dl, hbs_g_dl, stores_mg)
def test_the_deficit_grows_with_the_haemoglobin_gap_and_the_weight(w1, w2, hb1, hb2, target, stores):
    def deficit(weight: Decimal, hb: Decimal) -> Decimal:
        return total_iron_deficit(
            weight=Quantity(weight, "kg"), hb=g_dl(hb), target_hb=g_dl(target), stores=Quantity(Decimal(stores), "mg")
        ).deficit.value

    light, heavy = sorted((w1, w2))
    low_hb, high_hb = sorted((hb1, hb2))
    assert deficit(light, low_hb) <= deficit(heavy, low_hb)
    assert deficit(light, high_hb) <= deficit(light, low_hb)


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=Decimal(20), max_value=Decimal(500), places=1),
    st.decimals(min_value=Decimal("1.3"), max_value=Decimal("9.3"), places=2),
    st.decimals(min_value=Decimal(2), max_value=Decimal(15), places=2),
)
def test_the_same_patient_in_other_units_gets_the_same_deficit(pounds, mmol_l, hb):
    def deficit(weight: Quantity, hb_quantity: Quantity) -> Decimal:
        return total_iron_deficit(weight=weight, hb=hb_quantity).deficit.value

    in_kg = round_half_up(Quantity(pounds, "lb").to("kg").value, 1)
    assert deficit(Quantity(pounds, "lb"), g_dl(hb)) == deficit(Quantity(in_kg, "kg"), g_dl(hb))
    assert deficit(P("70 kg"), g_dl(hb)) == deficit(P("70 kg"), Quantity(hb * 10, "g/L"))
    assert deficit(P("70 kg"), Quantity(mmol_l, "mmol/L")) == deficit(
        P("70 kg"), g_dl(hemoglobin_g_dl(Quantity(mmol_l, "mmol/L")))
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000), st.integers(1, 5000))
def test_a_dose_is_above_a_limit_exactly_when_it_is_more(dose, deficit, maximum):
    above = {a.limit: a for a in check_iron_dose(P(f"{dose} mg"), P(f"{deficit} mg"), P(f"{maximum} mg"))}
    assert (IronDoseLimit.DEFICIT in above) == (dose > deficit)
    assert (IronDoseLimit.SINGLE_DOSE_MAX in above) == (dose > maximum)
    assert all(a.excess.value == dose - a.limit_amount.value > 0 for a in above.values())
