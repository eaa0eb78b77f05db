"""FCFS and CP-SAT schedules on hand-made and generated days, checked by the independent checker."""

from __future__ import annotations

import pytest

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.fcfs import fcfs_schedule
from openinfusion.scheduling.generator import SIZES, generate_day
from openinfusion.scheduling.metrics import day_metrics, objective_value
from openinfusion.scheduling.model import Appointment, Chair, Day, Nurse, Room
from openinfusion.scheduling.solver import SolverOptions, solve_day

QUICK = SolverOptions(time_limit_seconds=2.0)


def one_nurse_day() -> Day:
    """2 chairs, 1 nurse who may watch 1 patient: the infusions must run one after another."""
    return Day(
        opening=480,
        closing=1020,
        chairs=(Chair("C1"), Chair("C2")),
        nurses=(Nurse("N1", 480, 1020, max_patients=1, setup_minutes=15),),
        rooms=(Room("HD", hazardous=True, hoods=1),),
        appointments=tuple(
            Appointment(f"A{i}", f"P{i}", "AC", 60, 0, True, earliest=480, latest=900) for i in range(1, 4)
        ),
    )


def test_one_nurse_with_one_patient_at_a_time_runs_infusions_in_sequence() -> None:
    day = one_nurse_day()
    for schedule in (fcfs_schedule(day), solve_day(day, QUICK)):
        assert check_schedule(day, schedule) == []
        assert sorted(a.start for a in schedule.assignments) == [480, 540, 600]
    assert solve_day(day, QUICK).status in {"OPTIMAL", "HINT"}


def test_the_dose_is_ready_before_the_infusion_and_after_labs() -> None:
    day = Day(
        opening=480,
        closing=1020,
        chairs=(Chair("C1"),),
        nurses=(Nurse("N1", 480, 1020),),
        rooms=(Room("HD", hazardous=True, hoods=1),),
        appointments=(
            Appointment("A1", "P1", "AC", 90, 30, True, earliest=480, latest=900, needs_labs=True, lab_turnaround=60),
        ),
    )
    for schedule in (fcfs_schedule(day), solve_day(day, QUICK)):
        (row,) = schedule.assignments
        assert row.prep_start == 540  # arrival 08:00 + 60 min lab turnaround
        assert row.start == 570  # 30 min of compounding
        assert check_schedule(day, schedule) == []


def test_premixed_doses_are_made_before_arrival() -> None:
    day = Day(
        opening=480,
        closing=1020,
        chairs=(Chair("C1"),),
        nurses=(Nurse("N1", 480, 1020),),
        rooms=(Room("HD", hazardous=True, hoods=1),),
        appointments=(
            Appointment(
                "A1", "P1", "AC", 90, 30, True, earliest=540, latest=900, premix_eligible=True, verified_at=420
            ),
        ),
    )
    (row,) = solve_day(day, QUICK).assignments
    assert row.start == 540 and row.ready_at is not None and row.ready_at <= 540


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fcfs_and_solver_schedules_are_feasible_and_the_solver_is_never_worse(seed: int) -> None:
    day = generate_day("S", seed)
    baseline = fcfs_schedule(day)
    assert check_schedule(day, baseline) == []
    assert baseline.objective == objective_value(day, baseline)
    optimised = solve_day(day, QUICK)
    assert check_schedule(day, optimised) == []
    assert optimised.objective is not None and baseline.objective is not None
    assert optimised.objective <= baseline.objective
    assert optimised.objective == objective_value(day, optimised)
    assert optimised.best_bound is not None and optimised.best_bound <= optimised.objective
    assert optimised.gap is not None and 0 <= optimised.gap <= 1
    assert day_metrics(day, optimised).ratio_violations == 0


def test_the_solver_is_deterministic_with_a_seed() -> None:
    day = generate_day("S", 4)
    options = SolverOptions(random_seed=7, deterministic_time=0.05)
    assert solve_day(day, options).assignments == solve_day(day, options).assignments


def test_the_generator_is_deterministic_and_sized() -> None:
    assert generate_day("M", 3) == generate_day("M", 3)
    assert generate_day("M", 3) != generate_day("M", 4)
    for size, spec in SIZES.items():
        day = generate_day(size, 1)
        assert (len(day.chairs), len(day.appointments), len(day.nurses)) == (
            spec.chairs,
            spec.appointments,
            spec.nurses,
        )
        assert sum(r.hoods for r in day.rooms) == spec.hoods
    day = generate_day("L", 1)
    labs = sum(a.needs_labs for a in day.appointments) / len(day.appointments)
    assert 0.4 < labs < 0.6
    assert all(10 <= a.prep_minutes <= 40 for a in day.appointments)
    assert all(a.earliest <= 14 * 60 for a in day.appointments)


def test_metrics_of_a_sequential_day() -> None:
    day = one_nurse_day()
    m = day_metrics(day, fcfs_schedule(day))
    assert m.peak_occupancy == 1
    assert m.mean_wait == pytest.approx(60.0)
    assert m.day_length == 180
    assert m.ratio_violations == 0
    assert m.ready_before_chair == 1.0
