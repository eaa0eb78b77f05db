"""When a date or time typed for a chart or an order can be true.

Each field has a window around now: how far back and how far ahead a real value can lie. A value
outside it is a slip of the year or the day (1999 or 2016 for 2026, a lab "taken" tomorrow, a
birth date after today), refused with the window's limit so the person sees what was expected.
A time must carry its zone: without one, it names no instant (read as UTC, it is 4–5 hours off
for a New York site).

Pure: ``now`` and the site's zone are passed in, so a rule never reads the clock. Called by the
chart's services and by the orders services (a plan's start date, an order's planned start).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from openinfusion.errors import InvalidInput

# Clocks of a workstation, a scale or a lab analyser that sends results differ from the server's
# by a minute or two; a time taken "3 minutes from now" is that, not the future.
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class DateWindow:
    """How far back and ahead of now a field's value can plausibly lie, and how to name both."""

    what: str  # the field as the message names it: "The time taken", "The birth date"
    back: dt.timedelta
    back_words: str  # "2 years", for "more than 2 years ago"
    ahead: dt.timedelta = dt.timedelta(0)
    ahead_words: str = ""  # "6 months", for "more than 6 months ahead"; empty: not after now


TWO_YEARS = dt.timedelta(days=731)

# A measurement or a lab is entered when it is taken, or from a recent paper record: a value more
# than two years old does not describe the patient being treated (and a year typed wrong, 2024 for
# 2026, lands outside). Older history is imported, not typed into a chart. Not in the future.
MEASUREMENT_TAKEN = DateWindow("The time measured", back=TWO_YEARS, back_words="2 years", ahead=CLOCK_SKEW)
LAB_TAKEN = DateWindow("The time the sample was taken", back=TWO_YEARS, back_words="2 years", ahead=CLOCK_SKEW)

# Not after today; not more than 120 years ago (the oldest person verified lived to 122).
BIRTH_DATE = DateWindow("The birth date", back=dt.timedelta(days=43_830), back_words="120 years")

# A treatment plan is started for cycle 1 soon (a patient already in cycle 2 or 3 of a q3w regimen
# elsewhere: weeks back), and no infusion regimen is planned to begin more than six months ahead.
PLAN_START = DateWindow(
    "The plan's start date",
    back=dt.timedelta(days=92),
    back_words="3 months",
    ahead=dt.timedelta(days=183),
    ahead_words="6 months",
)

# An order is planned within a year either way: back for doses given and documented afterwards (a
# cumulative-dose history), ahead for the last cycles of a year-long plan.
ORDER_PLANNED_START = DateWindow(
    "The planned start",
    back=dt.timedelta(days=366),
    back_words="a year",
    ahead=dt.timedelta(days=366),
    ahead_words="a year",
)


def refuse_naive(moment: dt.datetime, what: str, zone: ZoneInfo) -> None:
    """Refuse a time without a UTC offset, giving the same wall time with the site's offset."""
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        return
    example = moment.replace(tzinfo=zone).isoformat(timespec="minutes")
    raise InvalidInput(
        f"{what} {moment:%Y-%m-%dT%H:%M} has no UTC offset, so it could be read on the wrong clock. "
        f"Give the time with its offset, e.g. {example} for {moment:%H:%M} on the site's clock ({zone.key}). "
        "Nothing was saved.",
        code="TIME_WITHOUT_ZONE",
        details={"example": example},
    )


def refuse_implausible(value: dt.date | dt.datetime, window: DateWindow, *, now: dt.datetime, zone: ZoneInfo) -> None:
    """Refuse a date or time outside ``window`` around ``now``: a time as an instant (it must carry
    its zone), a date on the site's calendar."""
    if isinstance(value, dt.datetime):
        refuse_naive(value, window.what, zone)
        earliest, latest = now - window.back, now + window.ahead
        _refuse_outside(
            window,
            too_early=value < earliest,
            too_late=value > latest,
            shown=(_on_clock(value, zone), _on_clock(earliest, zone), _on_clock(latest, zone)),
            now_text=_on_clock(now, zone),
            future_code="FUTURE_TIME",
        )
    else:
        first, last = ((now + shift).astimezone(zone).date() for shift in (-window.back, window.ahead))
        _refuse_outside(
            window,
            too_early=value < first,
            too_late=value > last,
            shown=(f"{value:%Y-%m-%d}", f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"),
            now_text=f"{now.astimezone(zone):%Y-%m-%d}",
            future_code="FUTURE_DATE",
        )


def _refuse_outside(
    window: DateWindow, *, too_early: bool, too_late: bool, shown: tuple[str, str, str], now_text: str, future_code: str
) -> None:
    value, earliest, latest = shown
    if too_early:
        raise InvalidInput(
            f"{window.what}, {value}, is more than {window.back_words} ago (the earliest accepted is {earliest}). "
            "Check the year. Nothing was saved.",
            code="TOO_FAR_BACK",
            details={"earliest": earliest},
        )
    if too_late:
        where = (
            f"more than {window.ahead_words} ahead (the latest accepted is {latest})"
            if window.ahead_words
            else f"in the future (it is {now_text} at the site)"
        )
        raise InvalidInput(
            f"{window.what}, {value}, is {where}. Check the date. Nothing was saved.",
            code=future_code,
            details={"latest": latest},
        )


def _on_clock(moment: dt.datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z}"
