"""``openinfusion schedule``: generate a synthetic infusion-centre day as JSON, or solve a day given
as JSON (schema in docs/scheduling.md) and print the assignment, its metrics and the FCFS baseline.

Neither needs the database. The solver (OR-Tools) is imported only when a day is solved, so the
rest of the CLI starts without it. ``register_bench`` adds ``openinfusion bench schedule``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from openinfusion.commands import emit, fail
from openinfusion.errors import DomainError, InvalidInput

SIZES = ("S", "M", "L", "XL")


class InfeasibleSchedule(DomainError):
    status = 500
    code = "INFEASIBLE_SCHEDULE"


class NoSchedule(DomainError):
    status = 422
    code = "NO_SCHEDULE"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    schedule = subparsers.add_parser("schedule", help="plan an infusion-centre day (chairs, nurses, pharmacy)")
    tasks = schedule.add_subparsers(dest="schedule_command", required=True, metavar="TASK")

    generate = tasks.add_parser("generate", help="write a realistic synthetic day as JSON (seeded, reproducible)")
    generate.add_argument("--size", choices=SIZES, default="M", help="S 30 chairs/70, M 60/150, L 100/250, XL 150/400")
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    generate.set_defaults(handler=run_generate)

    solve = tasks.add_parser("solve", help="solve a day given as JSON; print the assignment and the metrics")
    solve.add_argument("--input", required=True, metavar="FILE", help="the day as JSON ('-' for standard input)")
    solve.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS", help="default 10")
    solve.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
    solve.add_argument("--json", action="store_true")
    solve.set_defaults(handler=run_solve)


def register_bench(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``openinfusion bench schedule``: FCFS vs the optimiser per size, with a stochastic replay."""
    bench = kinds.add_parser(
        "schedule", help="day plans: FCFS vs CP-SAT per size, stochastic replay, re-planning latency"
    )
    bench.add_argument(
        "--size",
        action="append",
        metavar="S|M|L|XL",
        help="a size, or several (repeat the option or give S,M); default M",
    )
    bench.add_argument("--seeds", type=int, default=10, metavar="N", help="days per size, seeds 1..N (default 10)")
    bench.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS", help="per solve (default 10)")
    bench.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
    bench.add_argument(
        "--replays", type=int, default=50, metavar="N", help="simulated days per schedule in the replay (default 50)"
    )
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=run_bench)


# --- generate -----------------------------------------------------------------------------------


def run_generate(args: argparse.Namespace) -> int:
    from openinfusion.scheduling.day_json import day_to_dict
    from openinfusion.scheduling.generator import generate_day

    day = generate_day(args.size, args.seed)
    text = json.dumps(day_to_dict(day), indent=1) + "\n"
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        return fail(InvalidInput(f"output: cannot write {args.output}: {error.strerror}", code="OUTPUT"), as_json=False)
    print(
        f"Wrote {args.output}: size {args.size}, seed {args.seed}: {len(day.chairs)} chairs, "
        f"{len(day.nurses)} nurses, {sum(r.hoods for r in day.rooms)} hoods, {len(day.appointments)} appointments."
    )
    return 0


# --- solve --------------------------------------------------------------------------------------


def _read_day(source: str) -> Any:
    """The parsed JSON of the input file; refusals name the field (``input``, or a path in the day)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(
            f"input: cannot read {source}: {error.strerror}", code="INPUT_NOT_READABLE", details={"field": "input"}
        ) from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"input: not JSON ({error.msg} at line {error.lineno}, column {error.colno})",
            code="INVALID_JSON",
            details={"field": "input"},
        ) from error


def _hhmm(minute: int | None) -> str:
    if minute is None:
        return "-"
    sign, minute = ("-" if minute < 0 else ""), abs(minute)
    return f"{sign}{minute // 60:02d}:{minute % 60:02d}"


def metrics_dict(metrics: Any) -> dict[str, Any]:
    """A `DayMetrics` as JSON-ready numbers (rounded)."""
    return {
        "appointments": metrics.appointments,
        "scheduled": metrics.scheduled,
        "mean_wait_minutes": round(metrics.mean_wait, 1),
        "p90_wait_minutes": metrics.p90_wait,
        "day_length_minutes": metrics.day_length,
        "last_chair_free": _hhmm(metrics.last_chair_free),
        "chair_utilisation": round(metrics.chair_utilisation, 3),
        "peak_occupancy": metrics.peak_occupancy,
        "nurse_ratio_violations": metrics.ratio_violations,
        "overtime_minutes": metrics.overtime_minutes,
        "doses_ready_before_chair": round(metrics.ready_before_chair, 3),
        "objective": metrics.objective,
        "status": metrics.status,
        "solve_seconds": round(metrics.solve_seconds, 3),
        "gap": None if metrics.gap is None else round(metrics.gap, 4),
    }


def run_solve(args: argparse.Namespace) -> int:
    from openinfusion.scheduling.checker import check_schedule
    from openinfusion.scheduling.day_json import DayJsonError, day_from_dict, schedule_to_dict
    from openinfusion.scheduling.fcfs import fcfs_schedule
    from openinfusion.scheduling.metrics import day_metrics
    from openinfusion.scheduling.solver import SolverOptions, solve_day

    try:
        if args.time_limit <= 0:
            raise InvalidInput("time-limit: must be more than 0 seconds", details={"field": "time-limit"})
        if args.workers < 1:
            raise InvalidInput("workers: must be at least 1", details={"field": "workers"})
        data = _read_day(args.input)
        try:
            day = day_from_dict(data)
        except DayJsonError as error:
            raise InvalidInput(
                str(error), code="INVALID_DAY", details={"field": error.path or "(top level)"}
            ) from error
        if not day.appointments:
            raise InvalidInput("appointments: no appointments to schedule", details={"field": "appointments"})
        baseline = fcfs_schedule(day)
        schedule = solve_day(day, SolverOptions(time_limit_seconds=args.time_limit, num_workers=args.workers))
        if not schedule.assignments:
            raise NoSchedule(
                f"The solver found no schedule in {args.time_limit:g} s (status {schedule.status}) and the FCFS "
                f"baseline could not place {len(baseline.unscheduled)} appointment(s): "
                f"{', '.join(baseline.unscheduled[:10]) or 'none'}. Check nurse shifts, chairs and windows, "
                "or give more time.",
                details={"status": schedule.status, "fcfs_unscheduled": list(baseline.unscheduled)},
            )
    except DomainError as error:
        return fail(error, as_json=args.json)

    violations = check_schedule(day, schedule)
    baseline_violations = check_schedule(day, baseline)
    report: dict[str, Any] = {
        "schedule": schedule_to_dict(schedule),
        "metrics": metrics_dict(day_metrics(day, schedule)),
        "feasible": not violations,
        "violations": [
            {"kind": v.kind, "message": v.message, "appointments": list(v.appointments)} for v in violations
        ],
        "baseline": {
            "method": "fcfs",
            "metrics": metrics_dict(day_metrics(day, baseline)),
            "unscheduled": list(baseline.unscheduled),
            "violations": len(baseline_violations),
        },
    }
    if violations:
        broken = InfeasibleSchedule(
            f"The returned schedule breaks {len(violations)} rule(s) of the day (independent checker): "
            + "; ".join(v.message for v in violations[:5]),
            details={"violations": report["violations"]},
        )
        if args.json:
            return fail(broken, as_json=True, exit_code=1)
        print(_solve_text(day, report, schedule), file=sys.stdout)
        return fail(broken, as_json=False, exit_code=1)
    return emit(report, as_json=args.json, text=_solve_text(day, report, schedule))


def _solve_text(day: Any, report: dict[str, Any], schedule: Any) -> str:
    appointments = {a.id: a for a in day.appointments}
    lines = [
        f"{'appointment':<11} {'patient':<8} {'regimen':<23} {'arrives':>7} {'start':>6} {'end':>6} "
        f"{'wait':>5} {'chair':<6} {'nurse':<6} {'prep':>6} {'room':<4} {'ready':>6}"
    ]
    for s in sorted(schedule.assignments, key=lambda s: (s.start, s.appointment_id)):
        a = appointments[s.appointment_id]
        lines.append(
            f"{a.id:<11} {a.patient:<8} {a.regimen[:23]:<23} {_hhmm(a.arrival_time):>7} {_hhmm(s.start):>6} "
            f"{_hhmm(s.start + a.chair_minutes):>6} {s.start - a.arrival_time:>5} {s.chair:<6} {s.nurse:<6} "
            f"{_hhmm(s.prep_start):>6} {s.prep_room or '-':<4} {_hhmm(s.ready_at):>6}"
        )
    m, b = report["metrics"], report["baseline"]["metrics"]
    gap = "" if m["gap"] is None else f", proven gap {m['gap']:.1%}"
    lines += [
        "",
        f"{schedule.method} {m['status']} in {m['solve_seconds']:.2f} s{gap}; objective {m['objective']} "
        f"(FCFS {b['objective']}).",
        f"{'':<28}{'plan':>10}{'FCFS':>10}",
    ]
    for label, key, fmt in _ROWS:
        lines.append(f"{label:<28}{fmt.format(m[key]):>10}{fmt.format(b[key]):>10}")
    lines.append(
        "Feasibility (independent checker): "
        + ("OK, 0 violations." if report["feasible"] else f"!! {len(report['violations'])} VIOLATIONS")
    )
    return "\n".join(lines)


_ROWS = (
    ("scheduled", "scheduled", "{}"),
    ("mean wait (min)", "mean_wait_minutes", "{:.1f}"),
    ("p90 wait (min)", "p90_wait_minutes", "{:.0f}"),
    ("day length (min)", "day_length_minutes", "{}"),
    ("last chair free", "last_chair_free", "{}"),
    ("chair utilisation", "chair_utilisation", "{:.1%}"),
    ("peak occupancy", "peak_occupancy", "{}"),
    ("nurse-ratio violations", "nurse_ratio_violations", "{}"),
    ("overtime (min)", "overtime_minutes", "{}"),
    ("doses ready before chair", "doses_ready_before_chair", "{:.0%}"),
)


# --- bench --------------------------------------------------------------------------------------


def _bench_sizes(values: list[str] | None) -> list[str]:
    sizes: list[str] = []
    for value in values or ["M"]:
        for part in value.split(","):
            size = part.strip().upper()
            if size not in SIZES:
                raise InvalidInput(f"size: must be one of {', '.join(SIZES)}, not {part!r}", details={"field": "size"})
            if size not in sizes:
                sizes.append(size)
    return sizes


def run_bench(args: argparse.Namespace) -> int:
    try:
        sizes = _bench_sizes(args.size)
        for field, value, minimum in (
            ("seeds", args.seeds, 1),
            ("workers", args.workers, 1),
            ("replays", args.replays, 0),
        ):
            if value < minimum:
                raise InvalidInput(f"{field}: must be at least {minimum}, got {value}", details={"field": field})
        if args.time_limit <= 0:
            raise InvalidInput("time-limit: must be more than 0 seconds", details={"field": "time-limit"})
    except DomainError as error:
        return fail(error, as_json=args.json)

    from openinfusion.bench import schedule as bench

    report = bench.run(
        sizes,
        seeds=args.seeds,
        time_limit=args.time_limit,
        workers=args.workers,
        replays=args.replays,
        progress=None if args.json else lambda line: print(line, file=sys.stderr),
    )
    emit(report, as_json=args.json, text=bench.as_text(report))
    if report["violations"]:
        print(
            f"!! FEASIBILITY VIOLATIONS: {report['violations']} schedule(s) broke a rule of the day (see above).",
            file=sys.stderr,
        )
        return 1
    return 0
