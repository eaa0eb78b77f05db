"""``openinfusion calc iron``: the Ganzoni total iron deficit on the command line (no database).

The expected numbers are published worked examples, with their sources in
tests/unit/clinical/test_iron.py: 70 kg, Hb 8 → 12 g/dL, stores 500 mg → 1172 mg (onlycalculators.com,
the example in issue 14); 30 kg, Hb 6 g/dL with the under-35 kg defaults → 954 mg (Venofer SmPC 4.2 table,
47.5 mL of 20 mg/mL); 70 kg, Hb 80 g/L with the defaults → 1676 mg (askdis.blogspot.com 2015).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openinfusion.cli import main

CLI = str(Path(sys.executable).with_name("openinfusion"))
ISSUE_EXAMPLE = ("--weight", "70 kg", "--hb", "8 g/dL", "--target-hb", "12 g/dL", "--stores", "500 mg")


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["calc", "iron", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_issue_example_gives_1172_mg_with_its_inputs(capsys):
    code, out = run_json(capsys, *ISSUE_EXAMPLE)
    assert code == 0, out
    assert out == {
        "iron_deficit_mg": 1172,
        "hb_iron_mg": 672,
        "stores_mg": 500,
        "weight_kg": 70,
        "hb_g_dl": 8,
        "target_hb_g_dl": 12,
        "target_hb_default": False,
        "stores_default": False,
        "formula": "70 kg × (12 − 8) g/dL × 2.4 + 500 mg = 1172 mg",
    }


def test_the_readable_line_shows_the_deficit_and_the_formula(capsys):
    assert main(["calc", "iron", *ISSUE_EXAMPLE]) == 0
    assert capsys.readouterr().out.strip() == (
        "Iron deficit 1172 mg (Ganzoni): 70 kg × (12 − 8) g/dL × 2.4 + 500 mg = 1172 mg"
    )


def test_the_smpc_defaults_are_used_and_said_to_be_defaults(capsys):
    _, child = run_json(capsys, "--weight", "30 kg", "--hb", "6 g/dL")
    assert (child["iron_deficit_mg"], child["target_hb_g_dl"], child["stores_mg"]) == (954, 13, 450)
    assert child["target_hb_default"] and child["stores_default"]
    _, adult = run_json(capsys, "--weight", "70 kg", "--hb", "80 g/L")
    assert (adult["iron_deficit_mg"], adult["target_hb_g_dl"], adult["stores_mg"]) == (1676, 15, 500)


def test_other_units_for_weight_haemoglobin_and_stores(capsys):
    _, out = run_json(capsys, "--weight", "154 lb", "--hb", "5 mmol/L", "--target-hb", "150 g/L", "--stores", "500")
    assert (out["weight_kg"], out["hb_g_dl"], out["target_hb_g_dl"], out["stores_mg"]) == (69.9, 8.06, 15, 500)
    assert out["iron_deficit_mg"] == 1664  # 69.9 × 6.94 × 2.4 = 1164.3 → 1164, + 500
    _, per_kg = run_json(capsys, "--weight", "50 kg", "--hb", "11 g/dL", "--stores", "10 mg/kg")
    assert per_kg["iron_deficit_mg"] == 980  # CADTH Monoferric review, Table 12


def test_a_proposed_dose_is_checked_against_the_deficit_and_the_single_dose_maximum(capsys):
    _, out = run_json(capsys, *ISSUE_EXAMPLE, "--dose", "1200 mg", "--max", "1000 mg")
    assert (out["dose_mg"], out["single_dose_max_mg"]) == (1200, 1000)
    assert [(a["limit"], a["limit_mg"], a["excess_mg"]) for a in out["above"]] == [
        ("deficit", 1172, 28),
        ("single_dose_max", 1000, 200),
    ]
    _, within = run_json(capsys, *ISSUE_EXAMPLE, "--dose", "500 mg", "--max", "1000 mg")
    assert within["above"] == []
    assert main(["calc", "iron", *ISSUE_EXAMPLE, "--dose", "1200 mg"]) == 0
    assert "ABOVE: The iron dose of 1200 mg is above the calculated iron deficit of 1172 mg" in capsys.readouterr().out


def test_haemoglobin_at_the_target_gives_the_stores_with_a_warning(capsys):
    _, out = run_json(capsys, "--weight", "70 kg", "--hb", "13 g/dL", "--target-hb", "12 g/dL")
    assert (out["iron_deficit_mg"], out["hb_iron_mg"]) == (500, 0)
    assert "at or above the target" in out["warnings"][0]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (("--weight", "70 kg", "--hb", "8"), "UNKNOWN_UNIT"),
        (("--weight", "70 kg", "--hb", "80 g/dL"), "IMPLAUSIBLE_MEASUREMENT"),
        (("--weight", "70 kg", "--hb", "8 g/dL", "--target-hb", "17 g/dL"), "INVALID_POLICY"),
        (("--weight", "70 kg", "--hb", "8 g/dL", "--stores", "5000 mg"), "INVALID_POLICY"),
        (("--weight", "70 cm", "--hb", "8 g/dL"), "UNIT_DIMENSION_MISMATCH"),
        (("--weight", "7000 kg", "--hb", "8 g/dL"), "IMPLAUSIBLE_MEASUREMENT"),
        (("--weight", "70 kg", "--hb", "8 g/dL", "--max", "1000 mg"), "MISSING_INPUT"),
        (("--weight", "70 kg", "--hb", "8 g/dL", "--dose", "10 mL"), "UNIT_DIMENSION_MISMATCH"),
        (("--weight", "70 kg"), "BAD_ARGUMENTS"),
    ],
)
def test_bad_input_is_refused_with_a_code_and_a_non_zero_exit(capsys, argv, code):
    try:
        exit_code = main(["calc", "iron", *argv, "--json"])
    except SystemExit as stop:
        exit_code = stop.code  # usage errors leave through argparse
    assert exit_code == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == code and error["message"]


def test_without_json_a_refusal_goes_to_stderr(capsys):
    assert main(["calc", "iron", "--weight", "70 kg", "--hb", "8 g/L"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "IMPLAUSIBLE_MEASUREMENT" in captured.err and "was it 8 g/dL?" in captured.err


def test_the_installed_command_prints_iron_deficit_mg():
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "no.such.settings"}
    done = subprocess.run([CLI, "calc", "iron", *ISSUE_EXAMPLE, "--json"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["iron_deficit_mg"] == 1172
    refused = subprocess.run([CLI, "calc", "iron", "--weight", "70 kg", "--hb", "8"], capture_output=True, text=True)
    assert refused.returncode == 2 and "UNKNOWN_UNIT" in refused.stderr
