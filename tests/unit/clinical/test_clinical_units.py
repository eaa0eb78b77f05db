"""Quantities: parsing, the closed unit list, conversion, refusals and ISMP display rules.

Error-prone abbreviations and display rules: ISMP List of Error-Prone Abbreviations, Symbols, and
Dose Designations (https://www.ismp.org/recommendations/error-prone-abbreviations-list).
Conversion factors: pint's definitions (inch = 2.54 cm exactly, pound = 0.45359237 kg exactly).
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.units import (
    UNIT_CODES,
    Quantity,
    conversion_factor,
    display_unit,
    format_decimal,
    format_quantity,
    magnitude,
    parse_quantity,
    parse_quantity_with_notes,
    parse_unit,
    round_half_up,
)
from openinfusion.errors import InvalidInput

Q = Quantity.of


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("175 cm", "175", "cm"),
        ("175cm", "175", "cm"),
        ("1.75 m", "1.75", "m"),
        ("68.9 in", "68.9", "in"),
        ("70 kg", "70", "kg"),
        ("154 lb", "154", "lb"),
        ("5 mcg/kg/min", "5", "mcg/kg/min"),
        ("375 mg/m2", "375", "mg/m2"),
        ("375 mg/m²", "375", "mg/m2"),
        ("100 units/kg", "100", "units/kg"),
        ("1000 units/h", "1000", "units/h"),
        ("125 mL/h", "125", "mL/h"),
        ("125 ml/hr", "125", "mL/h"),
        ("20 mEq", "20", "mEq"),
        ("15 mmol", "15", "mmol"),
        ("5 mg·min/mL", "5", "mg.min/mL"),
        ("5 mg*min/mL", "5", "mg.min/mL"),
        ("1.4 mg/dL", "1.4", "mg/dL"),
        ("124 µmol/L", "124", "umol/L"),
        ("124 umol/L", "124", "umol/L"),
        ("8 h", "8", "h"),
        ("28 days", "28", "day"),
        ("2 mg/mL", "2", "mg/mL"),
    ],
)
def test_it_reads_quantities_with_units_from_the_closed_list(text, value, unit):
    assert parse_quantity(text) == Quantity(Decimal(value), unit)


def test_a_ratio_is_read_as_a_concentration():
    assert parse_quantity("400 mg/250 mL") == Quantity(Decimal("1.6"), "mg/mL")
    assert parse_quantity("25000 units/250 mL") == Quantity(Decimal(100), "units/mL")


@pytest.mark.parametrize(
    ("text", "instead"), [("5 u", "units"), ("5 U/kg", "units"), ("10 IU", "units"), ("5 cc", "mL")]
)
def test_it_refuses_error_prone_abbreviations_and_says_what_to_write(text, instead):
    with pytest.raises(InvalidInput) as refused:
        parse_quantity(text)
    assert refused.value.code == "ERROR_PRONE_UNIT"
    assert f"Write “{instead}”" in refused.value.message


@pytest.mark.parametrize("spelling", ["ug", "µg", "μg"])
def test_micrograms_typed_as_ug_or_mu_g_become_mcg_with_a_visible_note(spelling):
    parsed = parse_quantity_with_notes(f"50 {spelling}")
    assert parsed.quantity == Q("50", "mcg")
    assert parsed.notes and "mcg" in parsed.notes[0]


def test_a_naked_decimal_and_a_trailing_zero_are_read_but_noted():
    assert parse_quantity_with_notes(".5 mg").quantity == Q("0.5", "mg")
    assert "zero before the decimal point" in parse_quantity_with_notes(".5 mg").notes[0]
    assert "trailing zero" in parse_quantity_with_notes("5.0 mg").notes[0]
    assert parse_quantity_with_notes("50.23 g").notes == ()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("5 furlongs", "UNKNOWN_UNIT"),
        ("5", "UNKNOWN_UNIT"),
        ("5 mg/furlong", "UNKNOWN_UNIT"),
        ("5 kg/mg", "UNKNOWN_UNIT"),
        ("mg", "NOT_A_QUANTITY"),
        ("", "NOT_A_QUANTITY"),
        ("1,000 mg", "NOT_A_QUANTITY"),
        ("2,5 mg", "NOT_A_QUANTITY"),
        ("-5 mg", "NOT_A_QUANTITY"),
        ("400 mg/0 mL", "NOT_A_NUMBER"),
    ],
)
def test_it_refuses_text_that_is_not_a_quantity_it_knows(text, code):
    with pytest.raises(InvalidInput) as refused:
        parse_quantity(text)
    assert refused.value.code == code


def test_every_unit_code_round_trips_through_the_parser():
    for code in UNIT_CODES:
        assert parse_unit(code) == (code, ())


def test_conversions_are_exact_decimals():
    assert Q("1", "lb").to("kg") == Q("0.45359237", "kg")
    assert Q("68.9", "in").to("cm") == Q("175.006", "cm")
    assert Q("5", "mcg/kg/min").to("mg/kg/h") == Q("0.3", "mg/kg/h")
    assert Q("1.6", "mg/mL").to("mcg/mL") == Q("1600", "mcg/mL")
    assert Q("1", "day").to("h") == Q("24", "h")
    assert isinstance(conversion_factor("mg", "mcg"), Decimal)


@pytest.mark.parametrize(
    ("quantity", "unit", "hint"),
    [
        (Q("5", "mg"), "mL", "concentration"),
        (Q("5", "mg"), "units", "never convert to a mass"),
        (Q("5", "mEq"), "mmol", "valence"),
        (Q("5", "mmol"), "mg", "molar mass"),
        (Q("5", "mg/kg"), "mg/m2", ""),
    ],
)
def test_it_refuses_conversions_across_kinds_with_a_clear_reason(quantity, unit, hint):
    with pytest.raises(InvalidInput) as refused:
        quantity.to(unit)
    assert refused.value.code == "UNIT_DIMENSION_MISMATCH"
    assert hint in refused.value.message


def test_magnitude_names_what_was_expected():
    with pytest.raises(InvalidInput, match="The height must be a length") as refused:
        magnitude(Q("70", "kg"), "cm", what="height")
    assert refused.value.code == "UNIT_DIMENSION_MISMATCH"


def test_a_quantity_refuses_floats_negative_values_and_unknown_codes():
    with pytest.raises(TypeError):
        Quantity(5.0, "mg")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Quantity.of(5.0, "mg")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as negative:
        Q("-1", "mg")
    assert negative.value.code == "NEGATIVE_QUANTITY"
    with pytest.raises(InvalidInput) as unknown:
        Q("1", "ug")
    assert unknown.value.code == "UNKNOWN_UNIT"
    with pytest.raises(InvalidInput):
        Quantity(Decimal("NaN"), "mg")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("5.0", "5"),
        ("0.50", "0.5"),
        (".5", "0.5"),
        ("1E+3", "1000"),
        ("0.000001", "0.000001"),
        ("-0", "0"),
        ("12.340", "12.34"),
    ],
)
def test_display_has_no_trailing_zero_and_always_a_leading_zero(value, text):
    """ISMP: never a trailing zero (5 mg, not 5.0 mg), always a leading zero (0.5 mg, not .5 mg)."""
    assert format_decimal(Decimal(value)) == text


def test_display_rounds_half_up_and_shows_units_for_people():
    assert format_decimal(Decimal("1.845"), 2) == "1.85"
    assert round_half_up(Decimal("2.5"), 0) == Decimal(3)
    assert format_quantity(Q("375", "mg/m2")) == "375 mg/m²"
    assert str(Q("124", "umol/L")) == "124 µmol/L"
    assert display_unit("mg.min/mL") == "mg·min/mL"


@settings(max_examples=150, deadline=None)
@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100000), places=3))
def test_format_then_parse_gives_back_the_same_amount(value):
    quantity = Q(value, "mg")
    assert parse_quantity(str(quantity)).value == quantity.value


@settings(max_examples=150, deadline=None)
@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100000), places=3), st.sampled_from(["g", "mcg", "kg"])
)
def test_converting_there_and_back_keeps_the_amount(value, unit):
    assert Q(value, "mg").to(unit).to("mg").value == value


def test_the_clinical_core_imports_nothing_from_django():
    """The issue's rule: the core is pure Python (checked in a fresh interpreter)."""
    code = (
        "import sys, pkgutil, importlib, openinfusion.clinical as c\n"
        "[importlib.import_module(f'openinfusion.clinical.{m.name}') for m in pkgutil.iter_modules(c.__path__)]\n"
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
