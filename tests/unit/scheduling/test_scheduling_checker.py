"""The independent checker finds every kind of infeasibility on hand-made bad schedules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.model import Appointment, Assignment, Chair, Day, Nurse, Room, Schedule


def small_day() -> Day:
    return Day(
        opening=480,
        closing=1020,
        chairs=(Chair("C1"), Chair("C2"), Chair("B1", kind="bed")),
        nurses=(Nurse("N1", 480, 1020, max_patients=2, setup_minutes=15),),
        rooms=(Room("HD", hazardous=True, hoods=1), Room("NH", hazardous=False, hoods=1)),
        appointments=(
            Appointment("A1", "P1", "AC", 120, 30, True, earliest=540, latest=720, verified_at=0),
            Appointment("A2", "P2", "rituximab", 60, 20, False, earliest=540, latest=720, verified_at=0),
            Appointment(
                "A3",
                "P3",
                "zoledronic acid",
                30,
                10,
                False,
                earliest=600,
                latest=700,
                needs_labs=True,
                lab_turnaround=45,
            ),
        ),
    )


def good_schedule() -> Schedule:
    return Schedule(
        (
            Assignment("A1", 570, "C1", "N1", 540, "HD", 570),
            Assignment("A2", 600, "C2", "N1", 560, "NH", 580),
            Assignment("A3", 700, "C2", "N1", 645, "NH", 655),
        ),
        "hand",
        "HAND",
    )


def with_row(schedule: Schedule, appointment_id: str, **changes: object) -> Schedule:
    rows = tuple(replace(a, **changes) if a.appointment_id == appointment_id else a for a in schedule.assignments)
    return replace(schedule, assignments=rows)


def kinds(day: Day, schedule: Schedule) -> set[str]:
    return {v.kind for v in check_schedule(day, schedule)}


def test_a_valid_hand_schedule_passes() -> None:
    assert check_schedule(small_day(), good_schedule()) == []


@pytest.mark.parametrize(
    ("appointment_id", "changes", "kind"),
    [
        ("A2", {"chair": "C1", "start": 620, "prep_start": 560, "ready_at": 580}, "chair_overlap"),
        ("A2", {"start": 575}, "setup_overlap"),
        ("A1", {"chair": "X9"}, "chair"),
        ("A1", {"nurse": "N9"}, "nurse"),
        ("A2", {"prep_start": 545, "prep_room": "HD", "ready_at": 565}, "pharmacy"),
        ("A3", {"start": 710}, "window"),
        ("A2", {"start": 530}, "window"),
        ("A2", {"prep_start": 590, "ready_at": 610}, "prep_after_start"),
        ("A3", {"prep_start": 600, "ready_at": 610}, "release"),
        ("A1", {"ready_at": 575}, "pharmacy"),
    ],
)
def test_each_bad_assignment_is_named(appointment_id: str, changes: dict[str, object], kind: str) -> None:
    assert kind in kinds(small_day(), with_row(good_schedule(), appointment_id, **changes))


def test_nurse_over_ratio_at_some_minute_is_a_violation() -> None:
    day = small_day()
    day = replace(day, nurses=(replace(day.nurses[0], max_patients=1),))
    found = check_schedule(day, good_schedule())
    assert any(v.kind == "ratio" and "2 patients" in v.message for v in found)


def test_pharmacy_capacity_counts_hoods_every_minute() -> None:
    schedule = with_row(good_schedule(), "A3", prep_start=565, ready_at=575)
    assert "pharmacy_capacity" in kinds(small_day(), schedule)


def test_missing_and_duplicate_appointments() -> None:
    schedule = good_schedule()
    missing = replace(schedule, assignments=schedule.assignments[:2])
    assert "missing" in kinds(small_day(), missing)
    doubled = replace(schedule, assignments=(*schedule.assignments, schedule.assignments[0]))
    assert "duplicate" in kinds(small_day(), doubled)


def test_bed_patient_in_a_chair_and_chair_out_of_service() -> None:
    day = small_day()
    a1 = replace(day.appointments[0], needs_bed=True)
    day = replace(day, appointments=(a1, *day.appointments[1:]))
    assert "chair" in kinds(day, good_schedule())
    day = small_day()
    day = replace(day, chairs=(replace(day.chairs[0], unavailable=((600, 660),)), *day.chairs[1:]))
    assert "chair_out_of_service" in kinds(day, good_schedule())


def test_setup_outside_the_nurse_shift() -> None:
    day = small_day()
    day = replace(day, nurses=(replace(day.nurses[0], shift_end=710),))
    assert "shift" in kinds(day, good_schedule())


def test_a_started_infusion_must_not_move() -> None:
    day = small_day()
    a1 = replace(day.appointments[0], fixed_start=570, fixed_chair="C1", fixed_nurse="N1")
    day = replace(day, appointments=(a1, *day.appointments[1:]))
    assert check_schedule(day, good_schedule()) == []
    assert "fixed" in kinds(day, with_row(good_schedule(), "A1", chair="B1"))
