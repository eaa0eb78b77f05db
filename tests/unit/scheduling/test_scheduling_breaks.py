"""Nurse breaks: a nurse starts no one during a break (monitoring goes on); the baseline and the
optimiser plan around it, the checker catches a setup inside one, and the day JSON carries them."""

from __future__ import annotations

import pytest

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.day_json import DayJsonError, day_from_dict, day_to_dict
from openinfusion.scheduling.fcfs import fcfs_schedule
from openinfusion.scheduling.generator import generate_day
from openinfusion.scheduling.model import Appointment, Assignment, Chair, Day, Nurse, Schedule
from openinfusion.scheduling.solver import SolverOptions, solve_day

NOON = 12 * 60


def _day() -> Day:
    """One nurse on break 12:00-12:30; a patient who can only come at 12:00."""
    visit = Appointment("A1", "P1", "hydration", 60, 0, False, earliest=NOON, latest=NOON + 60, arrival=NOON)
    return Day(
        opening=8 * 60,
        closing=18 * 60,
        chairs=(Chair("C1"),),
        nurses=(Nurse("N1", 8 * 60, 18 * 60, breaks=((NOON, NOON + 30),)),),
        rooms=(),
        appointments=(visit,),
    )


def test_the_checker_catches_a_setup_in_a_break():
    bad = Schedule((Assignment("A1", NOON + 10, "C1", "N1", None, None, None),), "hand", "HAND")
    violations = check_schedule(_day(), bad)
    assert [v.kind for v in violations] == ["shift"] and "break" in violations[0].message


@pytest.mark.parametrize("plan", [fcfs_schedule, lambda day: solve_day(day, SolverOptions(time_limit_seconds=2))])
def test_planners_start_the_patient_when_the_break_is_over(plan):
    day = _day()
    schedule = plan(day)
    assert schedule.by_id()["A1"].start == NOON + 30
    assert check_schedule(day, schedule) == []


def test_generated_nurses_have_staggered_breaks_and_plans_respect_them():
    day = generate_day("S", 3)
    assert all(len(n.breaks) == 1 and n.breaks[0][1] - n.breaks[0][0] == 30 for n in day.nurses)
    assert len({n.breaks for n in day.nurses}) > 1
    assert check_schedule(day, fcfs_schedule(day)) == []


def test_breaks_round_trip_through_json_and_a_bad_break_names_its_field():
    day = _day()
    data = day_to_dict(day)
    assert data["nurses"][0]["breaks"] == [["12:00", "12:30"]]
    assert day_from_dict(data) == day
    data["nurses"][0]["breaks"] = [["12:30", "12:00"]]
    with pytest.raises(DayJsonError) as error:
        day_from_dict(data)
    assert error.value.path == "nurses[0].breaks[0]"
