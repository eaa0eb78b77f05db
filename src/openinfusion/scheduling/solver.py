"""The day optimiser: one OR-Tools CP-SAT model over chairs, nurses and the pharmacy together.

Per appointment: an infusion start inside its window; one optional fixed-size interval per suitable
chair (exactly one chosen, NoOverlap per chair); one optional setup interval and one optional
monitoring interval per nurse on shift (exactly one nurse; setups NoOverlap per nurse, monitoring
Cumulative per nurse with capacity max_patients); one optional preparation interval per suitable
clean room (Cumulative per room with capacity = hoods) that starts after the dose's release and
ends before the infusion starts. The objective is the weighted sum computed by
`metrics.objective_value`. The FCFS schedule is given as a complete hint, and if the solver ends
without anything better, the FCFS schedule itself is returned (status "HINT"), so the optimiser is
never worse than the baseline it is compared with.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.fcfs import greedy_schedule
from openinfusion.scheduling.metrics import nurse_excess, nurse_overtime, objective_value, peak_occupancy
from openinfusion.scheduling.model import Appointment, Assignment, Day, Schedule, chair_fits, room_fits


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

    def build(self) -> _Vars:
        day, m = self.day, self.model
        horizon = max([day.closing, *(a.latest + a.chair_minutes for a in day.appointments)]) + 1
        v = _Vars({}, {}, {}, {}, {}, {}, {}, {}, m.NewIntVar(day.opening, horizon, "makespan"),
                  m.NewIntVar(0, len(day.appointments), "peak"))
        chair_intervals: dict[str, list[cp_model.IntervalVar]] = {c.id: [] for c in day.chairs}
        setups: dict[str, list[cp_model.IntervalVar]] = {n.id: [] for n in day.nurses}
        loads: dict[str, list[cp_model.IntervalVar]] = {n.id: [] for n in day.nurses}
        hoods: dict[str, list[cp_model.IntervalVar]] = {r.id: [] for r in day.rooms}
        infusions: list[cp_model.IntervalVar] = []
        ends: list[cp_model.LinearExprT] = []
        for chair in day.chairs:
            for s, e in chair.unavailable:
                chair_intervals[chair.id].append(m.NewFixedSizeIntervalVar(s, e - s, f"off_{chair.id}_{s}"))
        for n in day.nurses:
            v.overtime[n.id] = m.NewIntVar(0, horizon, f"overtime_{n.id}")
            v.excess[n.id] = m.NewIntVar(0, 0 if day.weights.ratio_hard else len(day.appointments), f"excess_{n.id}")
        for a in day.appointments:
            d = a.chair_minutes
            if a.fixed_start is not None:
                start = m.NewConstant(a.fixed_start)
                lo = hi = a.fixed_start
            else:
                lo, hi = max(a.earliest, a.arrival_time, day.opening), a.latest
                start = m.NewIntVar(lo, max(lo, hi), f"start_{a.id}")
                if hi < lo:
                    m.AddBoolOr([])  # an empty window: the day is infeasible as given
            v.start[a.id] = start
            infusions.append(m.NewFixedSizeIntervalVar(start, d, f"infusion_{a.id}"))
            ends.append(start + d)
            chairs = [c for c in day.chairs if (c.id == a.fixed_chair if a.fixed_chair else chair_fits(c, a))]
            for c in chairs:
                b = m.NewBoolVar(f"chair_{a.id}_{c.id}")
                v.chair[a.id, c.id] = b
                chair_intervals[c.id].append(m.NewOptionalFixedSizeIntervalVar(start, d, b, f"seat_{a.id}_{c.id}"))
            m.AddExactlyOne([v.chair[a.id, c.id] for c in chairs])
            nurses = [
                n for n in day.nurses
                if (n.id == a.fixed_nurse if a.fixed_nurse else n.shift_start <= hi and lo + n.setup_minutes <= n.shift_end)
            ]
            for n in nurses:
                b = m.NewBoolVar(f"nurse_{a.id}_{n.id}")
                v.nurse[a.id, n.id] = b
                setups[n.id].append(m.NewOptionalFixedSizeIntervalVar(start, n.setup_minutes, b, f"setup_{a.id}_{n.id}"))
                loads[n.id].append(m.NewOptionalFixedSizeIntervalVar(start, d, b, f"load_{a.id}_{n.id}"))
                if a.fixed_start is None:
                    m.Add(start >= n.shift_start).OnlyEnforceIf(b)
                    m.Add(start + n.setup_minutes <= n.shift_end).OnlyEnforceIf(b)
                m.Add(v.overtime[n.id] >= start + d - n.shift_end).OnlyEnforceIf(b)
            m.AddExactlyOne([v.nurse[a.id, n.id] for n in nurses])
            if a.has_prep:
                self._prep(a, start, hi, v, hoods)
            old = self.previous.get(a.id)
            if old is not None and not a.started and (day.weights.move or day.weights.chair_change):
                moved = m.NewIntVar(0, horizon, f"move_{a.id}")
                m.AddAbsEquality(moved, start - old.start)
                v.moves[a.id] = moved
        for c in day.chairs:
            m.AddNoOverlap(chair_intervals[c.id])
        for n in day.nurses:
            m.AddNoOverlap(setups[n.id])
            m.AddCumulative(loads[n.id], [1] * len(loads[n.id]), v.excess[n.id] + n.max_patients)
        for r in day.rooms:
            m.AddCumulative(hoods[r.id], [1] * len(hoods[r.id]), r.hoods)
        m.AddCumulative(infusions, [1] * len(infusions), v.peak)
        m.AddMaxEquality(v.makespan, [*ends, day.opening])
        self._objective(v)
        return v

    def _prep(
        self, a: Appointment, start: cp_model.IntVar, hi: int, v: _Vars, hoods: dict[str, list[cp_model.IntervalVar]]
    ) -> None:
        day, m = self.day, self.model
        p = a.prep_minutes
        if a.fixed_prep_start is not None:
            prep = m.NewConstant(a.fixed_prep_start)
            rooms = [r for r in day.rooms if r.id == a.fixed_prep_room]
        else:
            release = a.prep_release
            if a.ready_not_before is not None:
                release = max(release, a.ready_not_before - p)
            prep = m.NewIntVar(release, max(release, hi - p), f"prep_{a.id}")
            rooms = [r for r in day.rooms if room_fits(r, a, day.rooms) and r.hoods > 0]
        v.prep[a.id] = prep
        m.Add(prep + p <= start)
        if a.ready_not_before is not None:
            m.Add(prep + p >= a.ready_not_before)
        for r in rooms:
            b = m.NewBoolVar(f"room_{a.id}_{r.id}")
            v.room[a.id, r.id] = b
            hoods[r.id].append(m.NewOptionalFixedSizeIntervalVar(prep, p, b, f"hood_{a.id}_{r.id}"))
        m.AddExactlyOne([v.room[a.id, r.id] for r in rooms])

    def _objective(self, v: _Vars) -> None:
        day, w = self.day, self.day.weights
        terms: list[cp_model.LinearExprT] = []
        for a in day.appointments:
            terms.append(w.wait * a.priority * (v.start[a.id] - a.arrival_time))
        terms.append(w.day_length * (v.makespan - day.opening))
        terms.extend(w.overtime * x for x in v.overtime.values())
        terms.append(w.peak * v.peak)
        if not w.ratio_hard:
            terms.extend(w.ratio_excess * x for x in v.excess.values())
        for appointment_id, moved in v.moves.items():
            terms.append(w.move * moved)
            old_chair = self.previous[appointment_id].chair
            kept = v.chair.get((appointment_id, old_chair))
            terms.append(w.chair_change * (1 - kept) if kept is not None else w.chair_change)
        self.model.Minimize(sum(terms))

    def hint(self, v: _Vars, schedule: Schedule) -> None:
        day, m = self.day, self.model
        by_id = schedule.by_id()
        for a in day.appointments:
            got = by_id.get(a.id)
            if got is None:
                continue
            if a.fixed_start is None:
                m.AddHint(v.start[a.id], got.start)
            for (aid, cid), b in v.chair.items():
                if aid == a.id:
                    m.AddHint(b, cid == got.chair)
            for (aid, nid), b in v.nurse.items():
                if aid == a.id:
                    m.AddHint(b, nid == got.nurse)
            for (aid, rid), b in v.room.items():
                if aid == a.id:
                    m.AddHint(b, rid == got.prep_room)
            if a.id in v.prep and a.fixed_prep_start is None and got.prep_start is not None:
                m.AddHint(v.prep[a.id], got.prep_start)
            if a.id in v.moves:
                m.AddHint(v.moves[a.id], abs(got.start - self.previous[a.id].start))
        if not schedule.unscheduled:
            ends = [g.start + day.appointment(g.appointment_id).chair_minutes for g in schedule.assignments]
            m.AddHint(v.makespan, max([*ends, day.opening]))
            m.AddHint(v.peak, peak_occupancy(day, schedule))
            for nid, minutes in nurse_overtime(day, schedule).items():
                m.AddHint(v.overtime[nid], minutes)
            if not day.weights.ratio_hard:
                for nid, extra in nurse_excess(day, schedule).items():
                    m.AddHint(v.excess[nid], max(0, extra))


def _extract(day: Day, solver: cp_model.CpSolver, v: _Vars) -> tuple[Assignment, ...]:
    out: list[Assignment] = []
    for a in day.appointments:
        start = solver.Value(v.start[a.id])
        chair = next(cid for (aid, cid), b in v.chair.items() if aid == a.id and solver.BooleanValue(b))
        nurse = next(nid for (aid, nid), b in v.nurse.items() if aid == a.id and solver.BooleanValue(b))
        prep_start: int | None = None
        room: str | None = None
        ready: int | None = None
        if a.id in v.prep:
            prep_start = solver.Value(v.prep[a.id])
            room = next(rid for (aid, rid), b in v.room.items() if aid == a.id and solver.BooleanValue(b))
            ready = prep_start + a.prep_minutes
        out.append(Assignment(a.id, start, chair, nurse, prep_start, room, ready))
    return tuple(out)


def solve_day(
    day: Day,
    options: SolverOptions | None = None,
    previous: Mapping[str, Assignment] | None = None,
    method: str = "cp-sat",
) -> Schedule:
    """Plan the day (or, with `previous`, re-plan it while penalising changes)."""
    options = options or SolverOptions()
    previous = previous or {}
    began = time.perf_counter()
    warm = greedy_schedule(day, previous)
    builder = _Builder(day, previous)
    v = builder.build()
    builder.hint(v, warm)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = options.num_workers
    params.random_seed = options.random_seed
    if options.deterministic_time is not None:
        params.max_deterministic_time = options.deterministic_time
        params.interleave_search = True
    else:
        params.max_time_in_seconds = options.time_limit_seconds
    status = solver.Solve(builder.model)
    seconds = time.perf_counter() - began
    name = _STATUS.get(status, "UNKNOWN")
    warm_ok = not warm.unscheduled and not check_schedule(day, warm)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignments = _extract(day, solver, v)
        found = Schedule(assignments, method, name)
        value = objective_value(day, found, previous)
        bound = solver.BestObjectiveBound()
        if not (warm_ok and warm.objective is not None and warm.objective < value):
            return replace(
                found, objective=value, best_bound=bound, gap=_gap(value, bound), solve_seconds=seconds
            )
    else:
        bound = solver.BestObjectiveBound() if status != cp_model.INFEASIBLE else None
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


def _gap(value: int, bound: float | None) -> float | None:
    if bound is None:
        return None
    return max(0.0, (value - bound) / max(1.0, abs(value)))
