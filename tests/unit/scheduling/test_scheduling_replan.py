"""Re-planning on each kind of event keeps started infusions fixed and the result feasible."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.fcfs import fcfs_schedule, greedy_schedule
from openinfusion.scheduling.generator import generate_day
from openinfusion.scheduling.metrics import objective_value
from openinfusion.scheduling.model import Day, Schedule
from openinfusion.scheduling.replan import (
    AddOn,
    Cancellation,
    ChairOutOfService,
    DoseDelayed,
    Event,
    LateArrival,
    ReplanError,
    replan,
)

NOW = 11 * 60


@pytest.fixture(scope="module")
def plan() -> tuple[Day, Schedule]:
    day = generate_day("S", 5)
    return day, fcfs_schedule(day)


def later(schedule: Schedule, n: int) -> str:
    return sorted(schedule.assignments, key=lambda a: (-a.start, a.appointment_id))[n].appointment_id


def events_for(day: Day, schedule: Schedule) -> dict[str, Event]:
    add = replace(
        day.appointments[0],
        id="ADD1",
        patient="P9999",
        earliest=NOW + 30,
        arrival=NOW + 30,
        latest=1100,
        needs_labs=False,
        premix_eligible=False,
    )
    chair = schedule.by_id()[later(schedule, 4)].chair
    return {
        "late": LateArrival(later(schedule, 0), NOW + 120),
        "add_on": AddOn(add),
        "cancel": Cancellation(later(schedule, 1)),
        "chair_out": ChairOutOfService(chair, NOW, 1140),
        "dose_delayed": DoseDelayed(later(schedule, 2), NOW + 200),
    }


@pytest.mark.parametrize("kind", ["late", "add_on", "cancel", "chair_out", "dose_delayed"])
def test_each_event_replans_feasibly_and_started_infusions_stay(plan: tuple[Day, Schedule], kind: str) -> None:
    day, schedule = plan
    event = events_for(day, schedule)[kind]
    updated, new = replan(day, schedule, [event], NOW)
    assert check_schedule(updated, new) == [], new.status
    old, got = schedule.by_id(), new.by_id()
    for a in schedule.assignments:
        if a.start < NOW and a.appointment_id in got:
            kept = got[a.appointment_id]
            assert (kept.start, kept.chair, kept.nurse) == (a.start, a.chair, a.nurse)
    for a in new.assignments:
        if a.appointment_id not in old or old[a.appointment_id].start >= NOW:
            assert a.start >= NOW
    if isinstance(event, Cancellation):
        assert event.appointment_id not in got
    if isinstance(event, AddOn):
        assert "ADD1" in got
    if isinstance(event, LateArrival):
        assert got[event.appointment_id].start >= event.arrival
    if isinstance(event, DoseDelayed):
        ready = got[event.appointment_id].ready_at
        assert ready is not None and ready >= event.ready_at
    if isinstance(event, ChairOutOfService):
        for a in new.assignments:
            if a.chair == event.chair_id and a.start >= NOW:
                pytest.fail(f"{a.appointment_id} was seated in the out-of-service chair")
    assert new.solve_seconds < 5


def test_replanning_without_events_changes_nothing_that_did_not_need_to(plan: tuple[Day, Schedule]) -> None:
    day, schedule = plan
    updated, new = replan(day, schedule, [], NOW)
    old = schedule.by_id()
    for a in new.assignments:  # what had started stays exactly where it was
        if old[a.appointment_id].start < NOW:
            assert (a.start, a.chair, a.nurse) == (
                old[a.appointment_id].start,
                old[a.appointment_id].chair,
                old[a.appointment_id].nurse,
            )
    # a move is made only when it pays for itself: the new plan, move penalties included, costs no
    # more than keeping the old plan wherever it still fits
    kept = greedy_schedule(updated, previous=old)
    assert not kept.unscheduled
    assert objective_value(updated, new, old) <= objective_value(updated, kept, old)


def test_a_started_infusion_cannot_be_cancelled(plan: tuple[Day, Schedule]) -> None:
    day, schedule = plan
    started = min(schedule.assignments, key=lambda a: a.start).appointment_id
    with pytest.raises(ReplanError, match="started"):
        replan(day, schedule, [Cancellation(started)], NOW)
