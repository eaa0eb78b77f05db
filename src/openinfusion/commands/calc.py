"""``openinfusion calc``: the clinical calculations from the command line, without Django.

Quantities are given as text with units ("175 cm", "5 mcg/kg/min", "400 mg/250 mL"). With
``--json`` each subcommand prints one JSON object (numbers as JSON numbers, ``warnings`` and
``notes`` when there are any); a refusal prints ``{"error": {"code", "message"}}`` and exits 2.
"""

from __future__ import annotations

import argparse
import calendar
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openinfusion.clinical import body, bud, codes, cumulative, dosing, gravimetric, iron, rates, renal, rounding
from openinfusion.clinical.units import Quantity, format_decimal, parse_quantity_with_notes, parse_unit
from openinfusion.commands import emit, fail
from openinfusion.errors import DomainError, InvalidInput

Result = tuple[dict[str, Any], str]


class _Inputs:
    """Reads the text arguments into Decimals and Quantities, keeping the notes a reader should see."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def quantity(self, text: str, *, unit: str | None = None) -> Quantity:
        """A quantity; a bare number takes ``unit`` when one is implied (e.g. mg/dL for --scr-floor)."""
        if unit is not None and re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
            return Quantity(Decimal(text.strip()), unit)
        parsed = parse_quantity_with_notes(text)
        self.notes.extend(parsed.notes)
        return parsed.quantity

    def unit(self, text: str) -> str:
        code, notes = parse_unit(text)
        self.notes.extend(notes)
        return code

    def optional(self, text: str | None, *, unit: str | None = None) -> Quantity | None:
        return None if text is None else self.quantity(text, unit=unit)

    def value(self, text: str, unit: str) -> Decimal:
        """A number in ``unit``, given bare or with any unit of the same kind ("90" or "90 mL/min")."""
        return self.quantity(text, unit=unit).to(unit).value


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInput(f"{what} must be a number, such as 10 or 0.4; “{text}” is not.", code="NOT_A_NUMBER")
    return value


def _json_ready(value: Any) -> Any:
    """Decimals as JSON numbers (integers when whole), recursively; everything else unchanged."""
    if isinstance(value, Decimal):
        normal = value.normalize()
        return int(normal) if normal == normal.to_integral_value() else float(normal)
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


class _CalcParser(argparse.ArgumentParser):
    """A sub-parser that answers a usage error with the JSON error object when --json was given."""

    _json_requested = False

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        arguments = args[0] if args else kwargs.get("args")
        self._json_requested = arguments is not None and "--json" in arguments
        return super().parse_known_args(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if self._json_requested:
            fail(InvalidInput(f"{self.prog}: {message}", code="BAD_ARGUMENTS"), as_json=True)
            self.exit(2)
        super().error(message)


def _handler(run: Callable[[argparse.Namespace, _Inputs], Result]) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        inputs = _Inputs()
        try:
            result, text = run(args, inputs)
        except DomainError as error:
            return fail(error, as_json=args.json)
        if inputs.notes:
            result["notes"] = inputs.notes
        lines = [
            text,
            *(f"  warning: {w}" for w in result.get("warnings", ())),
            *(f"  note: {n}" for n in inputs.notes),
        ]
        return emit(_json_ready(result), as_json=args.json, text="\n".join(lines))

    return handle


def _warned(result: dict[str, Any], warnings: tuple[str, ...]) -> dict[str, Any]:
    return {**result, "warnings": list(warnings)} if warnings else result


# --- body size and kidney function ---------------------------------------------------------------


def _run_bsa(args: argparse.Namespace, inputs: _Inputs) -> Result:
    bsa = body.body_surface_area(
        inputs.quantity(args.height),
        inputs.quantity(args.weight),
        body.BsaFormula(args.formula),
        cap_m2=None if args.cap is None else _decimal(args.cap, "--cap"),
    )
    result = {"bsa_m2": bsa.m2, "formula": bsa.formula.value, "uncapped_bsa_m2": bsa.uncapped_m2, "capped": bsa.capped}
    return _warned(result, bsa.warnings), f"BSA {format_decimal(bsa.m2)} m² ({bsa.formula.value})"


def _run_body(args: argparse.Namespace, inputs: _Inputs) -> Result:
    weights = body.body_weights(
        inputs.quantity(args.height),
        inputs.quantity(args.weight),
        body.Sex.parse(args.sex),
        adjustment_factor=_decimal(args.adjustment_factor, "--adjustment-factor"),
    )
    result = {
        "bmi": weights.bmi,
        "actual_kg": weights.actual_kg,
        "ibw_kg": weights.ibw_kg,
        "adjbw_kg": weights.adjbw_kg,
        "adjustment_factor": weights.adjustment_factor,
    }
    text = (
        f"BMI {format_decimal(weights.bmi)}; IBW {format_decimal(weights.ibw_kg)} kg; "
        f"AdjBW {format_decimal(weights.adjbw_kg)} kg"
    )
    return _warned(result, weights.warnings), text


def _clearance(args: argparse.Namespace, inputs: _Inputs) -> renal.CreatinineClearance:
    missing = [f"--{name}" for name in ("age", "sex", "weight", "scr") if getattr(args, name) is None]
    if missing:
        raise InvalidInput(f"Creatinine clearance needs {', '.join(missing)}.", code="MISSING_INPUT")
    return renal.cockcroft_gault(
        age_years=args.age,
        sex=body.Sex.parse(args.sex),
        weight=inputs.quantity(args.weight),
        scr=inputs.quantity(args.scr),
        height=inputs.optional(args.height),
        weight_basis=renal.WeightBasis(args.weight_basis),
        scr_floor_mg_dl=None if args.scr_floor is None else inputs.value(args.scr_floor, "mg/dL"),
        adjustment_factor=_decimal(args.adjustment_factor, "--adjustment-factor"),
    )


def _clearance_result(crcl: renal.CreatinineClearance) -> dict[str, Any]:
    return _warned(
        {
            "crcl_ml_min": crcl.ml_min,
            "weight_used_kg": crcl.weight_used_kg,
            "weight_basis": crcl.weight_basis.value,
            "scr_used_mg_dl": crcl.scr_used_mg_dl,
            "scr_floor_applied": crcl.scr_floor_applied,
        },
        crcl.warnings,
    )


def _run_crcl(args: argparse.Namespace, inputs: _Inputs) -> Result:
    crcl = _clearance(args, inputs)
    text = (
        f"CrCl {format_decimal(crcl.ml_min)} mL/min (Cockcroft–Gault, {crcl.weight_basis.value} weight "
        f"{format_decimal(crcl.weight_used_kg)} kg, SCr {format_decimal(crcl.scr_used_mg_dl)} mg/dL)"
    )
    return _clearance_result(crcl), text


def _run_egfr(args: argparse.Namespace, inputs: _Inputs) -> Result:
    bsa = None if args.bsa is None else _decimal(args.bsa, "--bsa")
    egfr = renal.ckd_epi_2021(
        age_years=args.age, sex=body.Sex.parse(args.sex), scr=inputs.quantity(args.scr), bsa_m2=bsa
    )
    result = {"egfr_ml_min_1_73m2": egfr.ml_min_1_73m2, "egfr_ml_min": egfr.ml_min, "bsa_m2": egfr.bsa_m2}
    text = f"eGFR {format_decimal(egfr.ml_min_1_73m2)} mL/min/1.73 m² (CKD-EPI 2021)"
    if egfr.ml_min is not None:
        text += f"; {format_decimal(egfr.ml_min)} mL/min at BSA {format_decimal(egfr.bsa_m2 or Decimal(0))} m²"
    return result, text


# --- doses -----------------------------------------------------------------------------------------


def _gfr_cap(text: str) -> Decimal | None:
    return None if text.strip().lower() == "none" else _decimal(text, "--gfr-cap")


def _run_carboplatin(args: argparse.Namespace, inputs: _Inputs) -> Result:
    extra: dict[str, Any] = {"gfr_source": "given"}
    if args.gfr is not None:
        gfr = inputs.value(args.gfr, "mL/min")
    else:
        crcl = _clearance(args, inputs)
        gfr, extra = crcl.ml_min, {"gfr_source": "cockcroft-gault", **_clearance_result(crcl)}
    dose = dosing.calvert_dose(_decimal(args.auc, "--auc"), gfr, gfr_cap_ml_min=_gfr_cap(args.gfr_cap))
    result = {
        "dose_mg": dose.dose_mg,
        "uncapped_dose_mg": dose.uncapped_dose_mg,
        "auc": dose.auc,
        "gfr_ml_min": dose.gfr_ml_min,
        "gfr_used_ml_min": dose.gfr_used_ml_min,
        "gfr_capped": dose.gfr_capped,
        **extra,
    }
    text = (
        f"Carboplatin {format_decimal(dose.dose_mg)} mg = AUC {format_decimal(dose.auc)} × "
        f"({format_decimal(dose.gfr_used_ml_min)} + 25)" + (" (GFR capped)" if dose.gfr_capped else "")
    )
    return result, text


def _run_dose(args: argparse.Namespace, inputs: _Inputs) -> Result:
    basis = inputs.quantity(args.basis)
    weight, height = inputs.optional(args.weight), inputs.optional(args.height)
    bsa = None if args.bsa is None else _decimal(args.bsa, "--bsa")
    warnings: tuple[str, ...] = ()
    per_bsa = dosing.basis_kind(basis.unit) is dosing.BasisKind.PER_BSA
    if bsa is None and per_bsa and height is not None and weight is not None:
        computed = body.body_surface_area(height, weight, body.BsaFormula(args.formula))
        bsa, warnings = computed.m2, computed.warnings
    dose = dosing.dose_from_basis(
        basis,
        bsa_m2=bsa,
        weight=weight,
        gfr_ml_min=None if args.gfr is None else inputs.value(args.gfr, "mL/min"),
        gfr_cap_ml_min=_gfr_cap(args.gfr_cap),
        max_dose=inputs.optional(args.max),
    )
    result = {
        "dose": dose.dose.value,
        "unit": dose.dose.unit,
        "uncapped_dose": dose.uncapped.value,
        "capped_at_max": dose.capped_at_max,
        "basis": dose.basis.value,
        "basis_unit": dose.basis.unit,
        "basis_kind": dose.kind.value,
        "bsa_m2": bsa,
    }
    text = f"Dose {dose.dose}" + (f" (capped at the maximum; calculated {dose.uncapped})" if dose.capped_at_max else "")
    return _warned(result, warnings), text


def _run_round(args: argparse.Namespace, inputs: _Inputs) -> Result:
    dose, threshold = inputs.quantity(args.dose), _decimal(args.threshold, "--threshold")
    if (args.vials is None) == (args.increment is None):
        raise InvalidInput("Give either --vials or --increment.", code="MISSING_INPUT")
    if args.vials is not None:
        sizes = [inputs.quantity(size, unit=dose.unit) for size in args.vials.split(",")]
        rounded = rounding.round_to_vials(dose, sizes, threshold_pct=threshold)
    else:
        rounded = rounding.round_to_increment(
            dose, inputs.quantity(args.increment, unit=dose.unit), threshold_pct=threshold
        )
    result = {
        "rounded": rounded.nearest.value,
        "unit": dose.unit,
        "deviation_pct": rounded.deviation_pct,
        "round": rounded.rounded,
        "dose_to_prepare": rounded.dose.value,
        "threshold_pct": rounded.threshold_pct,
        "vials": [{"size": v.size.value, "unit": v.size.unit, "count": v.count} for v in rounded.vials],
        "leftover": None if rounded.leftover is None else rounded.leftover.value,
    }
    verdict = "round" if rounded.rounded else f"do not round (beyond {format_decimal(threshold)} %)"
    text = f"{rounded.nearest} ({format_decimal(rounded.deviation_pct)} %): {verdict}; prepare {rounded.dose}"
    if rounded.vials:
        text += " from " + " + ".join(f"{v.count} × {v.size}" for v in rounded.vials)
    return result, text


def _run_cumulative(args: argparse.Namespace, inputs: _Inputs) -> Result:
    limit = inputs.quantity(args.limit)
    given = [inputs.quantity(item, unit=limit.unit) for item in args.given.split(",") if item.strip()]
    total = cumulative.cumulative_dose(given, limit, inputs.optional(args.next, unit=limit.unit))
    result = {
        "cumulative_before": total.before.value,
        "cumulative_after": total.after.value,
        "exceeds_limit": total.exceeds_limit,
        "already_exceeded": total.already_exceeded,
        "remaining": total.remaining.value,
        "remaining_after_next": total.remaining_after_next.value,
        "over_by": total.over_by.value,
        "percent_of_limit_after": total.percent_of_limit_after,
        "limit": total.limit.value,
        "unit": limit.unit,
    }
    text = f"{total.before} given, {total.after} after the next dose, limit {total.limit}: " + (
        f"EXCEEDS by {total.over_by}" if total.exceeds_limit else f"{total.remaining_after_next} left"
    )
    return result, text


def _run_iron(args: argparse.Namespace, inputs: _Inputs) -> Result:
    deficit = iron.total_iron_deficit(
        weight=inputs.quantity(args.weight),
        hb=iron.parse_hemoglobin(args.hb),
        target_hb=None if args.target_hb is None else iron.parse_hemoglobin(args.target_hb),
        stores=inputs.optional(args.stores, unit="mg"),
    )
    result: dict[str, Any] = {
        "iron_deficit_mg": deficit.deficit.value,
        "hb_iron_mg": deficit.hb_iron.value,
        "stores_mg": deficit.stores.value,
        "weight_kg": deficit.weight_kg,
        "hb_g_dl": deficit.hb_g_dl,
        "target_hb_g_dl": deficit.target_hb_g_dl,
        "target_hb_default": deficit.target_hb_default,
        "stores_default": deficit.stores_default,
        "formula": deficit.formula,
    }
    text = f"Iron deficit {deficit.deficit} (Ganzoni): {deficit.formula}"
    if args.dose is not None:
        dose = inputs.quantity(args.dose, unit="mg")
        single_dose_max = inputs.optional(args.max, unit="mg")
        excesses = iron.check_iron_dose(dose, deficit.deficit, single_dose_max)
        result |= {
            "dose_mg": dose.to("mg").value,
            "single_dose_max_mg": None if single_dose_max is None else single_dose_max.to("mg").value,
            "above": [
                {
                    "limit": e.limit.value,
                    "limit_mg": e.limit_amount.value,
                    "excess_mg": e.excess.value,
                    "message": e.message,
                }
                for e in excesses
            ],
        }
        text += "".join(f"\n  ABOVE: {e.message}" for e in excesses) or f"\n  The dose {dose} is within the limits."
    elif args.max is not None:
        raise InvalidInput("--max checks a dose: give --dose too.", code="MISSING_INPUT")
    return _warned(result, deficit.warnings), text


# --- rates, dates, codes, weighing -----------------------------------------------------------------


def _run_drip(args: argparse.Namespace, inputs: _Inputs) -> Result:
    drip = rates.drip_rate(inputs.quantity(args.volume), inputs.quantity(args.duration), args.drop_factor)
    result = {"rate_ml_h": drip.ml_per_h, "gtt_min": drip.drops_per_min, "drop_factor": drip.drop_factor}
    text = f"{format_decimal(drip.ml_per_h)} mL/h" + (
        f"; {drip.drops_per_min} gtt/min at {drip.drop_factor} gtt/mL" if drip.drop_factor else ""
    )
    return result, text


def _run_rate(args: argparse.Namespace, inputs: _Inputs) -> Result:
    concentration, weight = inputs.quantity(args.concentration), inputs.optional(args.weight)
    if args.dose is not None:
        rate = rates.infusion_rate_for_dose(inputs.quantity(args.dose), concentration, weight=weight)
        return {"rate_ml_h": rate.value, "concentration": str(concentration)}, f"{rate} to give {args.dose.strip()}"
    if args.rate is None or args.dose_unit is None:
        raise InvalidInput("Give --dose, or --rate with --dose-unit.", code="MISSING_INPUT")
    dose = rates.dose_rate_for_infusion(
        inputs.quantity(args.rate, unit="mL/h"),
        concentration,
        inputs.unit(args.dose_unit),
        weight=weight,
    )
    return {"dose": dose.value, "unit": dose.unit}, f"{args.rate.strip()} gives {dose}"


def _expiry(text: str, zone: tzinfo) -> datetime:
    """A component expiry: an ISO datetime, a date (good through that day) or YYYY-MM (end of month)."""
    cleaned = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}", cleaned):
            year, month = (int(part) for part in cleaned.split("-"))
            return bud.end_of_expiry_date(date(year, month, calendar.monthrange(year, month)[1]), zone)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cleaned):
            return bud.end_of_expiry_date(date.fromisoformat(cleaned), zone)
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(
            f"“{text}” is not a date; write 2027-05-31, 2027-05 or an ISO 8601 time.", code="NOT_A_DATE"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _compounded_at(text: str, zone_name: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
        zone = None if zone_name is None else ZoneInfo(zone_name)
    except ValueError:
        raise InvalidInput(
            f"“{text}” is not an ISO 8601 time such as 2025-03-08T22:00-05:00.", code="NOT_A_DATE"
        ) from None
    except ZoneInfoNotFoundError:
        raise InvalidInput(
            f"“{zone_name}” is not a time zone; write e.g. America/New_York.", code="UNKNOWN_TIME_ZONE"
        ) from None
    if zone is not None:
        return bud.local_instant(moment, zone)
    if moment.tzinfo is None:
        raise InvalidInput(
            "--compounded-at has no UTC offset; add one (…-05:00) or give --time-zone.", code="NAIVE_DATETIME"
        )
    return moment


def _usp_limit(args: argparse.Namespace, inputs: _Inputs) -> tuple[timedelta, str]:
    if args.container is not None:
        stated = args.manufacturer_limit
        manufacturer = None if stated is None else bud.duration(inputs.quantity(stated))
        limit = bud.in_use_limit(bud.Container(args.container), manufacturer_limit=manufacturer)
        return limit, f"{args.container} container"
    if args.category == "immediate-use":
        return bud.IMMEDIATE_USE_LIMIT, "immediate use"
    if args.storage is None:
        raise InvalidInput("Give --storage (room, refrigerator or freezer).", code="MISSING_INPUT")
    limit = bud.usp797_limit(
        bud.CspCategory(args.category),
        bud.Storage(args.storage),
        process=bud.Process(args.process),
        starting_components=None if args.components is None else bud.StartingComponents(args.components),
        sterility_tested=args.sterility_tested,
    )
    return limit, f"Category {args.category}, {args.storage}"


def _run_bud(args: argparse.Namespace, inputs: _Inputs) -> Result:
    usp_limit, described = _usp_limit(args, inputs)
    stability = None if args.stability is None else bud.duration(inputs.quantity(args.stability))
    result: dict[str, Any] = {"usp_limit_hours": bud.in_hours(usp_limit), "basis": described}
    if args.compounded_at is None:
        if args.component_expiry:
            raise InvalidInput("A component expiry needs --compounded-at to compare with.", code="MISSING_INPUT")
        limit = min(usp_limit, stability) if stability is not None else usp_limit
        result |= {
            "max_bud_hours": bud.in_hours(limit),
            "governed_by": "stability" if limit != usp_limit else "USP <797>",
        }
        return result, f"BUD at most {format_decimal(bud.in_hours(limit))} h after compounding ({described})"
    start = _compounded_at(args.compounded_at, args.time_zone)
    expiries = [_expiry(text, start.tzinfo or UTC) for text in args.component_expiry]
    dated = bud.beyond_use_date(start, usp_limit=usp_limit, stability=stability, component_expiries=expiries)
    result |= {
        "max_bud_hours": bud.in_hours(dated.limit),
        "bud": dated.bud.isoformat(),
        "governed_by": dated.governed_by,
        "compounded_at": start.isoformat(),
    }
    return result, f"BUD {dated.bud.isoformat()} ({dated.governed_by}; {described})"


def _run_ndc(args: argparse.Namespace, inputs: _Inputs) -> Result:
    described = codes.describe_ndc(args.ndc)
    result = {
        "ndc": described.ndc,
        "layout": described.layout,
        "ndc10_digits": described.ndc10_digits,
        "ndc11": described.ndc11,
        "ndc11_hyphenated": described.ndc11_hyphenated,
        "gtin14": described.gtin14,
    }
    return result, f"NDC {described.ndc} ({described.layout}) = {described.ndc11_hyphenated}; GTIN {described.gtin14}"


def _run_gs1(args: argparse.Namespace, inputs: _Inputs) -> Result:
    scan = codes.parse_gs1(args.element_string)
    result = {
        "gtin": scan.gtin,
        "ndc10_digits": scan.ndc10_digits,
        "lot": scan.lot,
        "expiry": None if scan.expiry is None else scan.expiry.isoformat(),
        "serial": scan.serial,
    }
    text = (
        f"GTIN {scan.gtin} (NDC digits {scan.ndc10_digits or 'none'}), lot {scan.lot}, "
        f"expiry {scan.expiry}, serial {scan.serial}"
    )
    return result, text


def _run_gravimetric(args: argparse.Namespace, inputs: _Inputs) -> Result:
    check = gravimetric.gravimetric_check(
        inputs.quantity(args.mass),
        _decimal(args.specific_gravity, "--specific-gravity"),
        inputs.quantity(args.target, unit="mL"),
        tolerance_pct=_decimal(args.tolerance, "--tolerance"),
    )
    result = {
        "volume_ml": check.measured_volume.value,
        "target_ml": check.target_volume.value,
        "expected_mass_g": check.expected_mass.value,
        "deviation_pct": check.deviation_pct,
        "tolerance_pct": check.tolerance_pct,
        "within_tolerance": check.within_tolerance,
    }
    verdict = "PASS" if check.within_tolerance else "FAIL"
    text = (
        f"{verdict}: {check.measured_volume} measured for {check.target_volume} "
        f"({format_decimal(check.deviation_pct)} %, tolerance ±{format_decimal(check.tolerance_pct)} %)"
    )
    return result, text


# --- the parsers -----------------------------------------------------------------------------------


def _add_body_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--height", required=required, help='e.g. "175 cm", "1.75 m" or "68.9 in"')
    parser.add_argument("--weight", required=required, help='e.g. "70 kg" or "154 lb"')


def _add_clearance_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--age", type=int, required=required, help="years")
    parser.add_argument("--sex", required=required, help="M or F")
    _add_body_arguments(parser, required=False)
    parser.add_argument("--scr", required=required, help='serum creatinine, e.g. "1.4 mg/dL" or "124 umol/L"')
    parser.add_argument(
        "--weight-basis",
        choices=[b.value for b in renal.WeightBasis],
        default="actual",
        help="auto: adjusted weight if BMI >= 25, else actual",
    )
    parser.add_argument("--scr-floor", help="minimum serum creatinine in mg/dL, e.g. 0.7")
    parser.add_argument("--adjustment-factor", default="0.4", help="AdjBW factor (default 0.4)")


def _add_formula(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--formula", choices=[f.value for f in body.BsaFormula], default="mosteller")


def _add_gfr_cap(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gfr-cap", default="125", help='mL/min (default 125, FDA 2010), or "none"')


def _arguments_bsa(parser: argparse.ArgumentParser) -> None:
    _add_body_arguments(parser, required=True)
    _add_formula(parser)
    parser.add_argument("--cap", help="BSA cap in m², e.g. 2")


def _arguments_body(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sex", required=True, help="M or F")
    _add_body_arguments(parser, required=True)
    parser.add_argument("--adjustment-factor", default="0.4", help="AdjBW factor (default 0.4)")


def _arguments_egfr(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--age", type=int, required=True)
    parser.add_argument("--sex", required=True, help="M or F")
    parser.add_argument("--scr", required=True, help='e.g. "0.9 mg/dL"')
    parser.add_argument("--bsa", help="m²: also de-index the eGFR to mL/min")


def _arguments_carboplatin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--auc", required=True, help="target AUC in mg·min/mL, e.g. 5")
    parser.add_argument("--gfr", help='measured or estimated GFR, e.g. "90 mL/min"; else give the CrCl options')
    _add_gfr_cap(parser)
    _add_clearance_arguments(parser, required=False)


def _arguments_dose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--basis", required=True, help='e.g. "375 mg/m2", "5 mg/kg", "2 mg", "5 mg.min/mL"')
    parser.add_argument("--bsa", help="m²")
    _add_body_arguments(parser, required=False)
    _add_formula(parser)
    parser.add_argument("--gfr", help='for an AUC basis, e.g. "90 mL/min"')
    _add_gfr_cap(parser)
    parser.add_argument("--max", help='maximum single dose, e.g. "2 mg"')


def _arguments_iron(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weight", required=True, help='e.g. "70 kg" or "154 lb"')
    parser.add_argument("--hb", required=True, help='actual haemoglobin, e.g. "8 g/dL", "80 g/L" or "5 mmol/L"')
    parser.add_argument("--target-hb", help="default 15 g/dL from 35 kg, 13 g/dL below (SmPC)")
    parser.add_argument(
        "--stores", help='iron stores, e.g. "500 mg" or "15 mg/kg"; default 500 mg, 15 mg/kg below 35 kg'
    )
    parser.add_argument("--dose", help='a proposed single dose to check, e.g. "1000 mg"')
    parser.add_argument("--max", help='the product\'s maximum single dose, e.g. "1000 mg" (with --dose)')


def _arguments_round(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dose", required=True, help='e.g. "712.5 mg"')
    parser.add_argument("--vials", help='vial sizes, e.g. "100 mg,500 mg"')
    parser.add_argument("--increment", help='smallest measurable step, e.g. "5 mg"')
    parser.add_argument("--threshold", default="10", help="percent (default 10)")


def _arguments_cumulative(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", required=True, help='e.g. "450 mg/m2"')
    parser.add_argument("--given", default="", help='doses given, comma-separated, in the limit\'s unit: "60,60,60"')
    parser.add_argument("--next", help="the next dose, e.g. 60")


def _arguments_drip(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--volume", required=True, help='e.g. "1000 mL"')
    parser.add_argument("--duration", required=True, help='e.g. "8 h" or "30 min"')
    parser.add_argument("--drop-factor", type=int, help="gtt/mL: 10, 15, 20 or 60")


def _arguments_rate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concentration", required=True, help='e.g. "400 mg/250 mL" or "1.6 mg/mL"')
    parser.add_argument("--dose", help='dose rate, e.g. "5 mcg/kg/min" or "1000 units/h"')
    parser.add_argument("--weight", help='e.g. "70 kg" (for a per-kg dose rate)')
    parser.add_argument("--rate", help='the reverse: a pump rate, e.g. "13.1 mL/h"')
    parser.add_argument("--dose-unit", help="with --rate: the dose rate unit wanted, e.g. mcg/kg/min")


def _arguments_bud(parser: argparse.ArgumentParser) -> None:
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--category", choices=["1", "2", "3", "immediate-use"])
    kind.add_argument("--container", choices=[c.value for c in bud.Container], help="a punctured container")
    parser.add_argument("--storage", choices=[s.value for s in bud.Storage])
    parser.add_argument("--process", choices=[p.value for p in bud.Process], default="aseptic")
    parser.add_argument("--components", choices=[c.value for c in bud.StartingComponents])
    parser.add_argument("--sterility-tested", action="store_true")
    parser.add_argument("--manufacturer-limit", help='multiple-dose container in-use limit, e.g. "14 day"')
    parser.add_argument("--compounded-at", help="ISO 8601, e.g. 2025-03-08T22:00-05:00")
    parser.add_argument("--time-zone", help="IANA zone for --compounded-at, e.g. America/New_York")
    parser.add_argument("--stability", help='the product\'s stability limit, e.g. "8 h"')
    parser.add_argument("--component-expiry", action="append", default=[], help="date, YYYY-MM or ISO time; repeat")


def _arguments_gravimetric(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mass", required=True, help='weighed mass, e.g. "50.23 g"')
    parser.add_argument("--specific-gravity", required=True, help="e.g. 1.0046 for 0.9% sodium chloride")
    parser.add_argument("--target", required=True, help='target volume, e.g. "50 mL"')
    parser.add_argument("--tolerance", default="5", help="percent (default 5)")


_SUBCOMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[..., Result]]] = [
    ("bsa", "body surface area", _arguments_bsa, _run_bsa),
    ("body", "BMI, ideal and adjusted body weight", _arguments_body, _run_body),
    ("crcl", "creatinine clearance (Cockcroft–Gault)", lambda p: _add_clearance_arguments(p, required=True), _run_crcl),
    ("egfr", "eGFR (CKD-EPI 2021, race-free)", _arguments_egfr, _run_egfr),
    ("carboplatin", "carboplatin dose by target AUC (Calvert)", _arguments_carboplatin, _run_carboplatin),
    ("dose", "dose from its basis (flat, per m², per kg, AUC)", _arguments_dose, _run_dose),
    ("round", "round a dose to vials or a measurable increment", _arguments_round, _run_round),
    ("cumulative", "lifetime dose against a limit", _arguments_cumulative, _run_cumulative),
    ("iron", "total iron deficit for IV iron (Ganzoni)", _arguments_iron, _run_iron),
    ("drip", "mL/h and drops per minute from volume and duration", _arguments_drip, _run_drip),
    ("rate", "dose rate to pump rate (mL/h), or back", _arguments_rate, _run_rate),
    ("bud", "beyond-use date (USP <797>)", _arguments_bud, _run_bud),
    ("gravimetric", "gravimetric check of a prepared volume", _arguments_gravimetric, _run_gravimetric),
]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    calc = subparsers.add_parser(
        "calc",
        help="clinical calculations (no database needed)",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    whats = calc.add_subparsers(dest="calc_command", required=True, metavar="WHAT", parser_class=_CalcParser)
    for name, summary, add_arguments, run in _SUBCOMMANDS:
        parser = whats.add_parser(name, help=summary, description=summary)
        add_arguments(parser)
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.set_defaults(handler=_handler(run))
    ndc = whats.add_parser("ndc", help="NDC to 11 digits and GTIN-14", description="NDC to 11 digits and GTIN-14")
    ndc.add_argument("ndc", help="as printed, e.g. 0409-4888-02")
    ndc.add_argument("--json", action="store_true", help="print one JSON object")
    ndc.set_defaults(handler=_handler(_run_ndc))
    gs1 = whats.add_parser("gs1", help="read a package GS1 DataMatrix", description="read a package GS1 DataMatrix")
    gs1.add_argument("element_string", help=r"e.g. 0100355150331017172705311012345\x1d21SER1")
    gs1.add_argument("--json", action="store_true", help="print one JSON object")
    gs1.set_defaults(handler=_handler(_run_gs1))
