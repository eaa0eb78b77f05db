"""Quantities with units: parse them from text, convert them, and display them safely.

A ``Quantity`` is a ``Decimal`` value and a unit code from a closed list (``UNIT_CODES``). Codes
are plain ASCII: ``mg``, ``mcg/kg/min``, ``mg/m2``, ``mg.min/mL`` (AUC), ``umol/L``. Conversions
go through pint with a ``Decimal`` registry, so no float ever touches a value, and pint refuses
any conversion across kinds (mg to units, mg to mL without a concentration).

Display follows ISMP: no trailing zero (``5 mg``, never ``5.0 mg``) and always a leading zero
(``0.5 mg``, never ``.5 mg``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Final

import pint

from openinfusion.errors import InvalidInput

# The closed list of unit atoms, each with its pint spelling.
_ATOMS: Final[dict[str, str]] = {
    "mg": "milligram",
    "mcg": "microgram",
    "g": "gram",
    "kg": "kilogram",
    "lb": "pound",
    "units": "drug_unit",
    "mEq": "milliequivalent",
    "mmol": "millimole",
    "umol": "micromole",
    "mL": "milliliter",
    "L": "liter",
    "dL": "deciliter",
    "cm": "centimeter",
    "m": "meter",
    "in": "inch",
    "m2": "meter ** 2",
    "min": "minute",
    "h": "hour",
    "day": "day",
}

_AMOUNTS: Final = ("mg", "mcg", "g", "units", "mEq", "mmol")
_VOLUMES: Final = ("mL", "L")
_TIMES: Final = ("min", "h", "day")


def _closed_list() -> frozenset[str]:
    simple = {*_AMOUNTS, "kg", "lb", *_VOLUMES, "cm", "m", "in", "m2", *_TIMES}
    concentrations = {f"{a}/{v}" for a in _AMOUNTS for v in _VOLUMES}
    rates = {f"{a}/{t}" for a in (*_AMOUNTS, *_VOLUMES) for t in _TIMES}
    per_body = {f"{a}/{body}" for a in _AMOUNTS for body in ("kg", "m2")}
    per_body_rates = {f"{basis}/{t}" for basis in per_body for t in _TIMES}
    laboratory = {"mg/dL", "umol/L"}
    exposure = {"mg.min/mL"}
    return frozenset(simple | concentrations | rates | per_body | per_body_rates | laboratory | exposure)


UNIT_CODES: Final[frozenset[str]] = _closed_list()
"""Every unit code a Quantity may carry."""

# How people type each atom (compared case-insensitively) and the code it means.
_SPELLINGS: Final[dict[str, str]] = {
    **dict.fromkeys(("mg", "milligram", "milligrams"), "mg"),
    **dict.fromkeys(("mcg", "microgram", "micrograms"), "mcg"),
    **dict.fromkeys(("g", "gram", "grams"), "g"),
    **dict.fromkeys(("kg", "kilogram", "kilograms"), "kg"),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), "lb"),
    **dict.fromkeys(("unit", "units"), "units"),
    **dict.fromkeys(("meq",), "mEq"),
    **dict.fromkeys(("mmol", "millimole", "millimoles"), "mmol"),
    **dict.fromkeys(("umol", "µmol", "μmol", "micromol", "micromole", "micromoles"), "umol"),
    **dict.fromkeys(("ml", "milliliter", "milliliters", "millilitre", "millilitres"), "mL"),
    **dict.fromkeys(("l", "liter", "liters", "litre", "litres"), "L"),
    **dict.fromkeys(("dl", "deciliter", "decilitre"), "dL"),
    **dict.fromkeys(("cm", "centimeter", "centimeters", "centimetre", "centimetres"), "cm"),
    **dict.fromkeys(("m", "meter", "meters", "metre", "metres"), "m"),
    **dict.fromkeys(("in", "inch", "inches"), "in"),
    **dict.fromkeys(("m2", "m²", "m^2"), "m2"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "min"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("d", "day", "days"), "day"),
}

# Spellings understood but error-prone: normalised, with a note the reader sees.
_NORMALISED: Final[dict[str, tuple[str, str]]] = {
    spelling: ("mcg", f"“{spelling}” was read as mcg; write mcg (µg is misread as mg).")
    for spelling in ("ug", "µg", "μg")
}

# Spellings refused outright (ISMP List of Error-Prone Abbreviations), with what to write instead.
_REFUSED: Final[dict[str, str]] = {
    "u": "“U” or “u” is misread as 0, 4 or cc. Write “units”.",
    "iu": "“IU” is misread as IV or 10. Write “units”.",
    "cc": "“cc” is misread as u or 00. Write “mL”.",
}

_NUMBER: Final = r"(?:\d+(?:\.\d+)?|\.\d+)"
_QUANTITY_RE: Final = re.compile(rf"\s*(?P<number>{_NUMBER})\s*(?P<unit>.*?)\s*")
_RATIO_UNIT_RE: Final = re.compile(rf"(?P<amount>[^/]+?)\s*/\s*(?P<number>{_NUMBER})\s*(?P<volume>.+)")

_KIND_EXAMPLES: Final[dict[str, str]] = {
    "mg": "a mass",
    "mL": "a volume",
    "cm": "a length",
    "h": "a time",
    "m2": "an area",
    "units": "an amount in units",
    "mEq": "an amount in mEq",
    "mmol": "an amount of substance",
    "mg/mL": "a mass concentration",
    "units/mL": "a concentration in units",
    "mEq/mL": "a concentration in mEq",
    "mmol/L": "a molar concentration",
    "mg/h": "a dose rate",
    "units/h": "a dose rate in units",
    "mEq/h": "a dose rate in mEq",
    "mmol/h": "a dose rate in mmol",
    "mL/h": "a flow rate",
    "mg/kg": "a dose per kg of body weight",
    "units/kg": "a dose in units per kg of body weight",
    "mg/m2": "a dose per m² of body surface",
    "mg/kg/h": "a weight-based dose rate",
    "mg.min/mL": "an exposure (AUC)",
}

_HINTS: Final[dict[frozenset[str], str]] = {
    frozenset({"a mass", "a volume"}): "Going between them needs the concentration (for example mg/mL).",
    frozenset({"a mass", "an amount in units"}): "Units measure biological activity and never convert to a mass.",
    frozenset({"a mass", "an amount in mEq"}): "That needs the molar mass and valence; use the labelled strength.",
    frozenset({"a mass", "an amount of substance"}): "That needs the molar mass; use the labelled strength.",
    frozenset({"an amount in mEq", "an amount of substance"}): "That needs the valence; use the labelled strength.",
}


@dataclass(frozen=True)
class Quantity:
    """A non-negative ``Decimal`` value with a unit code from ``UNIT_CODES``."""

    value: Decimal
    unit: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal):
            raise TypeError(f"Quantity value must be a Decimal, not {type(self.value).__name__}")
        if not self.value.is_finite():
            raise InvalidInput(f"{self.value} is not a number.", code="NOT_A_NUMBER")
        if self.value < 0:
            raise InvalidInput(
                f"{self.value} {self.unit} is negative; quantities are never negative.", code="NEGATIVE_QUANTITY"
            )
        if self.unit not in UNIT_CODES:
            raise InvalidInput(
                f"“{self.unit}” is not a unit code OpenInfusion knows; {_known_units_hint()}", code="UNKNOWN_UNIT"
            )

    @classmethod
    def of(cls, value: Decimal | int | str, unit: str) -> Quantity:
        """Build a quantity from a Decimal, an int or decimal text (never a float)."""
        if isinstance(value, float):
            raise TypeError("Quantity.of refuses floats; pass a Decimal or text such as '0.5'")
        return cls(Decimal(value), unit)

    def to(self, unit: str) -> Quantity:
        """The same amount in another unit of the same kind; refuses a change of kind."""
        if unit == self.unit:
            return self
        return Quantity(self.value * conversion_factor(self.unit, unit), unit)

    def __str__(self) -> str:
        return format_quantity(self)


@dataclass(frozen=True)
class ParsedQuantity:
    """A quantity read from text, with the notes a reader should see (what was normalised)."""

    quantity: Quantity
    notes: tuple[str, ...] = ()


@cache
def _registry() -> pint.UnitRegistry[Decimal]:
    registry: pint.UnitRegistry[Decimal] = pint.UnitRegistry(non_int_type=Decimal)
    registry.define("drug_unit = [drug_activity]")
    registry.define("equivalent = [charge_equivalent]")
    return registry


def _pint_expression(code: str) -> str:
    numerator, *denominators = code.split("/")
    product = " * ".join(f"({_ATOMS[atom]})" for atom in numerator.split("."))
    return "".join([f"({product})", *(f" / ({_ATOMS[atom]})" for atom in denominators)])


@cache
def _dimensionality(code: str) -> str:
    return str(_registry().Quantity(Decimal(1), _pint_expression(code)).dimensionality)


def describe_unit(code: str) -> str:
    """What kind of quantity a unit measures, in words (``mg`` → ``a mass``)."""
    for example, words in _KIND_EXAMPLES.items():
        if _dimensionality(example) == _dimensionality(code):
            return words
    return f"a quantity in {display_unit(code)}"


@cache
def conversion_factor(from_unit: str, to_unit: str) -> Decimal:
    """The exact factor from one unit to another, or ``UNIT_DIMENSION_MISMATCH``."""
    for code in (from_unit, to_unit):
        if code not in UNIT_CODES:
            raise InvalidInput(
                f"“{code}” is not a unit code OpenInfusion knows; {_known_units_hint()}", code="UNKNOWN_UNIT"
            )
    registry = _registry()
    try:
        converted = registry.Quantity(Decimal(1), _pint_expression(from_unit)).to(_pint_expression(to_unit))
    except pint.DimensionalityError:
        raise _mismatch(from_unit, to_unit) from None
    factor = converted.magnitude
    return factor if isinstance(factor, Decimal) else Decimal(factor)


def _mismatch(from_unit: str, to_unit: str) -> InvalidInput:
    kinds = (describe_unit(from_unit), describe_unit(to_unit))
    hint = _HINTS.get(frozenset(kinds), "")
    message = (
        f"{display_unit(from_unit)} cannot be converted to {display_unit(to_unit)}: "
        f"{display_unit(from_unit)} is {kinds[0]} and {display_unit(to_unit)} is {kinds[1]}. {hint}"
    )
    return InvalidInput(message.strip(), code="UNIT_DIMENSION_MISMATCH", details={"from": from_unit, "to": to_unit})


def magnitude(quantity: Quantity, unit: str, *, what: str) -> Decimal:
    """The value of ``quantity`` in ``unit``; the refusal names ``what`` was expected."""
    try:
        return quantity.to(unit).value
    except InvalidInput as error:
        if error.code != "UNIT_DIMENSION_MISMATCH":
            raise
        raise InvalidInput(
            f"The {what} must be {describe_unit(unit)} (for example {display_unit(unit)}); "
            f"{quantity} is {describe_unit(quantity.unit)}.",
            code="UNIT_DIMENSION_MISMATCH",
            details=error.details,
        ) from None


def split_unit(code: str) -> tuple[str, tuple[str, ...]]:
    """A unit code's numerator and its denominators: ``mcg/kg/min`` → ``("mcg", ("kg", "min"))``."""
    numerator, *denominators = code.split("/")
    return numerator, tuple(denominators)


def join_unit(numerator: str, denominators: tuple[str, ...]) -> str:
    """The inverse of ``split_unit``."""
    return "/".join((numerator, *denominators))


def parse_unit(text: str) -> tuple[str, tuple[str, ...]]:
    """Read a unit as typed (``mcg/kg/min``, ``mg/m²``, ``ug``) into its code and any notes."""
    segments = [segment.strip() for segment in text.strip().split("/")]
    if not segments[0]:
        raise InvalidInput(
            f"“{text}” has no unit. Write the unit after the number, for example 5 mg.", code="UNKNOWN_UNIT"
        )
    notes: list[str] = []
    numerator = [_atom(token, text, notes) for token in re.split(r"\s*[·*.]\s*|\s+", segments[0])]
    denominators = [_atom(segment, text, notes) for segment in segments[1:]]
    code = join_unit(".".join(numerator), tuple(denominators))
    if code not in UNIT_CODES:
        raise InvalidInput(
            f"“{text.strip()}” is not a unit OpenInfusion uses; {_known_units_hint()}",
            code="UNKNOWN_UNIT",
            details={"unit": text},
        )
    return code, tuple(notes)


def _atom(token: str, text: str, notes: list[str]) -> str:
    key = token.strip().lower()
    if key in _REFUSED:
        raise InvalidInput(f"“{text.strip()}”: {_REFUSED[key]}", code="ERROR_PRONE_UNIT", details={"unit": token})
    if key in _NORMALISED:
        code, note = _NORMALISED[key]
        notes.append(note)
        return code
    if key not in _SPELLINGS:
        where = "" if token.strip() == text.strip() else f" in “{text.strip()}”"
        raise InvalidInput(
            f"“{token}”{where} is not a unit OpenInfusion uses; {_known_units_hint()}",
            code="UNKNOWN_UNIT",
            details={"unit": token},
        )
    return _SPELLINGS[key]


def _known_units_hint() -> str:
    return (
        "write units such as mg, mcg, g, units, mEq, mmol, mL, L, kg, lb, cm, m, in, h, min, "
        "and compounds such as mg/mL, mL/h, mcg/kg/min, mg/m2, mg/kg, units/kg, mg/dL, umol/L, mg.min/mL."
    )


def parse_quantity(text: str) -> Quantity:
    """Read ``"175 cm"``, ``"5 mcg/kg/min"`` or ``"400 mg/250 mL"`` (a concentration) as a Quantity."""
    return parse_quantity_with_notes(text).quantity


def parse_quantity_with_notes(text: str) -> ParsedQuantity:
    """Like ``parse_quantity``, also returning what was normalised (``ug`` → ``mcg``, ``.5`` → ``0.5``)."""
    match = None if "," in text else _QUANTITY_RE.fullmatch(text)
    if match is None:
        raise _not_a_quantity(text)
    number, unit_text = match["number"], match["unit"]
    notes = list(_number_notes(number))
    ratio = _RATIO_UNIT_RE.fullmatch(unit_text)
    if ratio is None:
        code, unit_notes = parse_unit(unit_text)
        return ParsedQuantity(Quantity(Decimal(number), code), (*notes, *unit_notes))
    amount_code, amount_notes = parse_unit(ratio["amount"])
    volume_code, volume_notes = parse_unit(ratio["volume"])
    per = Decimal(ratio["number"])
    if per == 0:
        raise InvalidInput(f"“{text.strip()}” divides by zero.", code="NOT_A_NUMBER")
    code, _ = parse_unit(f"{amount_code}/{volume_code}")
    notes += _number_notes(ratio["number"])
    return ParsedQuantity(Quantity(Decimal(number) / per, code), (*notes, *amount_notes, *volume_notes))


def parse_dose(text: str) -> Quantity:
    """Read a prescribed dose ("8 mg", "85 mg/m2", "AUC 5" is not here: "5 mg.min/mL") strictly.

    What a chart reading tolerates with a note, a medication order refuses (ISMP List of
    Error-Prone Abbreviations, Symbols and Dose Designations, 2021): "ug"/"µg" (write mcg), a naked
    decimal (".5 mg": write 0.5 mg), a trailing zero ("5.0 mg": write 5 mg); and a dose of zero, a
    concentration ("400 mg/250 mL") or a rate ("10 mg/h", "100 mg/m2/day": the time is the infusion
    time's field) is not a dose."""
    parsed = parse_quantity_with_notes(text)
    typed = text.strip()
    if parsed.notes:
        raise InvalidInput(
            f"“{typed}” uses a form that is misread in orders: "
            + " ".join(note.replace(" was read as ", " would be read as ") for note in parsed.notes)
            + " Write the dose again.",
            code="ERROR_PRONE_NOTATION",
            details={"text": typed},
        )
    dose = parsed.quantity
    if dose.value == 0:
        raise InvalidInput(f"“{typed}” is a dose of zero. Write the dose to give.", code="INVALID_DOSE")
    if any(unit in _TIMES for unit in split_unit(dose.unit)[1]):
        raise InvalidInput(
            f"“{typed}” is a rate, not a dose. Write the dose for one administration (for example "
            "2400 mg/m2) and give the time in the infusion time field.",
            code="INVALID_DOSE",
        )
    volumes = ("mL", "L", "dL")
    if dose.unit != "mg.min/mL" and any(unit in volumes for unit in split_unit(dose.unit)[1]):
        raise InvalidInput(
            f"“{typed}” is a concentration, not a dose. Write the amount to give (for example 400 mg) "
            "and the volume in its own field.",
            code="INVALID_DOSE",
        )
    return dose


def _number_notes(number: str) -> tuple[str, ...]:
    if number.startswith("."):
        return (f"“{number}” was read as 0{number}; always write a zero before the decimal point.",)
    if re.fullmatch(r"\d+\.0+", number):
        whole = number.split(".")[0]
        return (f"“{number}” was read as {whole}; a trailing zero is misread as ten times the dose.",)
    return ()


def _not_a_quantity(text: str) -> InvalidInput:
    if not text.strip():
        message = "Nothing was typed: write a number and a unit, for example 175 cm or 5 mg/kg."
    elif "," in text:
        message = (
            f"“{text.strip()}”: write numbers with a point for decimals and no thousands separator (1000 mg, 2.5 mg)."
        )
    elif text.strip().startswith("-"):
        message = f"“{text.strip()}” is negative; quantities are never negative."
    else:
        message = f"“{text.strip()}” is not a quantity. Write a number and a unit, for example 175 cm or 5 mg/kg."
    return InvalidInput(message, code="NOT_A_QUANTITY", details={"text": text})


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round to ``places`` decimal places, halves away from zero (the clinical convention)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_decimal(value: Decimal, places: int | None = None) -> str:
    """A number as a pharmacist should read it: no trailing zeros, a leading zero, no exponent."""
    if places is not None:
        value = round_half_up(value, places)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def display_unit(code: str) -> str:
    """A unit code as printed on screens and labels (``mg/m2`` → ``mg/m²``)."""
    return code.replace("m2", "m²").replace("umol", "µmol").replace(".", "·")


def format_quantity(quantity: Quantity, places: int | None = None) -> str:
    """``Quantity(Decimal("5.0"), "mg")`` → ``"5 mg"``; ``Decimal("0.50")`` → ``"0.5 mg"``."""
    return f"{format_decimal(quantity.value, places)} {display_unit(quantity.unit)}"
