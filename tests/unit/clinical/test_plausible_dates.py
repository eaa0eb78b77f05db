"""The plausible-date windows (clinical/plausible_dates.py), table-tested: a time needs its zone,
a date is judged on the site's calendar, each field has its own window. Pure: ``now`` is given."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from openinfusion.clinical.plausible_dates import (
    BIRTH_DATE,
    LAB_TAKEN,
    MEASUREMENT_TAKEN,
    ORDER_PLANNED_START,
    PLAN_START,
    refuse_implausible,
    refuse_naive,
)
from openinfusion.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 6, 10, 0, 30, tzinfo=dt.UTC)  # 20:30 on 9 June in New York
MINUTE, DAY = dt.timedelta(minutes=1), dt.timedelta(days=1)


def code_of(value, window) -> str | None:
    try:
        refuse_implausible(value, window, now=NOW, zone=NEW_YORK)
    except InvalidInput as error:
        return error.code
    return None


@pytest.mark.parametrize(
    ("window", "value", "code"),
    [
        (MEASUREMENT_TAKEN, NOW, None),
        (MEASUREMENT_TAKEN, NOW + 4 * MINUTE, None),  # clock difference between machines
        (MEASUREMENT_TAKEN, NOW + 6 * MINUTE, "FUTURE_TIME"),
        (MEASUREMENT_TAKEN, NOW - 730 * DAY, None),
        (MEASUREMENT_TAKEN, NOW - 732 * DAY, "TOO_FAR_BACK"),
        (LAB_TAKEN, dt.datetime(1999, 6, 9, 13, 30, tzinfo=dt.UTC), "TOO_FAR_BACK"),
        (LAB_TAKEN, NOW + DAY, "FUTURE_TIME"),
        (BIRTH_DATE, dt.date(2026, 6, 9), None),  # today at the site
        (BIRTH_DATE, dt.date(2026, 6, 10), "FUTURE_DATE"),  # already today in UTC, tomorrow at the site
        (BIRTH_DATE, dt.date(1907, 1, 1), None),
        (BIRTH_DATE, dt.date(1906, 1, 1), "TOO_FAR_BACK"),
        (BIRTH_DATE, dt.date(1899, 12, 31), "TOO_FAR_BACK"),
        (PLAN_START, dt.date(1999, 6, 9), "TOO_FAR_BACK"),
        (PLAN_START, dt.date(2026, 5, 1), None),
        (PLAN_START, dt.date(2026, 12, 1), None),
        (PLAN_START, dt.date(2027, 6, 9), "FUTURE_DATE"),
        (ORDER_PLANNED_START, dt.datetime(1999, 6, 9, 14, 0, tzinfo=dt.UTC), "TOO_FAR_BACK"),
        (ORDER_PLANNED_START, NOW - 30 * DAY, None),  # a dose given a month ago, documented now
        (ORDER_PLANNED_START, NOW + 300 * DAY, None),
        (ORDER_PLANNED_START, NOW + 400 * DAY, "FUTURE_TIME"),
    ],
)
def test_each_field_refuses_what_lies_outside_its_window(window, value, code):
    assert code_of(value, window) == code


def test_the_refusal_names_the_field_the_value_and_the_limit_on_the_sites_clock():
    with pytest.raises(InvalidInput) as caught:
        refuse_implausible(dt.date(1999, 6, 9), PLAN_START, now=NOW, zone=NEW_YORK)
    assert caught.value.message == (
        "The plan's start date, 1999-06-09, is more than 3 months ago (the earliest accepted is 2026-03-09). "
        "Check the year. Nothing was saved."
    )
    with pytest.raises(InvalidInput) as caught:
        refuse_implausible(NOW + DAY, LAB_TAKEN, now=NOW, zone=NEW_YORK)
    assert caught.value.message == (
        "The time the sample was taken, 2026-06-10 20:30 EDT, is in the future (it is 2026-06-09 20:30 EDT "
        "at the site). Check the date. Nothing was saved."
    )


@pytest.mark.parametrize(
    ("naive", "example"),
    [
        (dt.datetime(2026, 12, 7, 10, 30), "2026-12-07T10:30-05:00"),  # EST
        (dt.datetime(2026, 6, 9, 10, 30), "2026-06-09T10:30-04:00"),  # EDT
    ],
)
def test_a_time_without_its_zone_is_refused_with_the_sites_offset_as_the_example(naive, example):
    with pytest.raises(InvalidInput) as caught:
        refuse_naive(naive, "The time taken", NEW_YORK)
    assert caught.value.code == "TIME_WITHOUT_ZONE"
    assert example in caught.value.message and caught.value.details["example"] == example
    with pytest.raises(InvalidInput, match="no UTC offset"):
        refuse_implausible(naive, MEASUREMENT_TAKEN, now=NOW, zone=NEW_YORK)


def test_a_time_with_any_offset_is_the_instant_it_names():
    refuse_naive(dt.datetime(2026, 6, 9, 14, 30, tzinfo=dt.UTC), "The time taken", NEW_YORK)
    refuse_naive(dt.datetime(2026, 6, 9, 10, 30, tzinfo=NEW_YORK), "The time taken", NEW_YORK)
