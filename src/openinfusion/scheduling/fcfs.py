"""First-come-first-served baseline: a serial greedy that books every unbooked request at the time
the patient asked for (`preferred`, else the window's start) and takes patients in order of arrival, makes
each dose as soon as a hood in a suitable clean room is free after its release, and starts each
infusion at the first minute a suitable chair and a nurse are free (nurse ratio and setup
exclusivity respected). It also serves as the solver's warm start, and, given a previous plan, as
the repair heuristic for re-planning (keep each appointment where it was if it still fits)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

from openinfusion.scheduling.metrics import objective_value
from openinfusion.scheduling.model import (
    Appointment,
    Assignment,
    Chair,
    Day,
    Nurse,
    Room,
    Schedule,
    arrival_of,
    chair_fits,
    room_fits,
)

Booking = Literal["preferred", "earliest"]


class _Timeline:
    """Half-open intervals booked on one resource."""

    def __init__(self) -> None:
        self.intervals: list[tuple[int, int]] = []

    def add(self, start: int, end: int) -> None:
        self.intervals.append((start, end))

    def free(self, start: int, end: int) -> bool:
        return all(not (s < end and start < e) for s, e in self.intervals)

    def max_load(self, start: int, end: int) -> int:
        """Largest number of booked intervals covering one minute of [start, end)."""
        inside = [(s, e) for s, e in self.intervals if s < end and start < e]
        if not inside:
            return 0
        points = {start} | {s for s, _ in inside if s > start}
        return max(sum(1 for s, e in inside if s <= p < e) for p in points)

    def ends_after(self, minute: int) -> list[int]:
        return [e for _, e in self.intervals if e > minute]


class _Board:
    def __init__(self, day: Day) -> None:
        self.day = day
        self.chairs = {c.id: _Timeline() for c in day.chairs}
        for chair in day.chairs:
            for start, end in chair.unavailable:
                self.chairs[chair.id].add(start, end)
        self.setups = {n.id: _Timeline() for n in day.nurses}
        for nurse in day.nurses:
            for start, end in nurse.breaks:
                self.setups[nurse.id].add(start, end)
        self.loads = {n.id: _Timeline() for n in day.nurses}
        self.hoods = {r.id: _Timeline() for r in day.rooms}

    def book(self, appointment: Appointment, assignment: Assignment) -> None:
        nurse = self._nurse(assignment.nurse)
        self.chairs[assignment.chair].add(assignment.start, assignment.start + appointment.chair_minutes)
        self.setups[nurse.id].add(assignment.start, assignment.start + nurse.setup_minutes)
        self.loads[nurse.id].add(assignment.start, assignment.start + appointment.chair_minutes)
        if assignment.prep_room is not None and assignment.prep_start is not None:
            self.hoods[assignment.prep_room].add(
                assignment.prep_start, assignment.prep_start + appointment.prep_minutes
            )

    def _nurse(self, nurse_id: str) -> Nurse:
        return next(n for n in self.day.nurses if n.id == nurse_id)

    def chair_free(self, chair: Chair, appointment: Appointment, start: int) -> bool:
        return chair_fits(chair, appointment) and self.chairs[chair.id].free(start, start + appointment.chair_minutes)

    def nurse_free(self, nurse: Nurse, appointment: Appointment, start: int) -> bool:
        if start < nurse.shift_start or start + nurse.setup_minutes > nurse.shift_end:
            return False
        if not self.setups[nurse.id].free(start, start + nurse.setup_minutes):
            return False
        return self.loads[nurse.id].max_load(start, start + appointment.chair_minutes) < nurse.max_patients

    def hood_free(self, room: Room, appointment: Appointment, start: int) -> bool:
        return self.hoods[room.id].max_load(start, start + appointment.prep_minutes) < room.hoods

    def earliest_prep(self, appointment: Appointment, arrival: int) -> tuple[int, str] | None:
        base = appointment.release_after(arrival)
        if appointment.ready_not_before is not None:
            base = max(base, appointment.ready_not_before - appointment.prep_minutes)
        best: tuple[int, str] | None = None
        for room in self.day.rooms:
            if not room_fits(room, appointment, self.day.rooms) or room.hoods <= 0:
                continue
            candidates = sorted({base, *self.hoods[room.id].ends_after(base)})
            for minute in candidates:
                if self.hood_free(room, appointment, minute):
                    if best is None or minute < best[0]:
                        best = (minute, room.id)
                    break
        return best

    def earliest_infusion(self, appointment: Appointment, base: int) -> tuple[int, str, str] | None:
        candidates: set[int] = {base}
        for timeline in (*self.chairs.values(), *self.setups.values(), *self.loads.values()):
            candidates.update(timeline.ends_after(base))
        candidates.update(n.shift_start for n in self.day.nurses if n.shift_start > base)
        last_setup = max((n.shift_end for n in self.day.nurses), default=base)
        for minute in sorted(candidates):
            if minute > last_setup:
                return None
            chair = next((c for c in self.day.chairs if self.chair_free(c, appointment, minute)), None)
            if chair is None:
                continue
            nurse = next((n for n in self.day.nurses if self.nurse_free(n, appointment, minute)), None)
            if nurse is None:
                continue
            return minute, chair.id, nurse.id
        return None


def _fixed_assignment(appointment: Appointment) -> Assignment:
    assert appointment.fixed_start is not None
    assert appointment.fixed_chair is not None
    assert appointment.fixed_nurse is not None
    prep_start = appointment.fixed_prep_start
    ready = None if prep_start is None else prep_start + appointment.prep_minutes
    return Assignment(
        appointment.id,
        appointment.fixed_start,
        appointment.fixed_chair,
        appointment.fixed_nurse,
        prep_start,
        appointment.fixed_prep_room if prep_start is not None else None,
        ready,
        appointment.arrival_time,
    )


def _keeps(board: _Board, appointment: Appointment, previous: Assignment) -> Assignment | None:
    """The previous assignment, if it is still valid on the board."""
    day = board.day
    chair = next((c for c in day.chairs if c.id == previous.chair), None)
    nurse = next((n for n in day.nurses if n.id == previous.nurse), None)
    if chair is None or nurse is None:
        return None
    arrival = appointment.arrival_time
    if appointment.arrival_open and previous.arrival is not None:
        if not appointment.earliest <= previous.arrival <= appointment.latest:
            return None
        arrival = previous.arrival
    start = previous.start
    lowest, highest = appointment.start_bounds(day, arrival)
    if start < lowest or start > highest:
        return None
    prep_start: int | None = None
    prep_room: str | None = None
    ready: int | None = None
    if appointment.has_prep:
        if appointment.fixed_prep_start is not None:
            prep_start, prep_room = appointment.fixed_prep_start, appointment.fixed_prep_room
        else:
            room = next((r for r in day.rooms if r.id == previous.prep_room), None)
            if room is None or previous.prep_start is None or not room_fits(room, appointment, day.rooms):
                return None
            prep_start, prep_room = previous.prep_start, room.id
            if prep_start < appointment.release_after(arrival) or not board.hood_free(room, appointment, prep_start):
                return None
        ready = prep_start + appointment.prep_minutes
        if ready > start or (appointment.ready_not_before is not None and ready < appointment.ready_not_before):
            return None
    if not board.chair_free(chair, appointment, start) or not board.nurse_free(nurse, appointment, start):
        return None
    return Assignment(appointment.id, start, chair.id, nurse.id, prep_start, prep_room, ready, arrival)


def _first_fit(board: _Board, appointment: Appointment, arrival: int) -> Assignment | None:
    day = board.day
    prep_start: int | None = None
    prep_room: str | None = None
    ready: int | None = None
    if appointment.has_prep:
        if appointment.fixed_prep_start is not None:
            prep_start, prep_room = appointment.fixed_prep_start, appointment.fixed_prep_room
        else:
            prep = board.earliest_prep(appointment, arrival)
            if prep is None:
                return None
            prep_start, prep_room = prep
        ready = prep_start + appointment.prep_minutes
    base = max(appointment.start_bounds(day, arrival)[0], ready if ready is not None else 0)
    slot = board.earliest_infusion(appointment, base)
    if slot is None:
        return None
    start, chair, nurse = slot
    return Assignment(appointment.id, start, chair, nurse, prep_start, prep_room, ready, arrival)


def _booked(appointment: Appointment, booking: Booking) -> int:
    """The arrival the greedy books: the given or preferred one; with "earliest", an unbooked
    request is booked at the start of its window."""
    if booking == "earliest" and appointment.arrival_open:
        return appointment.earliest
    return appointment.arrival_time


LONG_FIRST_MINUTES = 240
"""Booking at the window's start, infusions this long (or marked long) are placed first."""


def _order(appointment: Appointment, booking: Booking) -> tuple[int, int, str]:
    """FCFS: by booked arrival. Booking at the window's start: long infusions first (they set the
    end of the day), each group by the start of its window."""
    if booking == "earliest":
        long = appointment.long or appointment.chair_minutes >= LONG_FIRST_MINUTES
        return (0 if long else 1, _booked(appointment, booking), appointment.id)
    return (_booked(appointment, booking), appointment.earliest, appointment.id)


def greedy_schedule(
    day: Day,
    previous: Mapping[str, Assignment] | None = None,
    method: str = "fcfs",
    booking: Booking = "preferred",
) -> Schedule:
    """Started (fixed) infusions first, then, with a previous plan, the appointments that still fit
    where they were (in their old start order), then everyone else by arrival (FCFS). Unbooked
    requests are booked at their preferred time (the baseline) or, with `booking="earliest"`, at the
    start of their window, long infusions first (a warm start for the solver, not the baseline)."""
    began = time.perf_counter()
    board = _Board(day)
    previous = previous or {}
    placed: list[Assignment] = []
    unscheduled: list[str] = []
    fixed = [a for a in day.appointments if a.started]
    movable = [a for a in day.appointments if not a.started]
    for appointment in fixed:
        assignment = _fixed_assignment(appointment)
        board.book(appointment, assignment)
        placed.append(assignment)
    pending: list[Appointment] = []
    for appointment in sorted((a for a in movable if a.id in previous), key=lambda a: (previous[a.id].start, a.id)):
        kept = _keeps(board, appointment, previous[appointment.id])
        if kept is None:
            pending.append(appointment)
        else:
            board.book(appointment, kept)
            placed.append(kept)
    pending.extend(a for a in movable if a.id not in previous)
    for appointment in sorted(pending, key=lambda a: _order(a, booking)):
        fitted = _first_fit(board, appointment, _booked(appointment, booking))
        if fitted is None:
            unscheduled.append(appointment.id)
            continue
        board.book(appointment, fitted)
        placed.append(fitted)
    order = {a.id: i for i, a in enumerate(day.appointments)}
    placed.sort(key=lambda a: order[a.appointment_id])
    schedule = Schedule(
        assignments=tuple(placed),
        method=method,
        status="HEURISTIC",
        unscheduled=tuple(unscheduled),
        solve_seconds=time.perf_counter() - began,
    )
    value = objective_value(day, schedule, previous) if not unscheduled else None
    return Schedule(
        assignments=schedule.assignments,
        method=method,
        status="HEURISTIC",
        objective=value,
        unscheduled=schedule.unscheduled,
        solve_seconds=schedule.solve_seconds,
    )


def book_late(day: Day, schedule: Schedule, previous: Mapping[str, Assignment] | None = None) -> Schedule:
    """The same plan with every unbooked request's arrival moved as late as its plan allows: no
    later than its window, its infusion start (less the lab turnaround for same-day labs) and, for
    the dose, the release its compounding start
    needs (lab result, patient present). Only waiting changes, so the objective never grows."""
    by_id = {a.id: a for a in day.appointments}
    out: list[Assignment] = []
    for s in schedule.assignments:
        a = by_id.get(s.appointment_id)
        if a is None or not a.arrival_open:
            out.append(s)
            continue
        latest = min(a.latest, s.start - (a.lab_turnaround if a.needs_labs else 0))
        if s.prep_start is not None and a.fixed_prep_start is None:
            if a.needs_labs:
                latest = min(latest, s.prep_start - a.lab_turnaround)
            if not a.premix_eligible:
                latest = min(latest, s.prep_start)
        out.append(replace(s, arrival=max(arrival_of(a, s), latest)))
    booked = replace(schedule, assignments=tuple(out))
    if schedule.objective is None:
        return booked
    return replace(booked, objective=objective_value(day, booked, previous))


def fcfs_schedule(day: Day) -> Schedule:
    """The first-come-first-served baseline."""
    return greedy_schedule(day)
