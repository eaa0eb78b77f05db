"""An independent feasibility checker for a returned schedule.

It is written without the solver and without the greedy: plain loops over the schedule and, for the
capacities, over every minute of the day. It re-derives every rule from the day's data (it does not
call the model's helper properties), so a mistake in the optimiser's model shows up here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from openinfusion.scheduling.model import Appointment, Assignment, Chair, Day, Nurse, Room, Schedule


@dataclass(frozen=True)
class Violation:
    kind: str
    """"missing", "unknown", "duplicate", "chair", "chair_overlap", "chair_out_of_service",
    "nurse", "shift", "setup_overlap", "ratio", "pharmacy", "pharmacy_capacity", "release",
    "prep_after_start", "window", "arrival", "fixed"."""
    message: str
    appointments: tuple[str, ...] = ()


def _hhmm(minute: int) -> str:
    sign = "-" if minute < 0 else ""
    minute = abs(minute)
    return f"{sign}{minute // 60:02d}:{minute % 60:02d}"


def _given_arrival(a: Appointment) -> int:
    if a.arrival is not None:
        return a.arrival
    return a.earliest if a.preferred is None else a.preferred


def _release(a: Appointment, arrival: int) -> int:
    release = a.verified_at
    if a.needs_labs and arrival + a.lab_turnaround > release:
        release = arrival + a.lab_turnaround
    if not a.premix_eligible and arrival > release:
        release = arrival
    return release


def check_schedule(day: Day, schedule: Schedule) -> list[Violation]:
    out: list[Violation] = []
    appointments = {a.id: a for a in day.appointments}
    chairs = {c.id: c for c in day.chairs}
    nurses = {n.id: n for n in day.nurses}
    rooms = {r.id: r for r in day.rooms}
    counts = Counter(s.appointment_id for s in schedule.assignments)
    for appointment_id in appointments:
        if counts[appointment_id] == 0:
            out.append(Violation("missing", f"{appointment_id} is not scheduled", (appointment_id,)))
    for appointment_id, n in counts.items():
        if appointment_id not in appointments:
            out.append(Violation("unknown", f"{appointment_id} is not an appointment of the day", (appointment_id,)))
        elif n > 1:
            out.append(Violation("duplicate", f"{appointment_id} is scheduled {n} times", (appointment_id,)))
    items = [(appointments[s.appointment_id], s) for s in schedule.assignments if s.appointment_id in appointments]
    for a, s in items:
        out.extend(_check_one(day, a, s, chairs, nurses, rooms))
    out.extend(_check_pairs(items, nurses))
    out.extend(_check_minutes(items, nurses, rooms))
    return out


def _check_one(
    day: Day,
    a: Appointment,
    s: Assignment,
    chairs: dict[str, Chair],
    nurses: dict[str, Nurse],
    rooms: dict[str, Room],
) -> list[Violation]:
    out: list[Violation] = []
    ids = (a.id,)
    end = s.start + a.chair_minutes
    # the planner books the arrival of a request that has none yet and has not started
    open_arrival = a.book_arrival and a.arrival is None and a.fixed_start is None
    arrival = _given_arrival(a) if s.arrival is None else s.arrival
    if open_arrival and not a.earliest <= arrival <= a.latest:
        out.append(
            Violation(
                "arrival",
                f"{a.id} is booked to arrive at {_hhmm(arrival)}, outside its window "
                f"{_hhmm(a.earliest)}-{_hhmm(a.latest)}",
                ids,
            )
        )
    if not open_arrival and arrival != _given_arrival(a):
        out.append(
            Violation(
                "arrival",
                f"{a.id} was told to come (or came) at {_hhmm(_given_arrival(a))}; the schedule books {_hhmm(arrival)}",
                ids,
            )
        )
    chair = chairs.get(s.chair)
    if chair is None:
        out.append(Violation("chair", f"{a.id}: chair {s.chair} does not exist", ids))
    else:
        if a.needs_bed and chair.kind != "bed":
            out.append(Violation("chair", f"{a.id} needs a bed; {chair.id} is a {chair.kind}", ids))
        if a.long and not chair.long_ok:
            out.append(Violation("chair", f"{a.id} is a long infusion; {chair.id} is not for long infusions", ids))
        if a.isolation and not chair.isolation:
            out.append(Violation("chair", f"{a.id} needs isolation; {chair.id} is not an isolation chair", ids))
        for off_start, off_end in chair.unavailable:
            if s.start < off_end and off_start < end and a.fixed_start is None:
                out.append(
                    Violation(
                        "chair_out_of_service",
                        f"{a.id} sits in {chair.id} {_hhmm(s.start)}-{_hhmm(end)} while it is out of service "
                        f"{_hhmm(off_start)}-{_hhmm(off_end)}",
                        ids,
                    )
                )
    nurse = nurses.get(s.nurse)
    if nurse is None:
        out.append(Violation("nurse", f"{a.id}: nurse {s.nurse} does not exist", ids))
    elif a.fixed_start is None and any(
        s.start < b_end and b_start < s.start + nurse.setup_minutes for b_start, b_end in nurse.breaks
    ):
        out.append(Violation("shift", f"{a.id}: setup at {_hhmm(s.start)} falls in {nurse.id}'s break", ids))
    elif a.fixed_start is None and (s.start < nurse.shift_start or s.start + nurse.setup_minutes > nurse.shift_end):
        out.append(
            Violation(
                "shift",
                f"{a.id}: setup at {_hhmm(s.start)} is outside {nurse.id}'s shift "
                f"{_hhmm(nurse.shift_start)}-{_hhmm(nurse.shift_end)}",
                ids,
            )
        )
    if a.fixed_start is not None:
        if s.start != a.fixed_start or s.chair != a.fixed_chair or s.nurse != a.fixed_nurse:
            out.append(
                Violation(
                    "fixed",
                    f"{a.id} has started ({_hhmm(a.fixed_start)}, {a.fixed_chair}, {a.fixed_nurse}) "
                    f"but the schedule has ({_hhmm(s.start)}, {s.chair}, {s.nurse})",
                    ids,
                )
            )
    elif open_arrival:
        # the window bounded the arrival; the infusion starts after it (nurse shifts bound the end)
        lowest = max(arrival, day.opening)
        if s.start < lowest:
            out.append(
                Violation(
                    "window",
                    f"{a.id} starts at {_hhmm(s.start)}, before the patient's arrival or opening at {_hhmm(lowest)}",
                    ids,
                )
            )
    else:
        lowest = max(a.earliest, arrival, day.opening)
        if s.start < lowest or s.start > a.latest:
            out.append(
                Violation(
                    "window",
                    f"{a.id} starts at {_hhmm(s.start)}, outside its window {_hhmm(lowest)}-{_hhmm(a.latest)}",
                    ids,
                )
            )
    if a.fixed_start is None:
        gate = arrival + a.lab_turnaround if a.needs_labs else arrival
        if a.ready_not_before is not None and a.ready_not_before > gate:
            gate = a.ready_not_before
        if arrival <= s.start < gate:  # a start before the arrival itself is a window violation
            out.append(
                Violation(
                    "release",
                    f"{a.id} starts at {_hhmm(s.start)}, before its lab result or delayed dose at {_hhmm(gate)}",
                    ids,
                )
            )
    if a.fixed_prep_start is not None and (s.prep_start != a.fixed_prep_start or s.prep_room != a.fixed_prep_room):
        out.append(Violation("fixed", f"{a.id}: the dose's preparation has started and cannot move", ids))
    needs_prep = a.prep_minutes > 0 and (a.fixed_start is None or a.fixed_prep_start is not None)
    if needs_prep:
        room = rooms.get(s.prep_room or "")
        if s.prep_start is None or room is None:
            out.append(Violation("pharmacy", f"{a.id}: no clean room and preparation time for the dose", ids))
            return out
        ready = s.prep_start + a.prep_minutes
        if s.ready_at != ready:
            out.append(Violation("pharmacy", f"{a.id}: ready_at {s.ready_at} is not prep start + prep minutes", ids))
        if a.hazardous and not room.hazardous:
            out.append(Violation("pharmacy", f"{a.id}: a hazardous dose is made in non-hazardous room {room.id}", ids))
        has_plain_room = any(not r.hazardous for r in rooms.values())
        if not a.hazardous and room.hazardous and has_plain_room:
            out.append(Violation("pharmacy", f"{a.id}: a non-hazardous dose is made in hazardous room {room.id}", ids))
        release = _release(a, arrival)
        if a.fixed_prep_start is None and s.prep_start < release:
            out.append(
                Violation(
                    "release",
                    f"{a.id}: compounding starts at {_hhmm(s.prep_start)}, before its release at {_hhmm(release)} "
                    f"(patient booked at {_hhmm(arrival)})",
                    ids,
                )
            )
        if a.ready_not_before is not None and ready < a.ready_not_before:
            out.append(
                Violation(
                    "release", f"{a.id}: ready at {_hhmm(ready)}, before {_hhmm(a.ready_not_before)} (delayed)", ids
                )
            )
        if ready > s.start:
            out.append(
                Violation(
                    "prep_after_start",
                    f"{a.id}: the dose is ready at {_hhmm(ready)}, after the infusion start {_hhmm(s.start)}",
                    ids,
                )
            )
    return out


def _check_pairs(items: list[tuple[Appointment, Assignment]], nurses: dict[str, Nurse]) -> list[Violation]:
    out: list[Violation] = []
    for i, (a, s) in enumerate(items):
        for b, t in items[i + 1 :]:
            if s.chair == t.chair and s.start < t.start + b.chair_minutes and t.start < s.start + a.chair_minutes:
                out.append(
                    Violation(
                        "chair_overlap",
                        f"{a.id} and {b.id} overlap in chair {s.chair} ({_hhmm(s.start)} and {_hhmm(t.start)})",
                        (a.id, b.id),
                    )
                )
            nurse = nurses.get(s.nurse)
            if s.nurse == t.nurse and nurse is not None:
                setup = nurse.setup_minutes
                if s.start < t.start + setup and t.start < s.start + setup:
                    out.append(
                        Violation(
                            "setup_overlap",
                            f"{nurse.id} sets up {a.id} and {b.id} at the same time "
                            f"({_hhmm(s.start)}, {_hhmm(t.start)})",
                            (a.id, b.id),
                        )
                    )
    return out


def _check_minutes(
    items: list[tuple[Appointment, Assignment]], nurses: dict[str, Nurse], rooms: dict[str, Room]
) -> list[Violation]:
    out: list[Violation] = []
    load: dict[tuple[str, int], list[str]] = {}
    hoods: dict[tuple[str, int], list[str]] = {}
    for a, s in items:
        for minute in range(s.start, s.start + a.chair_minutes):
            load.setdefault((s.nurse, minute), []).append(a.id)
        if s.prep_start is not None and s.prep_room is not None:
            for minute in range(s.prep_start, s.prep_start + a.prep_minutes):
                hoods.setdefault((s.prep_room, minute), []).append(a.id)
    out.extend(
        _over_capacity(
            load,
            {n.id: n.max_patients for n in nurses.values()},
            "ratio",
            lambda nurse, count, minute, most: f"{nurse} has {count} patients at {_hhmm(minute)} (at most {most})",
        )
    )
    out.extend(
        _over_capacity(
            hoods,
            {r.id: r.hoods for r in rooms.values()},
            "pharmacy_capacity",
            lambda room, count, minute, most: f"{room} makes {count} doses at {_hhmm(minute)} with {most} hoods",
        )
    )
    return out


def _over_capacity(
    usage: dict[tuple[str, int], list[str]],
    capacity: dict[str, int],
    kind: str,
    message: Callable[[str, int, int, int], str],
) -> list[Violation]:
    """One violation per resource and group of appointments that exceeds its capacity at a minute."""
    out: list[Violation] = []
    reported: set[tuple[str, frozenset[str]]] = set()
    for (resource, minute), ids in sorted(usage.items()):
        most = capacity.get(resource)
        if most is not None and len(ids) > most and (resource, frozenset(ids)) not in reported:
            reported.add((resource, frozenset(ids)))
            out.append(Violation(kind, message(resource, len(ids), minute, most), tuple(ids)))
    return out
