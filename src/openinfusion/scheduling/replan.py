"""Re-planning during the day: apply events to the day, pin what has started, and solve again fast
while penalising every change to the current plan. Every patient of the current plan keeps the
arrival the plan booked (they were told when to come); only add-ons get their arrival chosen."""

from __future__ import annotations

from dataclasses import dataclass, replace

from openinfusion.scheduling.model import Appointment, Assignment, Day, Schedule, arrival_of
from openinfusion.scheduling.solver import SolverOptions, solve_day


@dataclass(frozen=True)
class LateArrival:
    appointment_id: str
    arrival: int


@dataclass(frozen=True)
class AddOn:
    appointment: Appointment


@dataclass(frozen=True)
class Cancellation:
    appointment_id: str


@dataclass(frozen=True)
class ChairOutOfService:
    chair_id: str
    start: int
    end: int


@dataclass(frozen=True)
class DoseDelayed:
    appointment_id: str
    ready_at: int
    """The dose will not leave the clean room before this minute."""


Event = LateArrival | AddOn | Cancellation | ChairOutOfService | DoseDelayed

REPLAN_WEIGHTS_MOVE = 2
REPLAN_WEIGHTS_CHAIR_CHANGE = 30
REPLAN_OPTIONS = SolverOptions(time_limit_seconds=0.6)
"""The whole call (greedy repair, model building and search) within 0.6 s of wall time."""


class ReplanError(ValueError):
    pass


def _pin(appointment: Appointment, current: Assignment | None, now: int) -> Appointment:
    """Started infusions keep start, chair and nurse; a dose already in compounding keeps its hood;
    nothing else may start before now."""
    if current is not None and current.start < now:
        return replace(
            appointment,
            fixed_start=current.start,
            fixed_chair=current.chair,
            fixed_nurse=current.nurse,
            fixed_prep_start=current.prep_start,
            fixed_prep_room=current.prep_room,
        )
    if current is not None and current.prep_start is not None and current.prep_start < now:
        return replace(appointment, fixed_prep_start=current.prep_start, fixed_prep_room=current.prep_room)
    if appointment.started:
        return appointment
    return replace(appointment, earliest=max(appointment.earliest, now), latest=max(appointment.latest, now))


def book(day: Day, appointment: Appointment, arrival: int) -> Appointment:
    """The appointment as booked at `arrival`: the arrival is fixed, and the window, which bounded
    the arrival of the request, now bounds the start: from the arrival to the end of the day."""
    if not appointment.arrival_open:
        return appointment
    return replace(
        appointment,
        arrival=arrival,
        book_arrival=False,
        earliest=arrival,
        latest=max(appointment.latest, arrival, day.last_setup),
    )


def apply_events(day: Day, schedule: Schedule, events: list[Event], now: int) -> Day:
    current = schedule.by_id()
    appointments = {a.id: a for a in day.appointments}
    for a in day.appointments:
        planned = current.get(a.id)
        if planned is not None:
            appointments[a.id] = book(day, a, arrival_of(a, planned))
    chairs = {c.id: c for c in day.chairs}
    for event in events:
        if isinstance(event, LateArrival):
            a = _known(appointments, event.appointment_id)
            a = book(day, a, a.arrival_time)
            appointments[a.id] = replace(
                a,
                arrival=event.arrival,
                earliest=max(a.earliest, event.arrival),
                latest=max(a.latest, event.arrival),
            )
        elif isinstance(event, AddOn):
            if event.appointment.id in appointments:
                raise ReplanError(f"add-on {event.appointment.id} is already on the schedule")
            appointments[event.appointment.id] = event.appointment
        elif isinstance(event, Cancellation):
            a = _known(appointments, event.appointment_id)
            held = current.get(a.id)
            if held is not None and held.start < now:
                raise ReplanError(f"{a.id} started at {held.start}; stop the infusion instead of cancelling it")
            del appointments[a.id]
        elif isinstance(event, ChairOutOfService):
            if event.chair_id not in chairs:
                raise ReplanError(f"chair {event.chair_id} does not exist")
            # an infusion already running in the chair finishes there; the block begins after it
            start = event.start
            for held in current.values():
                a_held = appointments.get(held.appointment_id)
                if a_held is not None and held.chair == event.chair_id and held.start < now:
                    start = max(start, held.start + a_held.chair_minutes)
            if start < event.end:
                chair = chairs[event.chair_id]
                chairs[chair.id] = replace(chair, unavailable=(*chair.unavailable, (start, event.end)))
        elif isinstance(event, DoseDelayed):
            a = _known(appointments, event.appointment_id)
            appointments[a.id] = replace(a, ready_not_before=event.ready_at)
    pinned = tuple(_pin(a, current.get(a.id), now) for a in appointments.values())
    return replace(day, appointments=pinned, chairs=tuple(chairs[c.id] for c in day.chairs))


def _known(appointments: dict[str, Appointment], appointment_id: str) -> Appointment:
    if appointment_id not in appointments:
        raise ReplanError(f"appointment {appointment_id} is not on the schedule")
    return appointments[appointment_id]


def replan(
    day: Day,
    schedule: Schedule,
    events: list[Event],
    now: int,
    options: SolverOptions = REPLAN_OPTIONS,
) -> tuple[Day, Schedule]:
    """The updated day and its new schedule. Started infusions stay as they are; the others may
    move, at a cost per minute moved and per chair changed, so the plan changes as little as it
    can."""
    updated = apply_events(day, schedule, events, now)
    weights = replace(
        updated.weights,
        move=updated.weights.move or REPLAN_WEIGHTS_MOVE,
        chair_change=updated.weights.chair_change or REPLAN_WEIGHTS_CHAIR_CHANGE,
    )
    updated = replace(updated, weights=weights)
    kept = {
        a.appointment_id: a for a in schedule.assignments if a.appointment_id in {x.id for x in updated.appointments}
    }
    return updated, solve_day(updated, options, previous=kept, method="replan")
