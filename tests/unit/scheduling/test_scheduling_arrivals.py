"""Booked arrivals: the planner chooses when an unbooked patient is told to come, inside the patient's
window; FCFS books the preferred time; the checker, the metrics and re-planning follow the booked
arrival."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.day_json import (
    DayJsonError,
    day_from_dict,
    day_to_dict,
    schedule_from_dict,
    schedule_to_dict,
)
from openinfusion.scheduling.fcfs import book_late, fcfs_schedule
from openinfusion.scheduling.generator import (
    ARRIVAL_EARLIER,
    ARRIVAL_LATER,
    CLOSING,
    FINISH_BEFORE_CLOSING,
    OPENING,
    generate_day,
)
from openinfusion.scheduling.metrics import day_metrics, lower_bounds, objective_value
from openinfusion.scheduling.model import Appointment, Assignment, Chair, Day, Nurse, Room, Schedule, arrival_of
from openinfusion.scheduling.replan import AddOn, LateArrival, replan
from openinfusion.scheduling.solver import SolverOptions, solve_day

QUICK = SolverOptions(time_limit_seconds=2.0)
DETERMINISTIC = SolverOptions(deterministic_time=0.3, num_workers=1)


def request(aid: str, minutes: int, preferred: int, **changes: object) -> Appointment:
    """An unbooked request: the arrival may be booked from 60 min before to 120 min after `preferred`."""
    base = Appointment(
        aid,
        f"P{aid}",
        "AC",
        minutes,
        0,
        True,
        earliest=preferred - 60,
        latest=preferred + 120,
        book_arrival=True,
        preferred=preferred,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def one_chair_day(*appointments: Appointment) -> Day:
    return Day(
        opening=480,
        closing=1140,
        chairs=(Chair("C1"),),
        nurses=(Nurse("N1", 480, 1140),),
        rooms=(Room("HD", hazardous=True, hoods=1),),
        appointments=appointments,
    )


# --- the checker --------------------------------------------------------------------------------


def lab_day() -> Day:
    """One request for 09:00 (window 08:00-11:00) with same-day labs (60 min) and 30 min of compounding."""
    return one_chair_day(
        request("A1", 90, 540, prep_minutes=30, needs_labs=True, lab_turnaround=60, verified_at=0),
    )


def lab_schedule(arrival: int, prep_start: int, start: int) -> Schedule:
    return Schedule((Assignment("A1", start, "C1", "N1", prep_start, "HD", prep_start + 30, arrival),), "hand", "HAND")


def kinds(day: Day, schedule: Schedule) -> set[str]:
    return {v.kind for v in check_schedule(day, schedule)}


def test_a_booked_arrival_inside_the_window_with_the_dose_after_the_lab_result_passes() -> None:
    assert check_schedule(lab_day(), lab_schedule(arrival=600, prep_start=660, start=690)) == []


@pytest.mark.parametrize("arrival", [479, 661, 700])
def test_the_checker_catches_an_arrival_outside_its_window(arrival: int) -> None:
    assert "arrival" in kinds(lab_day(), lab_schedule(arrival=arrival, prep_start=800, start=830))


def test_the_checker_catches_compounding_before_the_booked_arrivals_lab_result() -> None:
    # booked at 10:00: the lab result is due at 11:00, so compounding at 10:30 is too early, although
    # it would have been fine for a patient booked at the preferred 09:00
    found = check_schedule(lab_day(), lab_schedule(arrival=600, prep_start=630, start=690))
    assert [v.kind for v in found] == ["release"] and "10:00" in found[0].message


def test_the_checker_catches_an_infusion_before_the_booked_arrival() -> None:
    day = one_chair_day(request("A1", 60, 540))
    schedule = Schedule((Assignment("A1", 560, "C1", "N1", None, None, None, 600),), "hand", "HAND")
    assert kinds(day, schedule) == {"window"}


def test_a_patient_who_was_told_when_to_come_keeps_that_arrival() -> None:
    day = one_chair_day(Appointment("A1", "P1", "AC", 60, 0, True, earliest=540, latest=800, arrival=530))
    ok = Schedule((Assignment("A1", 560, "C1", "N1", None, None, None, 530),), "hand", "HAND")
    assert check_schedule(day, ok) == []
    assert check_schedule(day, replace(ok, assignments=(replace(ok.assignments[0], arrival=None),))) == []
    moved = replace(ok, assignments=(replace(ok.assignments[0], arrival=550),))
    assert kinds(day, moved) == {"arrival"}


# --- FCFS and the solver ------------------------------------------------------------------------


def test_fcfs_books_everyone_at_the_preferred_time() -> None:
    day = generate_day("S", 1)
    schedule = fcfs_schedule(day)
    by_id = {a.id: a for a in day.appointments}
    assert all(s.arrival == by_id[s.appointment_id].preferred for s in schedule.assignments)
    assert check_schedule(day, schedule) == []


def test_the_solver_books_the_second_patient_later_instead_of_making_them_wait() -> None:
    day = one_chair_day(request("A1", 120, 540), request("A2", 120, 540))
    fcfs = fcfs_schedule(day)
    assert day_metrics(day, fcfs).mean_wait == 60.0  # the second patient waits two hours
    optimised = solve_day(day, QUICK)
    assert check_schedule(day, optimised) == []
    rows = sorted(optimised.assignments, key=lambda s: s.start)
    assert [s.arrival for s in rows] == [s.start for s in rows]  # nobody waits
    assert day_metrics(day, optimised).mean_wait == 0
    for s in rows:
        assert s.arrival is not None and 480 <= s.arrival <= 660


def test_the_solver_books_arrivals_inside_windows_and_passes_the_checker_on_a_generated_day() -> None:
    day = generate_day("S", 2)
    baseline = fcfs_schedule(day)
    optimised = solve_day(day, QUICK)
    assert check_schedule(day, optimised) == []
    by_id = {a.id: a for a in day.appointments}
    for s in optimised.assignments:
        a = by_id[s.appointment_id]
        assert s.arrival is not None and a.earliest <= s.arrival <= a.latest and s.start >= s.arrival
    assert optimised.objective is not None and baseline.objective is not None
    assert optimised.objective <= baseline.objective
    assert optimised.objective == objective_value(day, optimised)
    bounds = lower_bounds(day)
    m = day_metrics(day, optimised)
    assert bounds.mean_wait <= m.mean_wait < day_metrics(day, baseline).mean_wait
    assert bounds.day_length <= m.day_length


def test_booking_late_only_shortens_waits() -> None:
    day = generate_day("S", 3)
    fcfs = fcfs_schedule(day)
    late = book_late(day, fcfs)
    assert check_schedule(day, late) == []
    assert late.objective is not None and fcfs.objective is not None and late.objective <= fcfs.objective
    assert [(s.start, s.chair, s.nurse) for s in late.assignments] == [
        (s.start, s.chair, s.nurse) for s in fcfs.assignments
    ]


def test_the_generator_gives_preference_windows() -> None:
    day = generate_day("M", 2)
    assert day == generate_day("M", 2)
    for a in day.appointments:
        assert a.book_arrival and a.arrival is None and a.preferred is not None
        assert a.earliest == max(OPENING, a.preferred - ARRIVAL_EARLIER)
        assert a.preferred <= a.latest <= a.preferred + ARRIVAL_LATER
        assert a.latest <= max(a.preferred, CLOSING - a.chair_minutes - FINISH_BEFORE_CLOSING)


# --- JSON ---------------------------------------------------------------------------------------


def test_the_booked_arrival_round_trips_through_json() -> None:
    day = lab_day()
    assert day_from_dict(day_to_dict(day)) == day
    schedule = lab_schedule(arrival=600, prep_start=660, start=690)
    data = schedule_to_dict(schedule)
    assert data["assignments"][0]["arrival"] == "10:00"
    assert schedule_from_dict(data).assignments == schedule.assignments


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"arrival": "09:00"}, "appointments[0].arrival"),
        ({"preferred": "12:00"}, "appointments[0].preferred"),
    ],
)
def test_json_refuses_an_inconsistent_request(changes: dict[str, object], path: str) -> None:
    data = day_to_dict(lab_day())
    data["appointments"][0].update(changes)
    with pytest.raises(DayJsonError) as caught:
        day_from_dict(data)
    assert caught.value.path == path


# --- re-planning --------------------------------------------------------------------------------


def test_replanning_keeps_every_booked_arrival_and_books_the_add_on_inside_its_window() -> None:
    day = generate_day("S", 4)
    plan = solve_day(day, QUICK)
    now = 11 * 60
    add = request("ADD1", 45, now + 30, earliest=now, latest=now + 120, hazardous=False, prep_minutes=15)
    late = next(s for s in sorted(plan.assignments, key=lambda s: s.start) if arrival_of_row(day, s) >= now)
    events = [AddOn(add), LateArrival(late.appointment_id, arrival_of_row(day, late) + 30)]
    updated, new = replan(day, plan, events, now)
    assert check_schedule(updated, new) == [], new.status
    got = new.by_id()
    for s in plan.assignments:
        if s.appointment_id == late.appointment_id:
            assert got[s.appointment_id].arrival == arrival_of_row(day, s) + 30
            assert got[s.appointment_id].start >= arrival_of_row(day, s) + 30
        else:
            assert got[s.appointment_id].arrival == arrival_of_row(day, s), s.appointment_id
    added = got["ADD1"]
    assert added.arrival is not None and now <= added.arrival <= now + 120 and added.start >= added.arrival
    fixed = {a.id: a for a in updated.appointments}
    assert not any(a.arrival_open for a in fixed.values() if a.id != "ADD1")


def arrival_of_row(day: Day, row: Assignment) -> int:
    return arrival_of(day.appointment(row.appointment_id), row)


# --- property: every returned schedule passes the checker ---------------------------------------


@st.composite
def small_days(draw: st.DrawFn) -> Day:
    chairs = tuple(Chair(f"C{i}") for i in range(draw(st.integers(1, 4))))
    shifts = [(480, 1020), (540, 1080)]
    nurses = tuple(
        Nurse(f"N{i}", *draw(st.sampled_from(shifts)), max_patients=draw(st.integers(1, 3)))
        for i in range(draw(st.integers(1, 3)))
    )
    rooms = (Room("HD", True, draw(st.integers(1, 2))), Room("NH", False, 1))
    appointments = []
    for i in range(draw(st.integers(1, 7))):
        minutes = 5 * draw(st.integers(3, 48))
        preferred = 5 * draw(st.integers(96, 168))
        labs = draw(st.booleans())
        common = {
            "prep_minutes": 5 * draw(st.integers(0, 8)),
            "hazardous": draw(st.booleans()),
            "needs_labs": labs,
            "lab_turnaround": draw(st.integers(30, 60)),
            "premix_eligible": not labs and draw(st.booleans()),
            "verified_at": 420,
            "priority": draw(st.integers(1, 2)),
        }
        if draw(st.booleans()):
            a = request(
                f"A{i}",
                minutes,
                preferred,
                earliest=max(480, preferred - draw(st.integers(0, 60))),
                latest=preferred + draw(st.integers(0, 120)),
                **common,
            )
        else:  # booked before the day: the window bounds the start, open until the end of the day
            a = Appointment(
                f"A{i}",
                f"P{i}",
                "AC",
                minutes,
                earliest=preferred,
                latest=1080,
                arrival=preferred - draw(st.integers(0, 30)),
                **common,  # type: ignore[arg-type]
            )
        appointments.append(a)
    return Day(480, 1140, chairs, nurses, rooms, tuple(appointments))


def placed_ok(day: Day, schedule: Schedule) -> None:
    """No violation other than the appointments the schedule says it could not place."""
    left = set(schedule.unscheduled)
    for v in check_schedule(day, schedule):
        assert v.kind == "missing" and set(v.appointments) <= left, v.message


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_days())
def test_every_returned_schedule_passes_the_checker(day: Day) -> None:
    fcfs = fcfs_schedule(day)
    placed_ok(day, fcfs)
    assert all(s.arrival == day.appointment(s.appointment_id).arrival_time for s in fcfs.assignments)
    optimised = solve_day(day, DETERMINISTIC)
    placed_ok(day, optimised)
    if fcfs.unscheduled or optimised.unscheduled:
        return
    assert optimised.objective is not None and fcfs.objective is not None
    assert optimised.objective <= fcfs.objective
    extra = request("ADD", 30, 660, earliest=630, latest=720, hazardous=False, prep_minutes=10, verified_at=600)
    updated, replanned = replan(day, optimised, [AddOn(extra)], 600, DETERMINISTIC)
    placed_ok(updated, replanned)
    if replanned.unscheduled:
        return
    for s in optimised.assignments:
        assert replanned.by_id()[s.appointment_id].arrival == arrival_of_row(day, s)


def test_labs_and_a_delayed_dose_hold_the_start_even_without_compounding() -> None:
    """Nobody is infused before the same-day lab result is back or before a delayed dose is ready,
    whether or not the pharmacy's compounding is part of the plan (prep_minutes 0)."""
    labs = request("A1", 60, 540, needs_labs=True, lab_turnaround=50, arrival=540, book_arrival=False)
    day = one_chair_day(labs)
    early = Schedule((Assignment("A1", 560, "C1", "N1", None, None, None),), "hand", "HAND")
    assert kinds(day, early) == {"release"}
    assert fcfs_schedule(day).by_id()["A1"].start == 590
    assert solve_day(day, QUICK).by_id()["A1"].start >= 590
    delayed = one_chair_day(replace(labs, needs_labs=False, ready_not_before=620))
    assert kinds(delayed, early) == {"release"}
    assert fcfs_schedule(delayed).by_id()["A1"].start == 620
    open_request = request("A2", 60, 540, needs_labs=True, lab_turnaround=45)
    planned = solve_day(one_chair_day(open_request), QUICK)
    assert check_schedule(one_chair_day(open_request), planned) == []
    placed = planned.by_id()["A2"]
    assert placed.start - arrival_of(open_request, placed) >= 45
