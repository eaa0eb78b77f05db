"""``openinfusion schedule generate`` and ``schedule solve``: a day written as JSON solves to a
feasible schedule with its metrics; bad input is refused with an error that names the field."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openinfusion.commands import schedule
from openinfusion.scheduling.day_json import day_from_dict, day_to_dict
from openinfusion.scheduling.generator import generate_day


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    schedule.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def _small_day(tmp_path: Path) -> Path:
    """The first 12 appointments of a generated S day: quick to solve."""
    data = day_to_dict(generate_day("S", 1))
    data["appointments"] = data["appointments"][:12]
    path = tmp_path / "day.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_generate_writes_the_generated_day_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m1.json"
    assert _run(["schedule", "generate", "--size", "M", "--seed", "1", "--output", str(out)]) == 0
    assert "150 appointments" in capsys.readouterr().out
    assert day_from_dict(json.loads(out.read_text(encoding="utf-8"))) == generate_day("M", 1)

    assert _run(["schedule", "generate", "--size", "S", "--seed", "2"]) == 0
    assert day_from_dict(json.loads(capsys.readouterr().out)) == generate_day("S", 2)


def test_solve_prints_a_checked_assignment_and_its_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _small_day(tmp_path)
    assert _run(["schedule", "solve", "--input", str(path), "--time-limit", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["feasible"] is True and report["violations"] == []
    assert len(report["schedule"]["assignments"]) == 12 and report["schedule"]["unscheduled"] == []
    m = report["metrics"]
    assert m["scheduled"] == m["appointments"] == 12
    assert m["day_length_minutes"] > 0 and 0 < m["chair_utilisation"] <= 1 and m["peak_occupancy"] >= 1
    assert m["mean_wait_minutes"] >= 0 and m["nurse_ratio_violations"] == 0
    assert m["objective"] is not None and m["objective"] <= report["baseline"]["metrics"]["objective"]

    assert _run(["schedule", "solve", "--input", str(path), "--time-limit", "1"]) == 0
    text = capsys.readouterr().out
    assert "A001" in text and "mean wait" in text and "0 violations" in text


@pytest.mark.parametrize(
    ("mutate", "field", "code"),
    [
        (lambda d: d["appointments"][3].update(chair_minutes="ninety"), "appointments[3].chair_minutes", "INVALID_DAY"),
        (lambda d: d["nurses"][0].pop("shift_end"), "nurses[0].shift_end", "INVALID_DAY"),
        (lambda d: d.update(closing="06:00"), "closing", "INVALID_DAY"),
        (lambda d: d["chairs"][0].update(colour="blue"), "chairs[0].colour", "INVALID_DAY"),
    ],
)
def test_solve_refuses_a_bad_day_naming_the_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mutate: Callable[[dict[str, Any]], object],
    field: str,
    code: str,
) -> None:
    data = day_to_dict(generate_day("S", 1))
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    assert _run(["schedule", "solve", "--input", str(path), "--json"]) != 0
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == code
    assert error["details"]["field"] == field and error["message"].startswith(f"{field}: ")


def test_solve_refuses_an_unreadable_or_non_json_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["schedule", "solve", "--input", str(tmp_path / "missing.json"), "--json"]) != 0
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "INPUT_NOT_READABLE" and error["details"]["field"] == "input"

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert _run(["schedule", "solve", "--input", str(broken), "--json"]) != 0
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "INVALID_JSON" and error["message"].startswith("input:")

    assert _run(["schedule", "solve", "--input", str(broken), "--time-limit", "0", "--json"]) != 0
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["details"]["field"] == "time-limit"

    assert _run(["schedule", "solve", "--input", str(broken)]) != 0  # text mode: message on stderr
    assert "input:" in capsys.readouterr().err
