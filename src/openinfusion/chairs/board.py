"""The day board's pictures: a Gantt chart by chair and the chair occupancy over the day, as small
hand-written SVG (no JavaScript, no library); every text part is escaped."""

from __future__ import annotations

import datetime as dt
from html import escape

from django.utils.safestring import SafeString, mark_safe

from openinfusion.chairs.models import Appointment, Chair
from openinfusion.chairs.services import local_minute

ROW, LABEL, WIDTH = 18, 48, 900
COLOURS = {"booked": "#4a7fb5", "arrived": "#3c9a5f", "add_on": "#d08a2c", "cancelled": "#aaaaaa"}


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
    chairs: list[Chair], appointments: list[Appointment], date: dt.date, opening: int, closing: int
) -> SafeString:
    """One row per chair; a rectangle per planned appointment, coloured by status."""
    site = chairs[0].site if chairs else None
    height = 18 + ROW * max(1, len(chairs))
    rows = {c.pk: i for i, c in enumerate(chairs)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" id="gantt" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="Chairs over the day {date:%Y-%m-%d}">',
        "<style>.hour{stroke:#ddd;font:9px sans-serif;fill:#666}.chair{font:10px sans-serif}"
        ".appt{stroke:#fff}.appt-label{font:9px sans-serif;fill:#fff}</style>",
        _hours(opening, closing, height),
    ]
    for chair, i in ((c, rows[c.pk]) for c in chairs):
        y = 16 + ROW * i
        parts.append(f'<text x="2" y="{y + 12}" class="chair">{escape(chair.code)}</text>')
    for a in appointments:
        if a.planned_start is None or a.chair_id not in rows or site is None:
            continue
        start = local_minute(a.planned_start, date, site)
        x0, x1 = _x(start, opening, closing), _x(start + a.duration_minutes, opening, closing)
        y = 16 + ROW * rows[a.chair_id]
        colour = COLOURS["add_on"] if a.add_on and a.status == "booked" else COLOURS.get(a.status, "#888")
        text = f"{a.patient.mrn} {local_hhmm(start)}" if x1 - x0 > 60 else a.patient.mrn[-4:]
        span = f"{local_hhmm(start)}–{local_hhmm(start + a.duration_minutes)}"
        title = escape(
            f"{a.patient.family_name.upper()} {a.patient.mrn}: {span}"
            f" chair {a.chair.code if a.chair else ''}, {a.nurse.label if a.nurse else ''} ({a.status})"
        )
        parts.append(
            f'<g class="appt-box" data-appointment="{a.pk}" data-mrn="{escape(a.patient.mrn)}" '
            f'data-status="{a.status}">'
            f'<rect class="appt" x="{x0:.1f}" y="{y}" width="{max(1.0, x1 - x0):.1f}" height="{ROW - 3}" '
            f'fill="{colour}"><title>{title}</title></rect>'
            f'<text class="appt-label" x="{x0 + 2:.1f}" y="{y + 11}">{escape(text)}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part is escaped or numeric


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
        "<style>.hour{stroke:#ddd;font:9px sans-serif;fill:#666}.cap{stroke:#c33;stroke-dasharray:4 3}"
        ".title{font:10px sans-serif}</style>"
        f"{_hours(opening, closing, height)}"
        f'<line class="cap" x1="{LABEL}" x2="{WIDTH - 8}" y1="{y(chairs):.1f}" y2="{y(chairs):.1f}"/>'
        f'<polygon points="{" ".join(points)}" fill="#4a7fb5" fill-opacity="0.5" stroke="#4a7fb5"/>'
        f'<text x="2" y="{height - 6}" class="title">peak {peak}/{chairs}</text></svg>'
    )
    return mark_safe(svg)  # noqa: S308 - numeric only
