"""The suite's one clock.

Every test runs on a controlled clock (time-machine), never the machine's: it starts at ``DEFAULT_START``
and runs on from there, so a test passes at any hour of any day. ``OPENINFUSION_TEST_NOW`` moves
the start (an ISO instant with its zone); CI runs the site-calendar tests again at the instants in
``HARD_INSTANTS``, where such bugs have been caught. Browser journeys start the server on the same
clock (``tests/e2e/serve_at.py``).

A site's date is the date on the site's own calendar — ``site_today(site)`` — never the server's
UTC date (the suite's own zone setting is UTC, not any site's).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

# A Tuesday, 10:30 in New York (the test sites' zone): an ordinary working morning.
DEFAULT_START = "2026-06-09T14:30:00+00:00"

# Instants that catch site-calendar bugs for a site in America/New_York (the test sites' zone).
HARD_INSTANTS = {
    "after-utc-midnight": "2026-12-08T00:05:00+00:00",  # 19:05 the day before in New York
    "before-site-midnight": "2026-12-08T04:50:00+00:00",  # 23:50 in New York
    "spring-forward": "2026-03-08T07:30:00+00:00",  # 03:30 EDT, just after 02:00 EST was skipped
    "fall-back": "2026-11-01T06:30:00+00:00",  # 01:30 EST, the second 01:30 of the night
    "leap-day": "2028-02-29T15:00:00+00:00",
}


def start() -> dt.datetime:
    text = os.environ.get("OPENINFUSION_TEST_NOW") or DEFAULT_START
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"OPENINFUSION_TEST_NOW needs a zone (e.g. {DEFAULT_START}), got {text!r}")
    return moment


def site_today(where: Any) -> dt.date:
    """Today on the site's calendar, by the suite's clock: ``where`` is a site, anything kept at
    a site (a location, a room) or the zone's name."""
    if isinstance(where, str):
        return timezone.now().astimezone(ZoneInfo(where)).date()
    zone = where.zone if hasattr(where, "zone") else where.site.zone
    return timezone.now().astimezone(zone).date()
