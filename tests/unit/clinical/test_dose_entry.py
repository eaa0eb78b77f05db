"""Prescribed doses are read strictly (``units.parse_dose``): what a chart reading tolerates with a note
is refused in an order. Source: ISMP List of Error-Prone Abbreviations, Symbols and Dose Designations
(2021, https://www.ismp.org/recommendations/error-prone-abbreviations-list): "µg" (mistaken for mg),
a naked decimal point (".5 mg" read as 5 mg), a trailing zero ("5.0 mg" read as 50 mg)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openinfusion.clinical.units import Quantity, parse_dose, parse_quantity_with_notes
from openinfusion.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("8 ug", "ERROR_PRONE_NOTATION", "write mcg"),
        ("8 µg", "ERROR_PRONE_NOTATION", "write mcg"),
        ("8 μg", "ERROR_PRONE_NOTATION", "write mcg"),
        (".5 mg", "ERROR_PRONE_NOTATION", "zero before the decimal point"),
        ("5.0 mg", "ERROR_PRONE_NOTATION", "trailing zero"),
        ("0 mg", "INVALID_DOSE", "dose of zero"),
        ("4 mg/2 mL", "INVALID_DOSE", "concentration"),
        ("2 mg/mL", "INVALID_DOSE", "concentration"),
        ("10 mg/h", "INVALID_DOSE", "a rate, not a dose"),
        ("7500 mg/m2/day", "INVALID_DOSE", "a rate, not a dose"),
        ("150 mg/kg/day", "INVALID_DOSE", "a rate, not a dose"),
        ("5 U", "ERROR_PRONE_UNIT", "units"),
        ("-50 mg", "NOT_A_QUANTITY", "negative"),
    ],
)
def test_an_error_prone_or_empty_dose_is_refused_with_what_to_write(text, code, says):
    with pytest.raises(InvalidInput) as refused:
        parse_dose(text)
    assert refused.value.code == code and says in refused.value.message


def test_a_zero_after_decimals_is_not_the_whole_number_slip():
    """ "2.50 mg" cannot lose a decimal point and become ten times the dose the way "5.0 mg" can."""
    assert parse_dose("2.50 mg") == Quantity(Decimal("2.50"), "mg")


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("8 mg", "8 mg"),
        ("0.5 mg", "0.5 mg"),
        ("85 mg/m2", "85 mg/m²"),
        ("5 mg.min/mL", "5 mg·min/mL"),
        ("100 mcg/kg", "100 mcg/kg"),
    ],
)
def test_a_well_written_dose_is_read(text, dose):
    assert str(parse_dose(text)) == dose


@given(st.decimals(min_value="0.001", max_value="100000", places=3), st.sampled_from(["mg", "mcg", "g", "units", "mL"]))
def test_parse_dose_accepts_exactly_what_reads_without_a_note(value, unit):
    text = f"{value} {unit}"
    notes = parse_quantity_with_notes(text).notes
    try:
        parse_dose(text)
    except InvalidInput as refused:
        assert notes, f"{text} was refused ({refused.code}) but reads cleanly"
    else:
        assert not notes, f"{text} was accepted though it reads with {notes}"
