"""The scheduling benchmark runs end to end on a tiny day and reports what it should.

A smoke test, not a timed test: it checks the report's structure, that the figures are positive
and that every schedule passed the independent checker, never how good the optimiser is.
"""

from __future__ import annotations

import argparse
import json

import pytest

from openinfusion.bench import schedule as bench_schedule
from openinfusion.commands import bench
from openinfusion.scheduling.fcfs import fcfs_schedule
from openinfusion.scheduling.generator import Disruptions, generate_day, sample_disruptions
from openinfusion.scheduling.metrics import day_metrics


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_the_benchmark_compares_fcfs_and_the_optimiser_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(["bench", "schedule", "--size", "S", "--seeds", "1", "--time-limit", "1", "--replays", "3", "--json"])
    assert args.handler(args) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["violations"] == 0 and report["machine"]["cpus"] >= 1
    (size,) = report["sizes"]
    assert size["size"] == "S" and size["appointments"] == 70 and size["seeds"] == [1]
    for method in ("fcfs", "optimised"):
        m = size[method]
        assert m["mean_wait"] > 0 and m["p90_wait"] >= m["mean_wait"] and m["day_length"] > 0
        assert 0 < m["chair_utilisation"] <= 1 and m["peak_occupancy"] >= 1 and m["objective"] > 0
        assert m["ratio_violations"] == 0 and m["doses_ready_before_chair"] == 1.0 and m["violations"] == 0
        replay = m["replay"]
        assert replay["mean_wait"] > 0 and replay["day_length"] > 0 and replay["day_length_p95"] > 0
    assert size["optimised"]["objective"] <= size["fcfs"]["objective"]  # never worse than its warm start
    assert size["optimised"]["solve_seconds"] > 0 and size["optimised"]["gap_mean"] is not None
    assert size["replan"]["count"] == 3 and size["replan"]["p95_seconds"] > 0 and size["replan"]["violations"] == 0
    assert set(size["targets"]) == {
        "day_length_reduction",
        "mean_wait_reduction",
        "ratio_violations",
        "doses_ready_before_chair",
        "replan_p95_seconds",
    }
    text = bench_schedule.as_text(report)
    assert "FCFS" in text and "optimised" in text and "Stochastic replay" in text and "p95" in text


def test_the_replay_of_an_undisturbed_day_is_never_later_than_the_plan() -> None:
    day = generate_day("S", 3)
    plan = fcfs_schedule(day)
    calm = Disruptions(
        cancelled=frozenset(),
        actual_minutes={a.id: a.chair_minutes for a in day.appointments},
        arrival_delay={a.id: 0 for a in day.appointments},  # everyone comes when booked
    )
    replayed = bench_schedule.replay(day, plan, calm)
    planned = day_metrics(day, plan)
    assert replayed["mean_wait"] <= planned.mean_wait and replayed["day_length"] <= planned.day_length

    noisy = bench_schedule.replay(day, plan, sample_disruptions(day, 7))
    assert noisy["day_length"] > 0 and noisy["mean_wait"] >= 0


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--size", "XXL"], "size"),
        (["--seeds", "0"], "seeds"),
        (["--time-limit", "0"], "time-limit"),
        (["--replays", "-1"], "replays"),
    ],
)
def test_bad_options_are_refused_naming_the_field(
    capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    args = _args(["bench", "schedule", *argv, "--json"])
    assert args.handler(args) != 0
    error = json.loads(capsys.readouterr().out)["error"]
    assert (
        error["code"] == "INVALID_INPUT" and error["details"]["field"] == field and error["message"].startswith(field)
    )
