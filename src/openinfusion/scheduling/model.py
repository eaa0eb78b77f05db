"""The infusion-centre day as plain data: chairs, nurses, clean rooms, appointments, and the
schedule an optimiser (or the first-come-first-served baseline) returns.

Every time is an int: minutes since the day's midnight (negative values are the day before, e.g. an
order verified the evening before). Every duration is an int number of minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ChairKind = Literal["chair", "bed"]

DEFAULT_LAB_TURNAROUND = 60
"""Minutes from check-in to a resulted same-day lab (Advisory Board median 45-60 min)."""


@dataclass(frozen=True)
class Chair:
    id: str
    kind: ChairKind = "chair"
    long_ok: bool = True
    isolation: bool = False
    unavailable: tuple[tuple[int, int], ...] = ()
    """Half-open [start, end) periods in which the chair is out of service."""


@dataclass(frozen=True)
class Nurse:
    id: str
    shift_start: int
    shift_end: int
    max_patients: int = 4
    setup_minutes: int = 15
    breaks: tuple[tuple[int, int], ...] = ()
    """Half-open [start, end) breaks: the nurse starts no one then (a colleague watches the nurse's
    patients, so monitoring goes on)."""


@dataclass(frozen=True)
class Room:
    id: str
    hazardous: bool
    hoods: int


@dataclass(frozen=True)
class Appointment:
    id: str
    patient: str
    regimen: str
    chair_minutes: int
    prep_minutes: int
    hazardous: bool
    earliest: int
    latest: int
    """The window. For a booked patient (the default) the infusion starts in [earliest, latest].
    For a request whose appointment time the planner books (`book_arrival`), the booked arrival is
    in [earliest, latest] and the infusion starts after it, by the end of the day."""
    arrival: int | None = None
    """Check-in time of a booked (or arrived) patient; None: `preferred`, else `earliest`."""
    needs_labs: bool = False
    lab_turnaround: int = DEFAULT_LAB_TURNAROUND
    premix_eligible: bool = False
    verified_at: int = 0
    priority: int = 1
    needs_bed: bool = False
    long: bool = False
    isolation: bool = False
    ready_not_before: int | None = None
    """The dose cannot be ready before this time (a dose delayed in compounding)."""
    fixed_start: int | None = None
    fixed_chair: str | None = None
    fixed_nurse: str | None = None
    fixed_prep_start: int | None = None
    fixed_prep_room: str | None = None
    book_arrival: bool = False
    """True for a request not booked yet: the planner chooses its arrival (the appointment time the
    patient is told) inside [earliest, latest]. An explicit `arrival` always wins (the patient was
    told, or has checked in), and so does a started infusion."""
    preferred: int | None = None
    """The arrival the patient asked for (default `earliest`): what the FCFS baseline books."""

    @property
    def arrival_time(self) -> int:
        """The given arrival, else the preferred time (what FCFS books for an unbooked request)."""
        if self.arrival is not None:
            return self.arrival
        return self.earliest if self.preferred is None else self.preferred

    @property
    def arrival_open(self) -> bool:
        """Whether the planner chooses this appointment's arrival inside [earliest, latest]."""
        return self.book_arrival and self.arrival is None and self.fixed_start is None

    def release_after(self, arrival: int) -> int:
        """Earliest minute compounding may start for a patient arriving at `arrival`: after order
        verification; after the lab result if the patient needs same-day labs; after arrival unless
        the dose may be premixed."""
        release = self.verified_at
        if self.needs_labs:
            release = max(release, arrival + self.lab_turnaround)
        if not self.premix_eligible:
            release = max(release, arrival)
        return release

    def start_bounds(self, day: Day, arrival: int) -> tuple[int, int]:
        """[lowest, highest] infusion start for a patient arriving at `arrival`: never before the
        arrival, opening or (booked) `earliest`; by `latest` when booked, by the last nurse setup of
        the day when the planner books the arrival. With or without compounding, an infusion never
        starts before the same-day lab result nor before a delayed dose is ready."""
        lowest = max(arrival, day.opening, self.gate_after(arrival))
        if self.arrival_open:
            return lowest, max(self.latest, day.last_setup)
        return max(self.earliest, lowest), self.latest

    def gate_after(self, arrival: int) -> int:
        """The start gate that holds whatever the pharmacy does: the lab result (arrival + lab
        turnaround) for same-day labs, and the delayed dose's ready time."""
        gate = arrival + self.lab_turnaround if self.needs_labs else arrival
        return gate if self.ready_not_before is None else max(gate, self.ready_not_before)

    @property
    def started(self) -> bool:
        return self.fixed_start is not None

    @property
    def prep_release(self) -> int:
        """The release (`release_after`) for the given or preferred arrival."""
        return self.release_after(self.arrival_time)

    @property
    def has_prep(self) -> bool:
        """Whether this visit's compounding is part of the plan (a started infusion's dose was made
        already unless its preparation is pinned in the plan)."""
        if self.prep_minutes <= 0:
            return False
        return self.fixed_start is None or self.fixed_prep_start is not None


@dataclass(frozen=True)
class Weights:
    """Objective weights, per minute (wait, day length, overtime) or per chair (peak)."""

    wait: int = 1
    day_length: int = 2
    overtime: int = 2
    peak: int = 10
    ratio_hard: bool = True
    ratio_excess: int = 1000
    """Per patient over a nurse's maximum, when the ratio is soft."""
    move: int = 0
    """Per minute an appointment moves from the previous plan (re-planning)."""
    chair_change: int = 0
    """Per appointment that changes chair from the previous plan (re-planning)."""


@dataclass(frozen=True)
class Day:
    opening: int
    closing: int
    chairs: tuple[Chair, ...]
    nurses: tuple[Nurse, ...]
    rooms: tuple[Room, ...]
    appointments: tuple[Appointment, ...]
    weights: Weights = field(default_factory=Weights)

    @property
    def last_setup(self) -> int:
        """The last minute any nurse can still start a setup (closing when there are no nurses)."""
        return max((n.shift_end - n.setup_minutes for n in self.nurses), default=self.closing)

    def appointment(self, appointment_id: str) -> Appointment:
        for appointment in self.appointments:
            if appointment.id == appointment_id:
                return appointment
        raise KeyError(appointment_id)


@dataclass(frozen=True)
class Assignment:
    appointment_id: str
    start: int
    chair: str
    nurse: str
    prep_start: int | None
    prep_room: str | None
    ready_at: int | None
    """When the dose leaves the clean room (prep end); None when no compounding is planned."""
    arrival: int | None = None
    """The booked arrival (check-in); None means the appointment's own `arrival_time`."""


@dataclass(frozen=True)
class Schedule:
    assignments: tuple[Assignment, ...]
    method: str
    """"fcfs", "cp-sat" or "replan"."""
    status: str
    """FCFS: "HEURISTIC"; CP-SAT: "OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN", or "HINT" when
    the solver found nothing better than its greedy warm start."""
    objective: int | None = None
    best_bound: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    unscheduled: tuple[str, ...] = ()

    def by_id(self) -> dict[str, Assignment]:
        return {a.appointment_id: a for a in self.assignments}


def arrival_of(appointment: Appointment, assignment: Assignment) -> int:
    """The arrival a schedule books for an appointment: the assignment's, else the appointment's."""
    return appointment.arrival_time if assignment.arrival is None else assignment.arrival


def chair_fits(chair: Chair, appointment: Appointment) -> bool:
    if appointment.needs_bed and chair.kind != "bed":
        return False
    if appointment.long and not chair.long_ok:
        return False
    return not (appointment.isolation and not chair.isolation)


def room_fits(room: Room, appointment: Appointment, rooms: tuple[Room, ...]) -> bool:
    """Hazardous doses are made only in a hazardous room; other doses in a non-hazardous room, or in
    any room when the site has no non-hazardous room."""
    if appointment.hazardous:
        return room.hazardous
    if any(not r.hazardous for r in rooms):
        return not room.hazardous
    return True


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end
