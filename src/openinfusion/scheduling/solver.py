"""The day optimiser: one OR-Tools CP-SAT model over chairs, nurses and the pharmacy together.

Per appointment: an infusion start inside its window; one optional fixed-size interval per suitable
chair (exactly one chosen, NoOverlap per chair); one optional setup interval and one optional
monitoring interval per nurse on shift (exactly one nurse; setups NoOverlap per nurse, monitoring
Cumulative per nurse with capacity max_patients); one optional preparation interval per suitable
clean room (Cumulative per room with capacity = hoods) that starts after the dose's release and
ends before the infusion starts. For a request whose appointment time is not booked yet
(`Appointment.book_arrival`), the arrival is a variable inside [earliest, latest]; the infusion
starts after it, and the dose's release (lab result, patient present) follows it. The objective
is the weighted sum computed by `metrics.objective_value`. The best of two greedy plans (FCFS, and
the greedy that books each request at the start of its window, long infusions first), each with
its arrivals then booked as late as the plan allows (`book_late`), is given as a complete hint, and
if the solver ends without anything better, that plan itself is returned (status "HINT"), so the
optimiser is never worse than the FCFS baseline it is compared with.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.fcfs import book_late, greedy_schedule
from openinfusion.scheduling.metrics import nurse_excess, nurse_overtime, objective_value, peak_occupancy
from openinfusion.scheduling.model import (
    Appointment,
    Assignment,
    Chair,
    Day,
    Schedule,
    arrival_of,
    chair_fits,
    room_fits,
)


@dataclass(frozen=True)
class SolverOptions:
    time_limit_seconds: float = 10.0
    num_workers: int = 2
    random_seed: int = 0
    deterministic_time: float | None = None
    """When set, the search is bounded by CP-SAT's deterministic time instead of the wall clock and
    its workers are interleaved, so the same seed gives the same schedule on any machine."""


_STATUS = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}


@dataclass
class _Vars:
    start: dict[str, cp_model.IntVar]
    arrival: dict[str, cp_model.IntVar]
    """Only for requests whose arrival the planner books."""
    chair: dict[tuple[str, str], cp_model.IntVar]
    nurse: dict[tuple[str, str], cp_model.IntVar]
    room: dict[tuple[str, str], cp_model.IntVar]
    prep: dict[str, cp_model.IntVar]
    overtime: dict[str, cp_model.IntVar]
    excess: dict[str, cp_model.IntVar]
    moves: dict[str, cp_model.IntVar]
    makespan: cp_model.IntVar
    peak: cp_model.IntVar


class _Builder:
    def __init__(self, day: Day, previous: Mapping[str, Assignment]) -> None:
        self.day = day
        self.previous = previous
        self.model = cp_model.CpModel()
        # Chairs alike in kind, long-infusion use and isolation (and always in service) are
        # interchangeable: the model books a kind with a Cumulative, and chairs are assigned after
        # solving by colouring the intervals in start order, which never fails for an interval
        # graph whose load at every minute is at most the number of chairs.
        self.kinds: dict[str, list[Chair]] = {}
        for chair in day.chairs:
            key = chair.id if chair.unavailable else f"{chair.kind}|{chair.long_ok}|{chair.isolation}"
            self.kinds.setdefault(key, []).append(chair)
        self.kind_of = {c.id: k for k, members in self.kinds.items() for c in members}

    def build(self) -> _Vars:
        day, m = self.day, self.model
        horizon = max([day.closing, day.last_setup, *(a.latest for a in day.appointments)])
        horizon += max([0, *(a.chair_minutes for a in day.appointments)]) + 1
        v = _Vars(
            {},
            {},
            {},
            {},
            {},
            {},
            {},
            {},
            {},
            m.new_int_var(day.opening, horizon, "makespan"),
            m.new_int_var(0, len(day.appointments), "peak"),
        )
        chair_intervals: dict[str, list[cp_model.IntervalVar]] = {k: [] for k in self.kinds}
        setups: dict[str, list[cp_model.IntervalVar]] = {n.id: [] for n in day.nurses}
        loads: dict[str, list[cp_model.IntervalVar]] = {n.id: [] for n in day.nurses}
        hoods: dict[str, list[cp_model.IntervalVar]] = {r.id: [] for r in day.rooms}
        infusions: list[cp_model.IntervalVar] = []
        ends: list[cp_model.LinearExprT] = []
        for chair in day.chairs:
            for s, e in chair.unavailable:
                chair_intervals[self.kind_of[chair.id]].append(
                    m.new_fixed_size_interval_var(s, e - s, f"off_{chair.id}_{s}")
                )
        for n in day.nurses:
            v.overtime[n.id] = m.new_int_var(0, horizon, f"overtime_{n.id}")
            v.excess[n.id] = m.new_int_var(0, 0 if day.weights.ratio_hard else len(day.appointments), f"excess_{n.id}")
        for a in day.appointments:
            d = a.chair_minutes
            if a.fixed_start is not None:
                start = m.new_constant(a.fixed_start)
                lo = hi = a.fixed_start
            else:
                lo, hi = a.start_bounds(day, a.earliest if a.arrival_open else a.arrival_time)
                start = m.new_int_var(lo, max(lo, hi), f"start_{a.id}")
                if hi < lo:
                    m.add_bool_or([])  # an empty window: the day is infeasible as given
                if a.arrival_open:
                    arrival = m.new_int_var(a.earliest, max(a.earliest, a.latest), f"arrival_{a.id}")
                    v.arrival[a.id] = arrival
                    m.add(start >= arrival + (a.lab_turnaround if a.needs_labs else 0))
            v.start[a.id] = start
            infusions.append(m.new_fixed_size_interval_var(start, d, f"infusion_{a.id}"))
            ends.append(start + d)
            if a.fixed_chair:
                kinds = [self.kind_of[a.fixed_chair]] if a.fixed_chair in self.kind_of else []
            else:
                kinds = [k for k, members in self.kinds.items() if chair_fits(members[0], a)]
            for k in kinds:
                b = m.new_bool_var(f"chair_{a.id}_{k}")
                v.chair[a.id, k] = b
                chair_intervals[k].append(m.new_optional_fixed_size_interval_var(start, d, b, f"seat_{a.id}_{k}"))
            m.add_exactly_one([v.chair[a.id, k] for k in kinds])
            nurses = [
                n
                for n in day.nurses
                if (
                    n.id == a.fixed_nurse
                    if a.fixed_nurse
                    else n.shift_start <= hi and lo + n.setup_minutes <= n.shift_end
                )
            ]
            for n in nurses:
                b = m.new_bool_var(f"nurse_{a.id}_{n.id}")
                v.nurse[a.id, n.id] = b
                setups[n.id].append(
                    m.new_optional_fixed_size_interval_var(start, n.setup_minutes, b, f"setup_{a.id}_{n.id}")
                )
                loads[n.id].append(m.new_optional_fixed_size_interval_var(start, d, b, f"load_{a.id}_{n.id}"))
                if a.fixed_start is None:
                    m.add(start >= n.shift_start).only_enforce_if(b)
                    m.add(start + n.setup_minutes <= n.shift_end).only_enforce_if(b)
                m.add(v.overtime[n.id] >= start + d - n.shift_end).only_enforce_if(b)
            m.add_exactly_one([v.nurse[a.id, n.id] for n in nurses])
            if a.has_prep:
                self._prep(a, start, hi, v, hoods)
            old = self.previous.get(a.id)
            if old is not None and not a.started and (day.weights.move or day.weights.chair_change):
                moved = m.new_int_var(0, horizon, f"move_{a.id}")
                m.add_abs_equality(moved, start - old.start)
                v.moves[a.id] = moved
        for k, members in self.kinds.items():
            m.add_cumulative(chair_intervals[k], [1] * len(chair_intervals[k]), len(members))
        for n in day.nurses:
            for b_start, b_end in n.breaks:
                setups[n.id].append(m.new_fixed_size_interval_var(b_start, b_end - b_start, f"break_{n.id}_{b_start}"))
            m.add_no_overlap(setups[n.id])
            m.add_cumulative(loads[n.id], [1] * len(loads[n.id]), v.excess[n.id] + n.max_patients)
        for r in day.rooms:
            m.add_cumulative(hoods[r.id], [1] * len(hoods[r.id]), r.hoods)
        m.add_cumulative(infusions, [1] * len(infusions), v.peak)
        m.add_max_equality(v.makespan, [*ends, day.opening])
        self._objective(v)
        return v

    def _prep(
        self, a: Appointment, start: cp_model.IntVar, hi: int, v: _Vars, hoods: dict[str, list[cp_model.IntervalVar]]
    ) -> None:
        day, m = self.day, self.model
        p = a.prep_minutes
        if a.fixed_prep_start is not None:
            prep = m.new_constant(a.fixed_prep_start)
            rooms = [r for r in day.rooms if r.id == a.fixed_prep_room]
        else:
            release = a.release_after(a.earliest) if a.arrival_open else a.prep_release
            if a.ready_not_before is not None:
                release = max(release, a.ready_not_before - p)
            prep = m.new_int_var(release, max(release, hi - p), f"prep_{a.id}")
            rooms = [r for r in day.rooms if room_fits(r, a, day.rooms) and r.hoods > 0]
            arrival = v.arrival.get(a.id)
            if arrival is not None:  # the release follows the booked arrival
                if a.needs_labs:
                    m.add(prep >= arrival + a.lab_turnaround)
                if not a.premix_eligible:
                    m.add(prep >= arrival)
        v.prep[a.id] = prep
        m.add(prep + p <= start)
        if a.ready_not_before is not None:
            m.add(prep + p >= a.ready_not_before)
        for r in rooms:
            b = m.new_bool_var(f"room_{a.id}_{r.id}")
            v.room[a.id, r.id] = b
            hoods[r.id].append(m.new_optional_fixed_size_interval_var(prep, p, b, f"hood_{a.id}_{r.id}"))
        m.add_exactly_one([v.room[a.id, r.id] for r in rooms])

    def _objective(self, v: _Vars) -> None:
        day, w = self.day, self.day.weights
        terms: list[cp_model.LinearExprT] = []
        for a in day.appointments:
            arrival = v.arrival.get(a.id)
            booked = a.arrival_time if arrival is None else arrival
            terms.append(w.wait * a.priority * (v.start[a.id] - booked))
        terms.append(w.day_length * (v.makespan - day.opening))
        terms.extend(w.overtime * x for x in v.overtime.values())
        terms.append(w.peak * v.peak)
        if not w.ratio_hard:
            terms.extend(w.ratio_excess * x for x in v.excess.values())
        for appointment_id, moved in v.moves.items():
            terms.append(w.move * moved)
            old_kind = self.kind_of.get(self.previous[appointment_id].chair, "")
            kept = v.chair.get((appointment_id, old_kind))
            terms.append(w.chair_change * (1 - kept) if kept is not None else w.chair_change)
        self.model.minimize(sum(terms))

    def hint(self, v: _Vars, schedule: Schedule) -> None:
        day, m = self.day, self.model
        by_id = schedule.by_id()
        for a in day.appointments:
            got = by_id.get(a.id)
            if got is None:
                continue
            if a.fixed_start is None:
                m.add_hint(v.start[a.id], got.start)
            if a.id in v.arrival:
                m.add_hint(v.arrival[a.id], arrival_of(a, got))
            for (aid, kind), b in v.chair.items():
                if aid == a.id:
                    m.add_hint(b, kind == self.kind_of.get(got.chair))
            for (aid, nid), b in v.nurse.items():
                if aid == a.id:
                    m.add_hint(b, nid == got.nurse)
            for (aid, rid), b in v.room.items():
                if aid == a.id:
                    m.add_hint(b, rid == got.prep_room)
            if a.id in v.prep and a.fixed_prep_start is None and got.prep_start is not None:
                m.add_hint(v.prep[a.id], got.prep_start)
            if a.id in v.moves:
                m.add_hint(v.moves[a.id], abs(got.start - self.previous[a.id].start))
        if not schedule.unscheduled:
            ends = [g.start + day.appointment(g.appointment_id).chair_minutes for g in schedule.assignments]
            m.add_hint(v.makespan, max([*ends, day.opening]))
            m.add_hint(v.peak, peak_occupancy(day, schedule))
            for nid, minutes in nurse_overtime(day, schedule).items():
                m.add_hint(v.overtime[nid], minutes)
            if not day.weights.ratio_hard:
                for nid, extra in nurse_excess(day, schedule).items():
                    m.add_hint(v.excess[nid], max(0, extra))


def _extract(builder: _Builder, solver: cp_model.CpSolver, v: _Vars) -> tuple[Assignment, ...] | None:
    day = builder.day
    starts = {a.id: solver.value(v.start[a.id]) for a in day.appointments}
    kinds = {aid: kind for (aid, kind), b in v.chair.items() if solver.boolean_value(b)}
    chairs = _colour(builder, starts, kinds)
    if chairs is None:
        return None
    out: list[Assignment] = []
    for a in day.appointments:
        nurse = next(nid for (aid, nid), b in v.nurse.items() if aid == a.id and solver.boolean_value(b))
        prep_start: int | None = None
        room: str | None = None
        ready: int | None = None
        if a.id in v.prep:
            prep_start = solver.value(v.prep[a.id])
            room = next(rid for (aid, rid), b in v.room.items() if aid == a.id and solver.boolean_value(b))
            ready = prep_start + a.prep_minutes
        arrival = solver.value(v.arrival[a.id]) if a.id in v.arrival else a.arrival_time
        out.append(Assignment(a.id, starts[a.id], chairs[a.id], nurse, prep_start, room, ready, arrival))
    return tuple(out)


def _colour(builder: _Builder, starts: dict[str, int], kinds: dict[str, str]) -> dict[str, str] | None:
    """Chairs for the booked kinds: started infusions keep theirs, then in start order each
    appointment takes its previous chair if free, else the first free chair of its kind."""
    day = builder.day
    busy: dict[str, list[tuple[int, int]]] = {c.id: list(c.unavailable) for c in day.chairs}
    chosen: dict[str, str] = {}
    by_id = {a.id: a for a in day.appointments}

    def free(chair_id: str, start: int, end: int) -> bool:
        return all(not (s < end and start < e) for s, e in busy[chair_id])

    for a in day.appointments:
        if a.fixed_chair is not None:
            chosen[a.id] = a.fixed_chair
            busy.setdefault(a.fixed_chair, []).append((starts[a.id], starts[a.id] + a.chair_minutes))
    for aid in sorted((x for x in starts if x not in chosen), key=lambda x: (starts[x], x)):
        a = by_id[aid]
        end = starts[aid] + a.chair_minutes
        members = [c.id for c in builder.kinds[kinds[aid]]]
        old = builder.previous.get(aid)
        order = ([old.chair] if old is not None and old.chair in members else []) + members
        chair = next((c for c in order if free(c, starts[aid], end)), None)
        if chair is None:
            return None
        chosen[aid] = chair
        busy[chair].append((starts[aid], end))
    return chosen


def solve_day(
    day: Day,
    options: SolverOptions | None = None,
    previous: Mapping[str, Assignment] | None = None,
    method: str = "cp-sat",
) -> Schedule:
    """Plan the day (or, with `previous`, re-plan it while penalising changes). The wall-clock
    limit covers the whole call: the greedy warm start and the model building are taken off the
    solver's own time."""
    options = options or SolverOptions()
    previous = previous or {}
    began = time.perf_counter()
    warm, warm_ok = _warm_start(day, previous)
    builder = _Builder(day, previous)
    v = builder.build()
    builder.hint(v, warm)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = options.num_workers
    params.random_seed = options.random_seed
    params.symmetry_level = 0  # symmetry fixing in presolve can reject the complete FCFS hint
    params.cp_model_probing_level = 0  # probing a day costs seconds and gains little here
    if options.deterministic_time is not None:
        params.max_deterministic_time = options.deterministic_time
        params.interleave_search = True
    else:
        spent = time.perf_counter() - began
        params.max_time_in_seconds = max(0.05, options.time_limit_seconds - spent)
    status = solver.solve(builder.model)
    seconds = time.perf_counter() - began
    name = _STATUS.get(status, "UNKNOWN")
    bound: float | None = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignments = _extract(builder, solver, v)
        bound = solver.best_objective_bound
        found = book_late(day, Schedule(assignments or (), method, name))
        assignments = found.assignments if assignments is not None else None
        value = objective_value(day, found, previous)
        better = not (warm_ok and warm.objective is not None and warm.objective < value)
        if assignments is not None and better:
            return replace(found, objective=value, best_bound=bound, gap=_gap(value, bound), solve_seconds=seconds)
    else:
        bound = solver.best_objective_bound if status != cp_model.INFEASIBLE else None
    if warm_ok and warm.objective is not None:
        return replace(
            warm,
            method=method,
            status="HINT",
            best_bound=bound,
            gap=_gap(warm.objective, bound),
            solve_seconds=seconds,
        )
    return Schedule((), method, name, solve_seconds=seconds, unscheduled=tuple(a.id for a in day.appointments))


def _warm_start(day: Day, previous: Mapping[str, Assignment]) -> tuple[Schedule, bool]:
    """The FCFS plan (with a previous plan: the repaired plan) with its arrivals booked late, or,
    when some request's arrival is still to be booked, the greedy that books each request at the
    start of its window (long infusions first) if that is better; and whether it is complete and
    passes the checker. A plan that leaves someone out or that the checker rejects is never
    preferred to one that does not."""
    candidates = [book_late(day, greedy_schedule(day, previous), previous)]
    if any(a.arrival_open for a in day.appointments):
        candidates.append(book_late(day, greedy_schedule(day, previous, booking="earliest"), previous))
    ranked: list[tuple[int, int, int, Schedule]] = []
    for i, schedule in enumerate(candidates):
        if schedule.unscheduled or schedule.objective is None:
            ranked.append((2, 0, i, schedule))
        else:
            ranked.append((1 if check_schedule(day, schedule) else 0, schedule.objective, i, schedule))
    best = min(ranked, key=lambda r: r[:3])
    return best[3], best[0] == 0


def _gap(value: int, bound: float | None) -> float | None:
    if bound is None:
        return None
    return max(0.0, (value - bound) / max(1.0, abs(value)))
