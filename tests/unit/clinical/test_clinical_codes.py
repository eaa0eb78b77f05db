"""NDC, GTIN-14 and GS1 element strings.

NDC 10 → 11 digits (pad the short segment): https://kb.daisybill.com/articles/how-do-i-convert-a-10-digit-ndc-number-to-11-digits.
NDC inside a GTIN-14 (indicator + 03 + NDC + check): https://kitcheck.com/faqs/constructing-the-registry-tunnels-2d-data-matrix/
and openFDA: NDC 55150-331-01 ↔ UPC 0355150331017
(https://api.fda.gov/drug/ndc.json?search=product_ndc%3A%2255150-331%22). GS1 check digit:
http://www.gs1.org/barcodes/support/check_digit_calculator. AI 17 day "00" = last day of the month,
century by the sliding window: GS1 General Specifications §7.12, as implemented by biip.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.codes import (
    describe_ndc,
    gs1_check_digit,
    gtin14_to_ndc10_digits,
    ndc10_digits,
    ndc_to_gtin14,
    ndc_to_ndc11,
    parse_gs1,
    parse_ndc,
)
from openinfusion.errors import InvalidInput


@pytest.mark.parametrize(
    ("ndc", "ndc11"),
    [
        ("0409-4888-02", "00409488802"),
        ("55150-331-01", "55150033101"),
        ("12345-6789-1", "12345678901"),
        ("12345-6789-01", "12345678901"),
        ("12345678901", "12345678901"),
    ],
)
def test_ndc_10_to_11_digits_pads_the_short_segment(ndc, ndc11):
    assert ndc_to_ndc11(ndc) == ndc11


def test_describe_ndc_gives_every_form():
    described = describe_ndc("0409-4888-02")
    assert (described.layout, described.ndc10_digits, described.ndc11_hyphenated, described.gtin14) == (
        "4-4-2",
        "0409488802",
        "00409-4888-02",
        "00304094888026",
    )


def test_openfda_cross_check_55150_331_01_is_upc_355150331017():
    """openFDA lists UPC 0355150331017 for NDC 55150-331-01: GTIN-14 00355150331017, check digit 7."""
    assert ndc_to_gtin14("55150-331-01") == "00355150331017"
    assert gs1_check_digit("35515033101") == "7"
    assert gtin14_to_ndc10_digits("00355150331017") == "5515033101"


def test_a_higher_packaging_level_changes_the_indicator_and_the_check_digit():
    gtin = ndc_to_gtin14("55150-331-01", packaging_indicator=1)
    assert gtin.startswith("1035515033101")
    assert gtin[-1] == gs1_check_digit(gtin[:13])


def test_an_11_digit_ndc_gives_its_10_digits_only_when_the_padding_is_unambiguous():
    assert ndc10_digits("01234-5678-90") == "1234567890"
    assert ndc10_digits("55150-0331-21") == "5515033121"
    assert ndc10_digits("12345-6789-01") == "1234567891"
    with pytest.raises(InvalidInput):
        ndc10_digits("00409-4888-02")  # 0409-4888-02 or 00409-4888-2
    with pytest.raises(InvalidInput) as refused:
        ndc10_digits("99999-0101-01")
    assert refused.value.code == "AMBIGUOUS_NDC"
    assert "99999-101-01 or 99999-0101-1" in refused.value.message


@pytest.mark.parametrize(
    ("ndc", "code"),
    [
        ("0409488802", "AMBIGUOUS_NDC"),
        ("0409-48882", "BAD_NDC"),
        ("04094-888-2A", "BAD_NDC"),
        ("123-4567-89", "BAD_NDC"),
        ("", "BAD_NDC"),
    ],
)
def test_malformed_and_ambiguous_ndcs_are_refused(ndc, code):
    with pytest.raises(InvalidInput) as refused:
        parse_ndc(ndc)
    assert refused.value.code == code


def test_an_unhyphenated_10_digit_ndc_still_makes_a_gtin():
    assert ndc_to_gtin14("0409488802") == "00304094888026"


@pytest.mark.parametrize(
    ("gtin", "code"),
    [("00355150331018", "BAD_CHECK_DIGIT"), ("0035515033101", "BAD_BARCODE"), ("09876543210982", "NOT_AN_NDC")],
)
def test_gtins_that_are_wrong_or_hold_no_ndc_are_refused(gtin, code):
    with pytest.raises(InvalidInput) as refused:
        gtin14_to_ndc10_digits(gtin)
    assert refused.value.code == code


def test_a_dscsa_datamatrix_gives_gtin_ndc_lot_expiry_and_serial():
    scan = parse_gs1("0100355150331017172705311012345\x1d21SER1")
    assert (scan.gtin, scan.ndc10_digits, scan.lot, scan.expiry, scan.serial) == (
        "00355150331017",
        "5515033101",
        "12345",
        date(2027, 5, 31),
        "SER1",
    )


def test_expiry_day_00_means_the_last_day_of_the_month():
    assert parse_gs1("01003551503310171728020010A1").expiry == date(2028, 2, 29)


@pytest.mark.parametrize(
    "scan",
    [
        "]d20100355150331017172705311012345\x1d21SER1",
        "0100355150331017172705311012345<GS>21SER1",
        r"0100355150331017172705311012345\x1d21SER1",
        "0100355150331017172705311012345<FNC1>21SER1",
        "(01)00355150331017(17)270531(10)12345(21)SER1",
        "\x1d0100355150331017172705311012345\x1d21SER1",
    ],
)
def test_separator_stand_ins_symbology_identifiers_and_the_printed_form_are_read(scan):
    assert parse_gs1(scan).lot == "12345"


@pytest.mark.parametrize(
    ("scan", "code"),
    [
        ("0100355150331018172705311012345\x1d21SER1", "BAD_CHECK_DIGIT"),
        ("0100355150331017230000", "UNKNOWN_AI"),
        ("0100355150331017ZZ", "UNKNOWN_AI"),
        ("01003551503310", "BAD_BARCODE"),
        ("010035515033101717271399", "BAD_BARCODE"),
        ("010035515033101717270231", "BAD_BARCODE"),
        ("17270531101234", "BAD_BARCODE"),
        ("", "BAD_BARCODE"),
        ("hello", "UNKNOWN_AI"),
    ],
)
def test_unreadable_scans_are_refused_with_a_clear_code(scan, code):
    with pytest.raises(InvalidInput) as refused:
        parse_gs1(scan)
    assert refused.value.code == code


def test_a_gtin_without_an_ndc_is_read_without_ndc_digits():
    gtin = "0" + "4006381333931"  # a GS1 Germany GTIN-13, padded
    assert parse_gs1(f"01{gtin}10L1").ndc10_digits is None


ndc_segments = st.sampled_from([(4, 4, 2), (5, 3, 2), (5, 4, 1)]).flatmap(
    lambda layout: st.tuples(*(st.text("0123456789", min_size=n, max_size=n) for n in layout))
)


@settings(max_examples=200, deadline=None)
@given(ndc_segments, st.integers(min_value=0, max_value=8))
def test_ndc_to_gtin_and_back_round_trips(segments, indicator):
    ndc = "-".join(segments)
    gtin = ndc_to_gtin14(ndc, packaging_indicator=indicator)
    assert len(gtin) == 14
    assert gtin14_to_ndc10_digits(gtin) == "".join(segments)
    assert parse_gs1(f"01{gtin}").gtin == gtin
    assert ndc_to_ndc11(ndc) == parse_ndc(describe_ndc(ndc).ndc11_hyphenated).ndc11


@settings(max_examples=200, deadline=None)
@given(st.text("0123456789", min_size=13, max_size=13), st.integers(min_value=0, max_value=12))
def test_the_check_digit_catches_every_single_digit_error(body, position):
    gtin = body + gs1_check_digit(body)
    wrong = str((int(gtin[position]) + 1) % 10)
    altered = gtin[:position] + wrong + gtin[position + 1 :]
    assert altered[13] != gs1_check_digit(altered[:13])
