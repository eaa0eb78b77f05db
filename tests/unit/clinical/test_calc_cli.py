"""``openinfusion calc``: every subcommand, as JSON and as a readable line, and its refusals.

The expected numbers are the worked examples of the module tests (sources named there).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openinfusion.cli import main

CLI = str(Path(sys.executable).with_name("openinfusion"))


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["calc", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out = run_json(capsys, *argv)
    assert code == 0, out
    return out


def test_bsa(capsys):
    out = ok(capsys, "bsa", "--height", "175 cm", "--weight", "70 kg")
    assert (out["bsa_m2"], out["formula"]) == (1.84, "mosteller")
    assert ok(capsys, "bsa", "--height", "68.9 in", "--weight", "154.3 lb", "--formula", "dubois")["bsa_m2"] == 1.85
    assert ok(capsys, "bsa", "--height", "190 cm", "--weight", "120 kg", "--cap", "2")["bsa_m2"] == 2


def test_bsa_flags_a_likely_slip(capsys):
    out = ok(capsys, "bsa", "--height", "69 cm", "--weight", "70 kg")
    assert "inches entered as centimetres" in out["warnings"][0]


def test_body(capsys):
    out = ok(capsys, "body", "--sex", "M", "--height", "175 cm", "--weight", "100 kg")
    assert (out["bmi"], out["ibw_kg"], out["adjbw_kg"]) == (32.7, 70.5, 82.3)


def test_crcl(capsys):
    out = ok(capsys, "crcl", "--age", "65", "--sex", "M", "--weight", "70 kg", "--scr", "1.4 mg/dL")
    assert (out["crcl_ml_min"], out["weight_used_kg"], out["scr_used_mg_dl"]) == (52.1, 70, 1.4)
    auto = ok(
        capsys,
        "crcl",
        "--age",
        "65",
        "--sex",
        "M",
        "--weight",
        "100 kg",
        "--height",
        "175 cm",
        "--scr",
        "0.5 mg/dL",
        "--weight-basis",
        "auto",
        "--scr-floor",
        "0.7",
    )
    assert (auto["weight_basis"], auto["weight_used_kg"], auto["scr_used_mg_dl"]) == ("adjusted", 82.3, 0.7)


def test_egfr(capsys):
    assert ok(capsys, "egfr", "--age", "55", "--sex", "F", "--scr", "0.9 mg/dL")["egfr_ml_min_1_73m2"] == 75
    assert ok(capsys, "egfr", "--age", "55", "--sex", "M", "--scr", "0.9 mg/dL", "--bsa", "2.1")["egfr_ml_min"] == 122.6


def test_carboplatin_from_a_gfr_and_from_creatinine(capsys):
    out = ok(capsys, "carboplatin", "--auc", "5", "--gfr", "90 mL/min")
    assert (out["dose_mg"], out["gfr_used_ml_min"], out["uncapped_dose_mg"]) == (575, 90, 575)
    capped = ok(capsys, "carboplatin", "--auc", "5", "--gfr", "140")
    assert (capped["dose_mg"], capped["uncapped_dose_mg"], capped["gfr_capped"]) == (750, 825, True)
    assert ok(capsys, "carboplatin", "--auc", "5", "--gfr", "140", "--gfr-cap", "none")["dose_mg"] == 825
    estimated = ok(
        capsys, "carboplatin", "--auc", "5", "--age", "65", "--sex", "M", "--weight", "70 kg", "--scr", "1.4 mg/dL"
    )
    assert (estimated["dose_mg"], estimated["gfr_source"], estimated["crcl_ml_min"]) == (385.5, "cockcroft-gault", 52.1)


def test_dose(capsys):
    out = ok(capsys, "dose", "--basis", "375 mg/m2", "--bsa", "1.9")
    assert (out["dose"], out["unit"]) == (712.5, "mg")
    vincristine = ok(capsys, "dose", "--basis", "1.4 mg/m2", "--height", "175 cm", "--weight", "70 kg", "--max", "2 mg")
    assert (vincristine["dose"], vincristine["uncapped_dose"], vincristine["capped_at_max"]) == (2, 2.58, True)
    assert ok(capsys, "dose", "--basis", "5 mg/kg", "--weight", "70 kg")["dose"] == 350
    assert ok(capsys, "dose", "--basis", "5 mg.min/mL", "--gfr", "90 mL/min")["dose"] == 575


def test_round(capsys):
    out = ok(capsys, "round", "--dose", "712.5 mg", "--vials", "100 mg,500 mg")
    assert (out["rounded"], out["deviation_pct"], out["round"]) == (700, -1.75, True)
    assert out["vials"] == [{"size": 500, "unit": "mg", "count": 1}, {"size": 100, "unit": "mg", "count": 2}]
    increment = ok(capsys, "round", "--dose", "712.5 mg", "--increment", "100 mg", "--threshold", "1")
    assert (increment["rounded"], increment["round"], increment["dose_to_prepare"]) == (700, False, 712.5)
    assert ok(capsys, "round", "--dose", "712.5 mg", "--vials", "100,500")["rounded"] == 700


def test_cumulative(capsys):
    out = ok(capsys, "cumulative", "--limit", "450 mg/m2", "--given", "60,60,60", "--next", "60")
    assert (out["cumulative_before"], out["cumulative_after"], out["exceeds_limit"], out["remaining"]) == (
        180,
        240,
        False,
        270,
    )
    over = ok(capsys, "cumulative", "--limit", "450 mg/m2", "--given", "400 mg/m2", "--next", "60")
    assert (over["exceeds_limit"], over["over_by"]) == (True, 10)


def test_drip_and_rate(capsys):
    drip = ok(capsys, "drip", "--volume", "1000 mL", "--duration", "8 h", "--drop-factor", "15")
    assert (drip["rate_ml_h"], drip["gtt_min"]) == (125, 31)
    rate = ok(capsys, "rate", "--dose", "5 mcg/kg/min", "--weight", "70 kg", "--concentration", "400 mg/250 mL")
    assert rate["rate_ml_h"] == 13.1
    back = ok(
        capsys,
        "rate",
        "--rate",
        "13.125 mL/h",
        "--dose-unit",
        "mcg/kg/min",
        "--weight",
        "70 kg",
        "--concentration",
        "400 mg/250 mL",
    )
    assert (back["dose"], back["unit"]) == (5, "mcg/kg/min")


def test_bud(capsys):
    out = ok(
        capsys,
        "bud",
        "--category",
        "1",
        "--storage",
        "room",
        "--compounded-at",
        "2025-03-08T22:00",
        "--time-zone",
        "America/New_York",
    )
    assert (out["max_bud_hours"], out["bud"]) == (12, "2025-03-09T11:00:00-04:00")
    stability = ok(
        capsys, "bud", "--category", "2", "--storage", "refrigerator", "--components", "sterile", "--stability", "8 h"
    )
    assert (stability["usp_limit_hours"], stability["max_bud_hours"], stability["governed_by"]) == (240, 8, "stability")
    expiry = ok(
        capsys,
        "bud",
        "--category",
        "3",
        "--storage",
        "freezer",
        "--sterility-tested",
        "--process",
        "terminal",
        "--compounded-at",
        "2025-01-15T10:00+00:00",
        "--component-expiry",
        "2025-03",
    )
    assert (expiry["usp_limit_hours"], expiry["bud"], expiry["governed_by"]) == (
        4320,
        "2025-03-31T23:59:00+00:00",
        "component expiry",
    )
    assert ok(capsys, "bud", "--category", "immediate-use")["max_bud_hours"] == 4
    assert ok(capsys, "bud", "--container", "multiple-dose")["max_bud_hours"] == 672
    assert ok(capsys, "bud", "--container", "multiple-dose", "--manufacturer-limit", "14 days")["max_bud_hours"] == 336


def test_ndc_and_gs1(capsys):
    out = ok(capsys, "ndc", "0409-4888-02")
    assert (out["ndc11"], out["ndc11_hyphenated"], out["gtin14"]) == ("00409488802", "00409-4888-02", "00304094888026")
    scan = ok(capsys, "gs1", r"0100355150331017172705001012345\x1d21SER1")
    assert (scan["gtin"], scan["ndc10_digits"], scan["lot"], scan["expiry"], scan["serial"]) == (
        "00355150331017",
        "5515033101",
        "12345",
        "2027-05-31",
        "SER1",
    )


def test_gravimetric(capsys):
    out = ok(capsys, "gravimetric", "--mass", "50.23 g", "--specific-gravity", "1.0046", "--target", "50 mL")
    assert (out["volume_ml"], out["deviation_pct"], out["within_tolerance"]) == (50, 0, True)
    assert (
        ok(capsys, "gravimetric", "--mass", "47 g", "--specific-gravity", "1.0046", "--target", "50")[
            "within_tolerance"
        ]
        is False
    )


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["bsa", "--height", "175 in", "--weight", "70 kg"], "IMPLAUSIBLE_MEASUREMENT"),
        (["bsa", "--height", "175 cm", "--weight", "70 kg", "--cap", "big"], "NOT_A_NUMBER"),
        (["dose", "--basis", "5 u/kg", "--weight", "70 kg"], "ERROR_PRONE_UNIT"),
        (["dose", "--basis", "375 mg/m2"], "MISSING_BSA"),
        (["crcl", "--age", "65", "--sex", "M", "--weight", "70 kg", "--scr", "88 mg/dL"], "IMPLAUSIBLE_MEASUREMENT"),
        (["crcl", "--age", "65", "--sex", "X", "--weight", "70 kg", "--scr", "1 mg/dL"], "UNKNOWN_SEX"),
        (["carboplatin", "--auc", "5"], "MISSING_INPUT"),
        (["round", "--dose", "712.5 mg"], "MISSING_INPUT"),
        (["round", "--dose", "712.5 mg", "--vials", "5 mL"], "UNIT_DIMENSION_MISMATCH"),
        (["cumulative", "--limit", "450 mg/m2", "--given", "60 mg"], "UNIT_DIMENSION_MISMATCH"),
        (["drip", "--volume", "1000 mL", "--duration", "8 h", "--drop-factor", "12"], "INVALID_INPUT"),
        (["rate", "--dose", "5 mcg/kg/min", "--concentration", "400 mg/250 mL"], "MISSING_WEIGHT"),
        (["rate", "--concentration", "400 mg/250 mL"], "MISSING_INPUT"),
        (["rate", "--dose", "5 units/h", "--concentration", "1 mg/mL"], "UNIT_DIMENSION_MISMATCH"),
        (["bud", "--category", "1", "--storage", "freezer"], "BUD_NOT_ALLOWED"),
        (["bud", "--category", "2"], "MISSING_INPUT"),
        (["bud", "--category", "2", "--storage", "room"], "MISSING_INPUT"),
        (["bud", "--category", "1", "--storage", "room", "--compounded-at", "2025-03-08T22:00"], "NAIVE_DATETIME"),
        (["bud", "--category", "1", "--storage", "room", "--compounded-at", "yesterday"], "NOT_A_DATE"),
        (
            [
                "bud",
                "--category",
                "1",
                "--storage",
                "room",
                "--compounded-at",
                "2025-03-09T02:30",
                "--time-zone",
                "America/New_York",
            ],
            "NONEXISTENT_TIME",
        ),
        (
            [
                "bud",
                "--category",
                "1",
                "--storage",
                "room",
                "--compounded-at",
                "2025-03-09T02:30",
                "--time-zone",
                "Mars/Olympus",
            ],
            "UNKNOWN_TIME_ZONE",
        ),
        (["bud", "--category", "1", "--storage", "room", "--component-expiry", "2025-03-10"], "MISSING_INPUT"),
        (
            [
                "bud",
                "--category",
                "1",
                "--storage",
                "room",
                "--compounded-at",
                "2025-03-08T22:00Z",
                "--component-expiry",
                "soon",
            ],
            "NOT_A_DATE",
        ),
        (["ndc", "0409488802"], "AMBIGUOUS_NDC"),
        (["gs1", "0100355150331018172705311012345"], "BAD_CHECK_DIGIT"),
        (["gs1", "0100355150331017230000"], "UNKNOWN_AI"),
        (["gs1", "01003551503310"], "BAD_BARCODE"),
        (["gravimetric", "--mass", "50 mL", "--specific-gravity", "1", "--target", "50 mL"], "UNIT_DIMENSION_MISMATCH"),
        (["egfr", "--age", "12", "--sex", "F", "--scr", "0.5 mg/dL"], "ADULT_EQUATION"),
        (["bsa", "--height", "175 cm"], "BAD_ARGUMENTS"),
        (["bsa", "--height", "175 cm", "--weight", "70 kg", "--formula", "guess"], "BAD_ARGUMENTS"),
    ],
)
def test_refusals_print_the_error_object_and_exit_non_zero(capsys, argv, code):
    try:
        exit_code = main(["calc", *argv, "--json"])
    except SystemExit as stop:
        exit_code = stop.code  # usage errors leave through argparse
    assert exit_code != 0
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == code
    assert error["message"]


def test_without_json_a_readable_line_and_notes(capsys):
    assert main(["calc", "bsa", "--height", "175 cm", "--weight", "70 kg"]) == 0
    assert capsys.readouterr().out.strip() == "BSA 1.84 m² (mosteller)"
    assert main(["calc", "dose", "--basis", "50 ug/kg", "--weight", "70.0 kg"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "Dose 3500 mcg"
    assert any("read as mcg" in line for line in lines[1:])
    assert any("trailing zero" in line for line in lines[1:])


def test_without_json_a_refusal_goes_to_stderr(capsys):
    assert main(["calc", "dose", "--basis", "5 cc"]) != 0
    assert "ERROR_PRONE_UNIT" in capsys.readouterr().err


def test_the_installed_command_runs_without_django_settings():
    """Through the real entry point, with no settings module configured."""
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "no.such.settings"}
    done = subprocess.run(
        [CLI, "calc", "carboplatin", "--auc", "5", "--gfr", "90 mL/min", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(done.stdout)["dose_mg"] == 575
    refused_run = subprocess.run([CLI, "calc", "ndc", "0409-48882", "--json"], capture_output=True, text=True, env=env)
    assert refused_run.returncode == 2
    assert json.loads(refused_run.stdout)["error"]["code"] == "BAD_NDC"
