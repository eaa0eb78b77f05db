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
    """Start window: the infusion starts in [earliest, latest]."""
    arrival: int | None = None
    """Check-in time; None means the patient arrives at `earliest`."""
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

    @property
    def arrival_time(self) -> int:
        return self.earliest if self.arrival is None else self.arrival

    @property
    def started(self) -> bool:
        return self.fixed_start is not None

    @property
    def prep_release(self) -> int:
        """Earliest minute compounding may start: after order verification; after the lab result if
        the patient needs same-day labs; after arrival unless the dose may be premixed."""
        release = self.verified_at
        if self.needs_labs:
            release = max(release, self.arrival_time + self.lab_turnaround)
        if not self.premix_eligible:
            release = max(release, self.arrival_time)
        return release

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
