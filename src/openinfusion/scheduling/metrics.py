"""What a schedule means for the day: the objective the optimiser minimises, and the figures the
benchmark prints (wait, day length, chair use, peak, nurse ratio, overtime, doses ready on time)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openinfusion.scheduling.model import Assignment, Day, Schedule, arrival_of


@dataclass(frozen=True)
class DayMetrics:
    appointments: int
    scheduled: int
    mean_wait: float
    p90_wait: float
    day_length: int
    """Minutes from opening until the last chair is free."""
    last_chair_free: int
    chair_utilisation: float
    """Booked chair minutes over chair minutes available between opening and closing."""
    peak_occupancy: int
    ratio_violations: int
    """Starts at which the nurse was over ratio or already busy with another setup."""
    overtime_minutes: int
    ready_before_chair: float
    """Share of compounded doses ready no later than their chair time."""
    objective: int | None
    solve_seconds: float
    gap: float | None
    status: str


def _ends(day: Day, schedule: Schedule) -> list[int]:
    minutes = {a.id: a.chair_minutes for a in day.appointments}
    return [a.start + minutes[a.appointment_id] for a in schedule.assignments]


def peak_occupancy(day: Day, schedule: Schedule) -> int:
    minutes = {a.id: a.chair_minutes for a in day.appointments}
    events: list[tuple[int, int]] = []
    for a in schedule.assignments:
        events.append((a.start, 1))
        events.append((a.start + minutes[a.appointment_id], -1))
    events.sort()  # ends (-1) sort before starts (+1) at the same minute: half-open intervals
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def nurse_overtime(day: Day, schedule: Schedule) -> dict[str, int]:
    minutes = {a.id: a.chair_minutes for a in day.appointments}
    overtime = {n.id: 0 for n in day.nurses}
    shift_end = {n.id: n.shift_end for n in day.nurses}
    for a in schedule.assignments:
        if a.nurse in overtime:
            end = a.start + minutes[a.appointment_id]
            overtime[a.nurse] = max(overtime[a.nurse], end - shift_end[a.nurse])
    return overtime


def nurse_excess(day: Day, schedule: Schedule) -> dict[str, int]:
    """Largest number of patients over each nurse's maximum at any minute."""
    minutes = {a.id: a.chair_minutes for a in day.appointments}
    excess: dict[str, int] = {}
    for nurse in day.nurses:
        spans = [(a.start, a.start + minutes[a.appointment_id]) for a in schedule.assignments if a.nurse == nurse.id]
        worst = 0
        for point, _ in spans:
            load = sum(1 for s, e in spans if s <= point < e)
            worst = max(worst, load - nurse.max_patients)
        excess[nurse.id] = worst
    return excess


def objective_value(day: Day, schedule: Schedule, previous: Mapping[str, Assignment] | None = None) -> int:
    """The weighted objective, computed from the schedule alone (the solver's model minimises the
    same sum; the two are compared to keep the solver from returning worse than its warm start)."""
    w = day.weights
    by_id = {a.id: a for a in day.appointments}
    wait = sum(
        by_id[a.appointment_id].priority * (a.start - arrival_of(by_id[a.appointment_id], a))
        for a in schedule.assignments
    )
    ends = _ends(day, schedule)
    day_length = max(0, max(ends, default=day.opening) - day.opening)
    overtime = sum(nurse_overtime(day, schedule).values())
    total = w.wait * wait + w.day_length * day_length + w.overtime * overtime + w.peak * peak_occupancy(day, schedule)
    if not w.ratio_hard:
        total += w.ratio_excess * sum(nurse_excess(day, schedule).values())
    if previous:
        for a in schedule.assignments:
            old = previous.get(a.appointment_id)
            if old is None or by_id[a.appointment_id].started:
                continue
            total += w.move * abs(a.start - old.start)
            total += w.chair_change * (a.chair != old.chair)
    return total


def ratio_violations(day: Day, schedule: Schedule) -> int:
    minutes = {a.id: a.chair_minutes for a in day.appointments}
    nurses = {n.id: n for n in day.nurses}
    count = 0
    for a in schedule.assignments:
        nurse = nurses.get(a.nurse)
        if nurse is None:
            count += 1
            continue
        others = [b for b in schedule.assignments if b.nurse == a.nurse and b is not a]
        load = 1 + sum(1 for b in others if b.start <= a.start < b.start + minutes[b.appointment_id])
        in_setup = any(b.start <= a.start < b.start + nurse.setup_minutes for b in others)
        if load > nurse.max_patients or in_setup:
            count += 1
    return count


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile, ``share`` in (0, 1] (1 is the maximum); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def day_metrics(day: Day, schedule: Schedule) -> DayMetrics:
    by_id = {a.id: a for a in day.appointments}
    waits = [a.start - arrival_of(by_id[a.appointment_id], a) for a in schedule.assignments]
    ends = _ends(day, schedule)
    last = max(ends, default=day.opening)
    booked = sum(by_id[a.appointment_id].chair_minutes for a in schedule.assignments)
    available = len(day.chairs) * max(1, day.closing - day.opening)
    doses = [a for a in schedule.assignments if a.ready_at is not None]
    ready = sum(1 for a in doses if a.ready_at is not None and a.ready_at <= a.start)
    return DayMetrics(
        appointments=len(day.appointments),
        scheduled=len(schedule.assignments),
        mean_wait=sum(waits) / len(waits) if waits else 0.0,
        p90_wait=percentile(waits, 0.9),
        day_length=max(0, last - day.opening),
        last_chair_free=last,
        chair_utilisation=booked / available,
        peak_occupancy=peak_occupancy(day, schedule),
        ratio_violations=ratio_violations(day, schedule),
        overtime_minutes=sum(nurse_overtime(day, schedule).values()),
        ready_before_chair=ready / len(doses) if doses else 1.0,
        objective=schedule.objective,
        solve_seconds=schedule.solve_seconds,
        gap=schedule.gap,
        status=schedule.status,
    )


@dataclass(frozen=True)
class LowerBounds:
    """What no schedule can beat, whatever the capacity: each patient alone in the centre."""

    mean_wait: float
    """Mean over appointments of the least wait the patient's own labs and compounding allow."""
    day_length: int
    """Minutes from opening to the earliest the last-finishing infusion could end."""


def lower_bounds(day: Day) -> LowerBounds:
    """Per appointment, over every arrival it may be booked at (the given one, or each minute of
    its window): the least wait (lab result, compounding, opening, a delayed dose) and the earliest
    end; the bounds are their mean and their largest end. Ignores every shared resource, so it is a
    bound for any plan, FCFS or optimised."""
    waits: list[int] = []
    ends: list[int] = [day.opening]
    for a in day.appointments:
        if a.fixed_start is not None:
            waits.append(a.fixed_start - a.arrival_time)
            ends.append(a.fixed_start + a.chair_minutes)
            continue
        arrivals = range(a.earliest, a.latest + 1) if a.arrival_open else range(a.arrival_time, a.arrival_time + 1)
        best_wait: int | None = None
        best_end: int | None = None
        for arrival in arrivals:
            start = a.start_bounds(day, arrival)[0]
            if a.has_prep:
                start = max(start, a.release_after(arrival) + a.prep_minutes)
            if a.ready_not_before is not None:
                start = max(start, a.ready_not_before)
            wait = start - arrival
            best_wait = wait if best_wait is None else min(best_wait, wait)
            best_end = start + a.chair_minutes if best_end is None else min(best_end, start + a.chair_minutes)
        assert best_wait is not None and best_end is not None
        waits.append(best_wait)
        ends.append(best_end)
    return LowerBounds(
        mean_wait=sum(waits) / len(waits) if waits else 0.0,
        day_length=max(0, max(ends) - day.opening),
    )
