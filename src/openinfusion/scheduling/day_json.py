"""A day and its schedule as JSON (schema in docs/scheduling.md). Times are "HH:MM" strings (or
int minutes since midnight); durations are int minutes. Every validation error names the field
path, e.g. `appointments[3].chair_minutes`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

from openinfusion.scheduling.model import Appointment, Assignment, Chair, Day, Nurse, Room, Schedule, Weights

SCHEMA_VERSION = 1
T = TypeVar("T")


class DayJsonError(ValueError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def format_time(minute: int) -> str | int:
    if minute < 0 or minute >= 24 * 60:
        return minute
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _time(value: object, path: str) -> int:
    if isinstance(value, bool):
        raise DayJsonError(path, 'expected a time as "HH:MM" or minutes since midnight')
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _TIME.match(value)
        if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
            return int(match.group(1)) * 60 + int(match.group(2))
    raise DayJsonError(path, f'expected a time as "HH:MM" or minutes since midnight, got {value!r}')


def _int(value: object, path: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DayJsonError(path, f"expected a whole number of minutes, got {value!r}")
    if value < minimum:
        raise DayJsonError(path, f"must be at least {minimum}, got {value}")
    return value


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise DayJsonError(path, f"expected true or false, got {value!r}")
    return value


def _str(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DayJsonError(path, f"expected a non-empty string, got {value!r}")
    return value


def _object(value: object, path: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise DayJsonError(path, "expected an object")
    for key in value:
        if key not in allowed:
            raise DayJsonError(f"{path}.{key}" if path else key, "unknown field")
    for key in sorted(required):
        if key not in value:
            raise DayJsonError(f"{path}.{key}" if path else key, "is required")
    return value


def _list(data: Mapping[str, Any], key: str, parse: Callable[[object, str], T]) -> tuple[T, ...]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise DayJsonError(key, "expected a list")
    return tuple(parse(item, f"{key}[{i}]") for i, item in enumerate(value))


def _chair(value: object, path: str) -> Chair:
    d = _object(value, path, {"id", "kind", "long_ok", "isolation", "unavailable"}, {"id"})
    kind = d.get("kind", "chair")
    if kind not in ("chair", "bed"):
        raise DayJsonError(f"{path}.kind", f'expected "chair" or "bed", got {kind!r}')
    return Chair(
        id=_str(d["id"], f"{path}.id"),
        kind="bed" if kind == "bed" else "chair",
        long_ok=_bool(d.get("long_ok", True), f"{path}.long_ok"),
        isolation=_bool(d.get("isolation", False), f"{path}.isolation"),
        unavailable=_periods(d.get("unavailable", []), f"{path}.unavailable"),
    )


def _periods(periods: object, path: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(periods, list):
        raise DayJsonError(path, "expected a list of [start, end]")
    blocks = []
    for i, p in enumerate(periods):
        where = f"{path}[{i}]"
        if not isinstance(p, list) or len(p) != 2:
            raise DayJsonError(where, "expected [start, end]")
        start, end = _time(p[0], f"{where}[0]"), _time(p[1], f"{where}[1]")
        if end <= start:
            raise DayJsonError(where, "end must be after start")
        blocks.append((start, end))
    return tuple(blocks)


def _nurse(value: object, path: str) -> Nurse:
    keys = {"id", "shift_start", "shift_end", "max_patients", "setup_minutes", "breaks"}
    d = _object(value, path, keys, {"id", "shift_start", "shift_end"})
    nurse = Nurse(
        id=_str(d["id"], f"{path}.id"),
        shift_start=_time(d["shift_start"], f"{path}.shift_start"),
        shift_end=_time(d["shift_end"], f"{path}.shift_end"),
        max_patients=_int(d.get("max_patients", 4), f"{path}.max_patients", 1),
        setup_minutes=_int(d.get("setup_minutes", 15), f"{path}.setup_minutes"),
        breaks=_periods(d.get("breaks", []), f"{path}.breaks"),
    )
    if nurse.shift_end <= nurse.shift_start:
        raise DayJsonError(f"{path}.shift_end", "must be after shift_start")
    return nurse


def _room(value: object, path: str) -> Room:
    d = _object(value, path, {"id", "hazardous", "hoods"}, {"id", "hazardous", "hoods"})
    return Room(
        id=_str(d["id"], f"{path}.id"),
        hazardous=_bool(d["hazardous"], f"{path}.hazardous"),
        hoods=_int(d["hoods"], f"{path}.hoods", 1),
    )


_TIMES = {
    "earliest",
    "latest",
    "arrival",
    "preferred",
    "verified_at",
    "ready_not_before",
    "fixed_start",
    "fixed_prep_start",
}
_MINUTES = {"chair_minutes": 1, "prep_minutes": 0, "lab_turnaround": 0, "priority": 1}
_BOOLS = {"hazardous", "needs_labs", "premix_eligible", "needs_bed", "long", "isolation", "book_arrival"}
_STRS = {"id", "patient", "regimen", "fixed_chair", "fixed_nurse", "fixed_prep_room"}
_REQUIRED = {"id", "patient", "regimen", "chair_minutes", "prep_minutes", "hazardous", "earliest", "latest"}


def _appointment(value: object, path: str) -> Appointment:
    d = _object(value, path, {f.name for f in fields(Appointment)}, _REQUIRED)
    kwargs: dict[str, Any] = {}
    for key, raw in d.items():
        where = f"{path}.{key}"
        if raw is None and key not in _REQUIRED:
            continue
        if key in _TIMES:
            kwargs[key] = _time(raw, where)
        elif key in _MINUTES:
            kwargs[key] = _int(raw, where, _MINUTES[key])
        elif key in _BOOLS:
            kwargs[key] = _bool(raw, where)
        elif key in _STRS:
            kwargs[key] = _str(raw, where)
    appointment = Appointment(**kwargs)
    if appointment.latest < appointment.earliest:
        raise DayJsonError(f"{path}.latest", "must not be before earliest")
    if appointment.preferred is not None and not appointment.earliest <= appointment.preferred <= appointment.latest:
        raise DayJsonError(f"{path}.preferred", "must be inside [earliest, latest]")
    if appointment.book_arrival and appointment.arrival is not None:
        raise DayJsonError(
            f"{path}.arrival", "a request whose arrival the planner books (book_arrival) has no arrival yet"
        )
    return appointment


def _weights(value: object, path: str) -> Weights:
    names = {f.name for f in fields(Weights)}
    d = _object(value, path, names, set())
    kwargs: dict[str, Any] = {}
    for key, raw in d.items():
        kwargs[key] = _bool(raw, f"{path}.{key}") if key == "ratio_hard" else _int(raw, f"{path}.{key}")
    return Weights(**kwargs)


def day_from_dict(data: object) -> Day:
    d = _object(
        data,
        "",
        {"version", "opening", "closing", "chairs", "nurses", "rooms", "appointments", "weights"},
        {"opening", "closing", "chairs", "nurses", "rooms", "appointments"},
    )
    if d.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise DayJsonError("version", f"expected {SCHEMA_VERSION}")
    day = Day(
        opening=_time(d["opening"], "opening"),
        closing=_time(d["closing"], "closing"),
        chairs=_list(d, "chairs", _chair),
        nurses=_list(d, "nurses", _nurse),
        rooms=_list(d, "rooms", _room),
        appointments=_list(d, "appointments", _appointment),
        weights=_weights(d.get("weights", {}), "weights"),
    )
    if day.closing <= day.opening:
        raise DayJsonError("closing", "must be after opening")
    for key, items in (
        ("chairs", day.chairs),
        ("nurses", day.nurses),
        ("rooms", day.rooms),
        ("appointments", day.appointments),
    ):
        seen: set[str] = set()
        for i, item_id in enumerate(getattr(item, "id", "") for item in items):
            if item_id in seen:
                raise DayJsonError(f"{key}[{i}].id", f"duplicate id {item_id!r}")
            seen.add(item_id)
    chair_ids, nurse_ids, room_ids = ({x.id for x in day.chairs}, {x.id for x in day.nurses}, {x.id for x in day.rooms})
    for i, a in enumerate(day.appointments):
        for key, value, known in (
            ("fixed_chair", a.fixed_chair, chair_ids),
            ("fixed_nurse", a.fixed_nurse, nurse_ids),
            ("fixed_prep_room", a.fixed_prep_room, room_ids),
        ):
            if value is not None and value not in known:
                raise DayJsonError(f"appointments[{i}].{key}", f"no such id {value!r}")
        if a.fixed_start is not None and (a.fixed_chair is None or a.fixed_nurse is None):
            raise DayJsonError(f"appointments[{i}].fixed_start", "a started infusion needs fixed_chair and fixed_nurse")
    return day


def _plain(obj: object, times: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if f.name in times and isinstance(value, int) and not isinstance(value, bool):
            value = format_time(value)
        out[f.name] = value
    return out


def day_to_dict(day: Day) -> dict[str, Any]:
    chairs = []
    for c in day.chairs:
        chair = _plain(c, set())
        chair["unavailable"] = [[format_time(s), format_time(e)] for s, e in c.unavailable]
        chairs.append(chair)
    return {
        "version": SCHEMA_VERSION,
        "opening": format_time(day.opening),
        "closing": format_time(day.closing),
        "chairs": chairs,
        "nurses": [
            {
                **_plain(n, {"shift_start", "shift_end"}),
                "breaks": [[format_time(s), format_time(e)] for s, e in n.breaks],
            }
            for n in day.nurses
        ],
        "rooms": [_plain(r, set()) for r in day.rooms],
        "appointments": [{k: v for k, v in _plain(a, _TIMES).items() if v is not None} for a in day.appointments],
        "weights": _plain(day.weights, set()),
    }


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    return {
        "method": schedule.method,
        "status": schedule.status,
        "objective": schedule.objective,
        "best_bound": schedule.best_bound,
        "gap": schedule.gap,
        "solve_seconds": round(schedule.solve_seconds, 3),
        "unscheduled": list(schedule.unscheduled),
        "assignments": [_plain(a, {"start", "prep_start", "ready_at", "arrival"}) for a in schedule.assignments],
    }


def schedule_from_dict(data: object) -> Schedule:
    keys = {"method", "status", "objective", "best_bound", "gap", "solve_seconds", "unscheduled", "assignments"}
    d = _object(data, "", keys, {"assignments"})
    rows = d["assignments"]
    if not isinstance(rows, list):
        raise DayJsonError("assignments", "expected a list")
    out = []
    for i, row in enumerate(rows):
        path = f"assignments[{i}]"
        r = _object(row, path, {f.name for f in fields(Assignment)}, {"appointment_id", "start", "chair", "nurse"})

        def optional_time(key: str, r: Mapping[str, Any] = r, path: str = path) -> int | None:
            return None if r.get(key) is None else _time(r[key], f"{path}.{key}")

        out.append(
            Assignment(
                appointment_id=_str(r["appointment_id"], f"{path}.appointment_id"),
                start=_time(r["start"], f"{path}.start"),
                chair=_str(r["chair"], f"{path}.chair"),
                nurse=_str(r["nurse"], f"{path}.nurse"),
                prep_start=optional_time("prep_start"),
                prep_room=None if r.get("prep_room") is None else _str(r["prep_room"], f"{path}.prep_room"),
                ready_at=optional_time("ready_at"),
                arrival=optional_time("arrival"),
            )
        )
    return Schedule(
        assignments=tuple(out),
        method=str(d.get("method", "")),
        status=str(d.get("status", "")),
        objective=d.get("objective"),
        best_bound=d.get("best_bound"),
        gap=d.get("gap"),
        solve_seconds=float(d.get("solve_seconds", 0.0)),
        unscheduled=tuple(d.get("unscheduled", [])),
    )
