"""Small server-side SVG line charts (lab trends) with a hold line; no JavaScript, no library.

A trend of a few points over weeks needs an axis, the points and the hold threshold; that is a
few lines of SVG, so it is drawn here rather than pulling in a plotting stack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 320, 120, 28


def trend_svg(
    title: str, points: Sequence[tuple[dt.datetime, Decimal]], unit: str, hold_below: Decimal | None = None
) -> SafeString:
    """A line of ``points`` (oldest first) with a dashed red line at ``hold_below`` if given."""
    label = escape(f"{title} trend ({unit})")
    if not points:
        return mark_safe(f'<p class="muted">{escape(title)}: no results yet.</p>')  # noqa: S308 - escaped above
    values = [float(v) for _, v in points] + ([float(hold_below)] if hold_below is not None else [])
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    first, last = points[0][0].timestamp(), points[-1][0].timestamp()
    width = (last - first) or 1.0

    def x(moment: dt.datetime) -> float:
        return PAD + (moment.timestamp() - first) / width * (WIDTH - 2 * PAD) if len(points) > 1 else WIDTH / 2

    def y(value: float) -> float:
        return HEIGHT - PAD + 8 - (value - low) / span * (HEIGHT - 2 * PAD)

    line = " ".join(f"{x(m):.1f},{y(float(v)):.1f}" for m, v in points)
    dots = "".join(
        f'<circle cx="{x(m):.1f}" cy="{y(float(v)):.1f}" r="3"><title>{m:%Y-%m-%d}: {v.normalize():f} '
        f"{escape(unit)}</title></circle>"
        for m, v in points
    )
    hold = ""
    if hold_below is not None:
        hy = y(float(hold_below))
        hold = (
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{hy:.1f}" y2="{hy:.1f}" class="hold"/>'
            f'<text x="{WIDTH - PAD}" y="{hy - 3:.1f}" class="hold" text-anchor="end">hold &lt; '
            f"{hold_below.normalize():f}</text>"
        )
    latest = points[-1][1]
    svg = (
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
        f'<text x="{PAD}" y="14" class="title">{escape(title)} — latest {latest.normalize():f} {escape(unit)}</text>'
        f'<text x="4" y="{y(high) + 4:.1f}" class="axis">{high:g}</text>'
        f'<text x="4" y="{y(low) + 4:.1f}" class="axis">{low:g}</text>'
        f'{hold}<polyline points="{line}"/>{dots}</svg>'
    )
    return mark_safe(svg)  # noqa: S308 - every text part is escaped or numeric
