"""The day board's pictures: a Gantt chart by chair, the chair occupancy, the nurses' load and the
compounding queue over the day, as small hand-written SVG (no JavaScript, no library); every text part is escaped."""

from __future__ import annotations

import datetime as dt
import zlib
from html import escape

from django.utils.safestring import SafeString, mark_safe

from openinfusion.chairs.models import Appointment, Chair, ChairOutage, NurseShift
from openinfusion.chairs.services import local_minute

ROW, LABEL, WIDTH = 18, 48, 900
COLOURS = {
    "booked": "#4a7fb5",
    "arrived": "#3c9a5f",
    "in_chair": "#1f5f3a",
    "done": "#1f5f3a",
    "add_on": "#d08a2c",
    "cancelled": "#aaaaaa",
}

# Hour grid lines light, hour labels readable (12 px, dark): the same on every board picture.
HOUR_STYLE = "line.hour{stroke:#d5d5d5}text.hour{font:12px sans-serif;fill:#333}"


def _x(minute: int, opening: int, closing: int) -> float:
    return LABEL + (minute - opening) / max(1, closing - opening) * (WIDTH - LABEL - 8)


def _hours(opening: int, closing: int, height: int) -> str:
    parts = []
    for hour in range(opening // 60 + (1 if opening % 60 else 0), closing // 60 + 1):
        x = _x(hour * 60, opening, closing)
        parts.append(
            f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{height}" class="hour"/>'
            f'<text x="{x:.1f}" y="11" class="hour">{hour:02d}</text>'
        )
    return "".join(parts)


def gantt_svg(
    chairs: list[Chair],
    appointments: list[Appointment],
    date: dt.date,
    opening: int,
    closing: int,
    outages: list[ChairOutage] | None = None,
) -> SafeString:
    """One row per chair in use that day (a visit planned in it or an outage); a rectangle per
    planned appointment, coloured by status with a stripe coloured by regimen; a grey block where
    the chair is out of service; the chairs free all day named on one last line, not drawn."""
    site = chairs[0].site if chairs else None
    used = {a.chair_id for a in appointments if a.planned_start is not None} | {o.chair_id for o in outages or []}
    free = [c for c in chairs if c.pk not in used]
    chairs = [c for c in chairs if c.pk in used]
    height = 18 + ROW * (len(chairs) + (1 if free else 0))
    rows = {c.pk: i for i, c in enumerate(chairs)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" id="gantt" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="Chairs over the day {date:%Y-%m-%d}">',
        "<style>" + HOUR_STYLE + ".chair{font:10px sans-serif}"
        ".appt{stroke:#fff}.appt-label{font:9px sans-serif;fill:#fff}</style>",
        _hours(opening, closing, height),
    ]
    for chair, i in ((c, rows[c.pk]) for c in chairs):
        y = 16 + ROW * i
        parts.append(f'<text x="2" y="{y + 12}" class="chair">{escape(chair.code)}</text>')
    for outage in outages or []:
        if outage.chair_id in rows and site is not None:
            x0 = _x(local_minute(outage.start, date, site), opening, closing)
            x1 = _x(local_minute(outage.end, date, site), opening, closing)
            y = 16 + ROW * rows[outage.chair_id]
            parts.append(
                f'<rect class="outage" data-chair="{outage.chair_id}" x="{x0:.1f}" y="{y}" '
                f'width="{max(1.0, x1 - x0):.1f}" height="{ROW - 3}" fill="#999" fill-opacity="0.6">'
                f"<title>{escape(f'out of service: {outage.reason}')}</title></rect>"
            )
    for a in appointments:
        if a.planned_start is None or a.chair_id not in rows or site is None:
            continue
        start = local_minute(a.planned_start, date, site)
        x0, x1 = _x(start, opening, closing), _x(start + a.duration_minutes, opening, closing)
        y = 16 + ROW * rows[a.chair_id]
        colour = COLOURS["add_on"] if a.add_on and a.status == "booked" else COLOURS.get(a.status, "#888")
        text = f"{a.patient.mrn} {local_hhmm(start)}" if x1 - x0 > 60 else a.patient.mrn[-4:]
        span = f"{local_hhmm(start)}–{local_hhmm(start + a.duration_minutes)}"
        regimen = a.order.drug.display_name if a.order is not None else "no dose yet"
        title = escape(
            f"{a.patient.family_name.upper()} {a.patient.mrn}: {span}, {regimen},"
            f" chair {a.chair.code if a.chair else ''}, {a.nurse.label if a.nurse else ''} ({a.status})"
        )
        parts.append(
            f'<g class="appt-box" data-appointment="{a.pk}" data-mrn="{escape(a.patient.mrn)}" '
            f'data-status="{a.status}">'
            f'<rect class="appt" x="{x0:.1f}" y="{y}" width="{max(1.0, x1 - x0):.1f}" height="{ROW - 3}" '
            f'fill="{colour}"><title>{title}</title></rect>'
            f'<rect class="regimen" x="{x0:.1f}" y="{y + ROW - 6}" width="{max(1.0, x1 - x0):.1f}" height="3" '
            f'fill="{regimen_colour(regimen)}"/>'
            f'<text class="appt-label" x="{x0 + 2:.1f}" y="{y + 11}">{escape(text)}</text></g>'
        )
    if free:
        codes = ", ".join(c.code for c in free)
        parts.append(
            f'<text x="2" y="{16 + ROW * len(chairs) + 12}" class="chair free-chairs">'
            f"{escape(f'Free all day ({len(free)}): {codes}')}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part is escaped or numeric


REGIMEN_PALETTE = ("#8e44ad", "#16a085", "#d35400", "#2c3e50", "#c0392b", "#7f8c8d", "#27ae60", "#f39c12")


def regimen_colour(regimen: str) -> str:
    """A stable colour per regimen (the same drug is the same colour on every board)."""
    return REGIMEN_PALETTE[zlib.crc32(regimen.encode()) % len(REGIMEN_PALETTE)]


def local_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def occupancy_svg(
    appointments: list[Appointment], chairs: int, date: dt.date, opening: int, closing: int
) -> SafeString:
    """Chairs in use at each 5 minutes of the day, as a filled step line under the chair count."""
    height = 90
    starts = []
    for a in appointments:
        if a.planned_start is not None:
            start = local_minute(a.planned_start, date, a.site)
            starts.append((start, start + a.duration_minutes))
    top = max(1, chairs)

    def y(count: int) -> float:
        return height - 4 - count / top * (height - 22)

    points = [f"{_x(opening, opening, closing):.1f},{y(0):.1f}"]
    peak = 0
    for minute in range(opening, closing + 1, 5):
        count = sum(1 for s, e in starts if s <= minute < e)
        peak = max(peak, count)
        points.append(f"{_x(minute, opening, closing):.1f},{y(count):.1f}")
    points.append(f"{_x(closing, opening, closing):.1f},{y(0):.1f}")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="occupancy" id="occupancy" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="Chairs in use over the day, peak {peak} of {chairs}">'
        "<style>" + HOUR_STYLE + ".cap{stroke:#c33;stroke-dasharray:4 3}"
        ".title{font:10px sans-serif}</style>"
        f"{_hours(opening, closing, height)}"
        f'<line class="cap" x1="{LABEL}" x2="{WIDTH - 8}" y1="{y(chairs):.1f}" y2="{y(chairs):.1f}"/>'
        f'<polygon points="{" ".join(points)}" fill="#4a7fb5" fill-opacity="0.5" stroke="#4a7fb5"/>'
        f'<text x="2" y="{height - 6}" class="title">peak {peak}/{chairs}</text></svg>'
    )
    return mark_safe(svg)  # noqa: S308 - numeric only


def _open_svg(css_class: str, height: int, label: str, opening: int, closing: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" id="{css_class}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label="{escape(label)}">',
        "<style>" + HOUR_STYLE + ".name{font:10px sans-serif}"
        ".shift{fill:none;stroke:#999}.setup{stroke:#222}.late{fill:#c0392b}.prep{fill:#3c9a5f}"
        ".due{stroke:#222;stroke-width:2}</style>",
        _hours(opening, closing, height),
    ]


def nurse_load_svg(
    shifts: list[NurseShift], appointments: list[Appointment], date: dt.date, opening: int, closing: int
) -> SafeString:
    """One row per nurse shift: the number of patients the nurse watches in each 5 minutes (darker is
    more, red is over the nurse's maximum), the shift as an outline, and a tick at each setup."""
    height = 18 + ROW * max(1, len(shifts))
    parts = _open_svg("nurse-load", height, f"Nurse load over the day {date:%Y-%m-%d}", opening, closing)
    spans: dict[int, list[tuple[int, int]]] = {s.pk: [] for s in shifts}
    for a in appointments:
        if a.planned_start is not None and a.nurse_id in spans:
            start = local_minute(a.planned_start, date, a.site)
            spans[a.nurse_id].append((start, start + a.duration_minutes))
    step = 5
    for i, shift in enumerate(shifts):
        y = 16 + ROW * i
        parts.append(f'<text x="2" y="{y + 12}" class="name">{escape(shift.label[:8])}</text>')
        x0 = _x(shift.start.hour * 60 + shift.start.minute, opening, closing)
        x1 = _x(shift.end.hour * 60 + shift.end.minute, opening, closing)
        parts.append(f'<rect class="shift" x="{x0:.1f}" y="{y}" width="{x1 - x0:.1f}" height="{ROW - 3}"/>')
        if shift.break_start is not None and shift.break_end is not None:
            xa = _x(shift.break_start.hour * 60 + shift.break_start.minute, opening, closing)
            xb = _x(shift.break_end.hour * 60 + shift.break_end.minute, opening, closing)
            parts.append(
                f'<rect class="break" x="{xa:.1f}" y="{y + ROW - 6}" width="{xb - xa:.1f}" height="3" fill="#e0a800">'
                "<title>break: no one started</title></rect>"
            )
        worst = 0
        for minute in range(opening, closing, step):
            load = sum(1 for s, e in spans[shift.pk] if s <= minute < e)
            worst = max(worst, load)
            if load:
                shade = "#c0392b" if load > shift.max_patients else _blue(load / max(1, shift.max_patients))
                xa, xb = _x(minute, opening, closing), _x(minute + step, opening, closing)
                parts.append(
                    f'<rect x="{xa:.1f}" y="{y + 1}" width="{xb - xa:.1f}" height="{ROW - 5}" fill="{shade}"/>'
                )
        for s, _ in spans[shift.pk]:
            x = _x(s, opening, closing)
            parts.append(f'<line class="setup" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + ROW - 3}"/>')
        parts.append(
            f'<text x="{WIDTH - 6}" y="{y + 12}" class="name" text-anchor="end" data-nurse="{shift.pk}">'
            f"max {worst}/{shift.max_patients}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part is escaped or numeric


def _blue(share: float) -> str:
    """From light (a quarter of the maximum) to dark blue (the maximum)."""
    level = int(200 - 130 * min(1.0, share))
    return f"rgb({level - 40},{level},{255})"


def pharmacy_svg(
    appointments: list[Appointment], prep_minutes: dict[int, int], date: dt.date, opening: int, closing: int
) -> SafeString:
    """The compounding queue over the day: one lane per hood in use in each clean room, a bar per
    planned preparation (green, red when it ends after the chair time) and a tick at the chair time
    it is needed by."""
    items = []
    for a in appointments:
        if a.planned_prep_start is not None and a.planned_start is not None:
            start = local_minute(a.planned_prep_start, date, a.site)
            minutes = prep_minutes.get(a.order_id or 0, 0)
            items.append(
                (
                    a.planned_prep_room or "?",
                    start,
                    start + minutes,
                    local_minute(a.planned_start, date, a.site),
                    a,
                )
            )
    lanes: list[tuple[str, list[int]]] = []  # (room, end of each booked bar) per lane
    placed = []
    for room, start, end, due, a in sorted(items, key=lambda item: (item[0], item[1])):
        lane = next((i for i, (r, ends) in enumerate(lanes) if r == room and ends[-1] <= start), None)
        if lane is None:
            lanes.append((room, [end]))
            lane = len(lanes) - 1
        else:
            lanes[lane][1].append(end)
        placed.append((lane, start, end, due, a))
    height = 18 + ROW * max(1, len(lanes))
    parts = _open_svg("pharmacy", height, f"Compounding queue over the day {date:%Y-%m-%d}", opening, closing)
    for i, (room, _) in enumerate(lanes):
        parts.append(f'<text x="2" y="{16 + ROW * i + 12}" class="name">{escape(room.split("/")[-1][:8])}</text>')
    for lane, start, end, due, a in placed:
        y = 16 + ROW * lane
        xa, xb, xd = _x(start, opening, closing), _x(end, opening, closing), _x(due, opening, closing)
        late = end > due
        title = escape(f"{a.patient.mrn}: {local_hhmm(start)}–{local_hhmm(end)}, chair at {local_hhmm(due)}")
        parts.append(
            f'<g data-appointment="{a.pk}" data-late="{str(late).lower()}">'
            f'<rect class="{"late" if late else "prep"}" x="{xa:.1f}" y="{y + 1}" width="{max(1.0, xb - xa):.1f}" '
            f'height="{ROW - 5}"><title>{title}</title></rect>'
            f'<line class="due" x1="{xd:.1f}" x2="{xd:.1f}" y1="{y}" y2="{y + ROW - 3}"/></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part is escaped or numeric
