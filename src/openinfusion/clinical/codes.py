"""Drug codes: NDC (10 and 11 digits), the GTIN-14 that carries an NDC, and GS1 element strings.

- A 10-digit NDC is printed 4-4-2, 5-3-2 or 5-4-1; the 11-digit billing form is 5-4-2, made by a
  leading zero on the short segment. Without hyphens a 10-digit NDC is ambiguous and refused.
- A GTIN-14 holding an NDC is: packaging indicator, ``03``, the 10 NDC digits, GS1 check digit.
- GS1 element strings (the DataMatrix on a package, DSCSA) are parsed with ``biip``: AI 01 GTIN,
  17 expiry (YYMMDD, day ``00`` = last day of the month), 10 lot, 21 serial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from biip import ParseError
from biip.gs1_messages import GS1Message

from openinfusion.errors import InvalidInput

_NDC10_LAYOUTS: Final = {(4, 4, 2): "4-4-2", (5, 3, 2): "5-3-2", (5, 4, 1): "5-4-1"}
_NDC11_LAYOUT: Final = (5, 4, 2)
_NDC_GTIN_PREFIX: Final = "03"
# What a scanner or a person may send for the GS1 group separator (FNC1 inside the symbol).
_SEPARATOR_STAND_INS: Final = ("\\x1d", "<GS>", "{GS}", "[GS]", "␝", "<FNC1>", "{FNC1}", "[FNC1]")
_SYMBOLOGY_IDENTIFIER: Final = re.compile(r"^\][A-Za-z][0-9A-Za-z]")


@dataclass(frozen=True)
class Ndc:
    """An NDC as printed, in segments (labeler, product, package)."""

    labeler: str
    product: str
    package: str

    @property
    def layout(self) -> str:
        return "-".join(str(len(part)) for part in (self.labeler, self.product, self.package))

    @property
    def digits(self) -> str:
        return self.labeler + self.product + self.package

    @property
    def ndc11(self) -> str:
        """The 11-digit 5-4-2 form, digits only (HIPAA billing)."""
        return self.labeler.zfill(5) + self.product.zfill(4) + self.package.zfill(2)

    @property
    def ndc11_hyphenated(self) -> str:
        eleven = self.ndc11
        return f"{eleven[:5]}-{eleven[5:9]}-{eleven[9:]}"


@dataclass(frozen=True)
class NdcCodes:
    ndc: str
    layout: str
    ndc10_digits: str
    ndc11: str
    ndc11_hyphenated: str
    gtin14: str


@dataclass(frozen=True)
class PackageScan:
    """What a package's GS1 DataMatrix says."""

    gtin: str
    ndc10_digits: str | None
    """The NDC inside the GTIN (digits 4–13), when the GTIN carries one."""
    lot: str | None
    expiry: date | None
    serial: str | None


def parse_ndc(text: str) -> Ndc:
    """Read an NDC: hyphenated 4-4-2, 5-3-2, 5-4-1 or 5-4-2, or 11 digits without hyphens."""
    cleaned = text.strip()
    if re.fullmatch(r"\d{11}", cleaned):
        return Ndc(cleaned[:5], cleaned[5:9], cleaned[9:])
    if re.fullmatch(r"\d{10}", cleaned):
        raise InvalidInput(
            f"NDC {cleaned} has 10 digits and no hyphens, so its layout (4-4-2, 5-3-2 or 5-4-1) "
            "is unknown. Write it with the hyphens printed on the package.",
            code="AMBIGUOUS_NDC",
        )
    parts = cleaned.split("-")
    layout = tuple(len(part) for part in parts)
    if (
        len(parts) != 3
        or not all(part.isdigit() for part in parts)
        or (layout not in _NDC10_LAYOUTS and layout != _NDC11_LAYOUT)
    ):
        raise InvalidInput(
            f"“{text}” is not an NDC. Write it as printed: 4-4-2, 5-3-2 or 5-4-1 digits "
            "(e.g. 0409-4888-02), or the 11-digit 5-4-2 form.",
            code="BAD_NDC",
        )
    return Ndc(*parts)


def ndc_to_ndc11(ndc: str) -> str:
    """The 11-digit 5-4-2 NDC, digits only: ``0409-4888-02`` → ``00409488802``."""
    return parse_ndc(ndc).ndc11


def ndc10_digits(ndc: str) -> str:
    """The 10 digits a GTIN carries. From an 11-digit NDC only if the padded zero is unambiguous."""
    cleaned = ndc.strip()
    if re.fullmatch(r"\d{10}", cleaned):
        return cleaned
    parsed = parse_ndc(cleaned)
    if len(parsed.digits) == 10:
        return parsed.digits
    candidates = [
        candidate
        for candidate, padded in (
            (Ndc(parsed.labeler[1:], parsed.product, parsed.package), parsed.labeler),
            (Ndc(parsed.labeler, parsed.product[1:], parsed.package), parsed.product),
            (Ndc(parsed.labeler, parsed.product, parsed.package[1:]), parsed.package),
        )
        if padded.startswith("0")
    ]
    if len(candidates) != 1:
        printed = " or ".join(f"{c.labeler}-{c.product}-{c.package}" for c in candidates) or "none"
        raise InvalidInput(
            f"The 11-digit NDC {parsed.ndc11_hyphenated} could come from {printed} as printed. "
            "Give the 10-digit NDC with its hyphens.",
            code="AMBIGUOUS_NDC",
        )
    return candidates[0].digits


def gs1_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit: from the right, weights 3, 1, 3, …; (10 − sum mod 10) mod 10."""
    if not body.isdigit():
        raise InvalidInput(f"“{body}” must be digits only.", code="BAD_BARCODE")
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def ndc_to_gtin14(ndc: str, packaging_indicator: int = 0) -> str:
    """The GTIN-14 of an NDC package: indicator + ``03`` + 10 NDC digits + check digit."""
    if not 0 <= packaging_indicator <= 8:
        raise InvalidInput("A GTIN packaging indicator is a digit from 0 to 8.", code="INVALID_INPUT")
    body = f"{packaging_indicator}{_NDC_GTIN_PREFIX}{ndc10_digits(ndc)}"
    return body + gs1_check_digit(body)


def check_gtin14(gtin: str) -> str:
    """The GTIN-14 itself if it has 14 digits and a correct check digit; refused otherwise."""
    if not re.fullmatch(r"\d{14}", gtin):
        raise InvalidInput(f"“{gtin}” is not a GTIN-14 (14 digits).", code="BAD_BARCODE")
    expected = gs1_check_digit(gtin[:13])
    if gtin[13] != expected:
        raise InvalidInput(
            f"GTIN {gtin} has check digit {gtin[13]} but should end in {expected}: the code was "
            "misread or mistyped. Scan again or type it from the package.",
            code="BAD_CHECK_DIGIT",
        )
    return gtin


def gtin14_to_ndc10_digits(gtin: str) -> str:
    """The 10 NDC digits inside a GTIN-14 (digits 4–13); refused if the GTIN holds no NDC."""
    check_gtin14(gtin)
    if gtin[1:3] != _NDC_GTIN_PREFIX:
        raise InvalidInput(
            f"GTIN {gtin} does not carry an NDC (it does not start with indicator + 03).", code="NOT_AN_NDC"
        )
    return gtin[3:13]


def describe_ndc(ndc: str) -> NdcCodes:
    """Every form of one NDC: its layout, 10 digits, 11-digit forms and base-unit GTIN-14."""
    parsed = parse_ndc(ndc)
    return NdcCodes(
        ndc=ndc.strip(),
        layout=parsed.layout,
        ndc10_digits=ndc10_digits(ndc),
        ndc11=parsed.ndc11,
        ndc11_hyphenated=parsed.ndc11_hyphenated,
        gtin14=ndc_to_gtin14(ndc),
    )


def parse_gs1(element_string: str) -> PackageScan:
    """Read a package DataMatrix: GTIN (AI 01), expiry (17), lot (10), serial (21).

    Accepts the group separator as the GS character or a stand-in (``\\x1d``, ``<GS>``, ``<FNC1>``),
    a leading symbology identifier (``]d2``) and the human-readable form with parentheses.
    """
    text = element_string.strip()
    for stand_in in _SEPARATOR_STAND_INS:
        text = text.replace(stand_in, "\x1d")
    text = _SYMBOLOGY_IDENTIFIER.sub("", text).strip("\x1d")
    if not text:
        raise InvalidInput("The scan is empty.", code="BAD_BARCODE")
    try:
        message = GS1Message.parse_hri(text) if text.startswith("(") else GS1Message.parse(text)
    except ParseError as error:
        raise _unreadable(element_string, str(error)) from None
    gtin_element = message.element_strings.get(ai="01")
    if gtin_element is None:
        raise InvalidInput(
            "The barcode has no GTIN (AI 01). Scan the 2D DataMatrix on the package.", code="BAD_BARCODE"
        )
    gtin = check_gtin14(gtin_element.value)

    def value(ai: str) -> str | None:
        element = message.element_strings.get(ai=ai)
        return None if element is None else element.value

    expiry = message.element_strings.get(ai="17")
    return PackageScan(
        gtin=gtin,
        ndc10_digits=gtin[3:13] if gtin[1:3] == _NDC_GTIN_PREFIX else None,
        lot=value("10"),
        expiry=None if expiry is None else expiry.date,
        serial=value("21"),
    )


def _unreadable(scan: str, reason: str) -> InvalidInput:
    unknown = re.match(r"Failed to get GS1 Application Identifier from '(.*)'", reason)
    if unknown:
        return InvalidInput(
            f"The barcode has data that is not a GS1 application identifier (at “{unknown[1]}”). "
            "Scan the 2D DataMatrix on the package, or type the NDC, lot and expiry.",
            code="UNKNOWN_AI",
            details={"scan": scan},
        )
    return InvalidInput(
        f"The barcode could not be read: {reason} Scan it again, or type the NDC, lot and expiry.",
        code="BAD_BARCODE",
        details={"scan": scan},
    )
