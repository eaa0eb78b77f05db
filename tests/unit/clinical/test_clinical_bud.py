"""Beyond-use dates under USP <797> (2022 revision, official 1 Nov 2023).

Category 1: 12 h room temperature, 24 h refrigerated (Wolters Kluwer,
https://www.wolterskluwer.com/it-it/expert-insights/usp-797-translating-low-medium-and-high-risk-compounding-into-categories).
Category 2 (Table 13) and Category 3 (Table 14) limits as tabulated in the project's reference file
(brainscape flashcards, arlok.com; some rows marked [UNVERIFIED] there: check against the chapter).
Immediate use 4 h (https://503pharma.com/post/usp-797-immediate-use-rules-explained); multiple-dose
container 28 days (https://usp797tips.wordpress.com/2009/10/30/usp-797-faq-dating-multi-dose-vials/).
BUD = min(compounding + limit, stability, earliest component expiry) (reference file section 6).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.bud import (
    Container,
    CspCategory,
    Process,
    StartingComponents,
    Storage,
    beyond_use_date,
    duration,
    end_of_expiry_date,
    in_hours,
    in_use_limit,
    local_instant,
    usp797_limit,
)
from openinfusion.clinical.units import parse_quantity
from openinfusion.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")
ROOM, FRIDGE, FREEZER = Storage.ROOM, Storage.REFRIGERATOR, Storage.FREEZER
C1, C2, C3 = CspCategory.CATEGORY_1, CspCategory.CATEGORY_2, CspCategory.CATEGORY_3
ASEPTIC, TERMINAL = Process.ASEPTIC, Process.TERMINAL
STERILE, NONSTERILE = StartingComponents.STERILE, StartingComponents.NONSTERILE


def test_category_1_is_12_hours_at_room_temperature_and_24_refrigerated():
    assert usp797_limit(C1, ROOM) == timedelta(hours=12)
    assert usp797_limit(C1, FRIDGE) == timedelta(hours=24)


@pytest.mark.parametrize(
    ("process", "tested", "components", "room", "fridge", "freezer"),
    [
        (ASEPTIC, False, STERILE, 4, 10, 45),
        (ASEPTIC, False, NONSTERILE, 1, 4, 45),
        (ASEPTIC, True, None, 30, 45, 60),
        (ASEPTIC, True, NONSTERILE, 30, 45, 60),
        (TERMINAL, False, None, 14, 28, 45),
        (TERMINAL, False, NONSTERILE, 14, 28, 45),
        (TERMINAL, True, None, 45, 60, 90),
    ],
)
def test_category_2_table(process, tested, components, room, fridge, freezer):
    for storage, days in ((ROOM, room), (FRIDGE, fridge), (FREEZER, freezer)):
        limit = usp797_limit(C2, storage, process=process, starting_components=components, sterility_tested=tested)
        assert limit == timedelta(days=days)


@pytest.mark.parametrize(("process", "room", "fridge", "freezer"), [(ASEPTIC, 60, 90, 120), (TERMINAL, 90, 120, 180)])
def test_category_3_table(process, room, fridge, freezer):
    for storage, days in ((ROOM, room), (FRIDGE, fridge), (FREEZER, freezer)):
        assert usp797_limit(C3, storage, process=process, sterility_tested=True) == timedelta(days=days)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: usp797_limit(C1, FREEZER), "BUD_NOT_ALLOWED"),
        (lambda: usp797_limit(C3, ROOM), "BUD_NOT_ALLOWED"),
        (lambda: usp797_limit(C2, ROOM), "MISSING_INPUT"),
    ],
)
def test_combinations_the_chapter_does_not_allow_are_refused(call, code):
    with pytest.raises(InvalidInput) as refused:
        call()
    assert refused.value.code == code


def test_punctured_containers():
    assert in_use_limit(Container.SINGLE_DOSE) == timedelta(hours=12)
    assert in_use_limit(Container.MULTIPLE_DOSE) == timedelta(days=28)
    assert in_use_limit(Container.MULTIPLE_DOSE, manufacturer_limit=timedelta(days=14)) == timedelta(days=14)


def test_category_1_across_the_spring_dst_change_is_12_real_hours():
    """22:00 EST on 8 March 2025 + 12 h = 11:00 EDT on 9 March (the clocks went forward at 02:00)."""
    dated = beyond_use_date(datetime(2025, 3, 8, 22, 0, tzinfo=NEW_YORK), usp_limit=usp797_limit(C1, ROOM))
    assert dated.bud == datetime(2025, 3, 9, 11, 0, tzinfo=NEW_YORK)
    assert dated.bud.utcoffset() == timedelta(hours=-4)
    assert (dated.limit, dated.governed_by) == (timedelta(hours=12), "USP <797>")


def test_category_1_across_the_autumn_dst_change_is_12_real_hours():
    """20:00 EDT on 1 November 2025 + 12 h = 07:00 EST on 2 November (the clocks went back)."""
    dated = beyond_use_date(datetime(2025, 11, 1, 20, 0, tzinfo=NEW_YORK), usp_limit=timedelta(hours=12))
    assert dated.bud.replace(tzinfo=None) == datetime(2025, 11, 2, 7, 0)
    # Python subtracts two datetimes in the same zone by wall clock (13 h here): compare in UTC.
    assert dated.bud.astimezone(UTC) - datetime(2025, 11, 1, 20, 0, tzinfo=NEW_YORK).astimezone(UTC) == timedelta(
        hours=12
    )


def test_a_shorter_stability_limit_governs():
    start = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    dated = beyond_use_date(start, usp_limit=timedelta(days=10), stability=timedelta(hours=8))
    assert (dated.bud, dated.governed_by) == (start + timedelta(hours=8), "stability")


def test_an_earlier_component_expiry_governs():
    start = datetime(2025, 6, 1, 9, 0, tzinfo=NEW_YORK)
    expiry = end_of_expiry_date(date(2025, 6, 3), NEW_YORK)
    dated = beyond_use_date(start, usp_limit=timedelta(days=10), component_expiries=[expiry])
    assert (dated.bud, dated.governed_by) == (datetime(2025, 6, 3, 23, 59, tzinfo=NEW_YORK), "component expiry")


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: beyond_use_date(datetime(2025, 6, 1, 9), usp_limit=timedelta(hours=12)), "NAIVE_DATETIME"),
        (
            lambda: beyond_use_date(
                datetime(2025, 6, 1, 9, tzinfo=UTC),
                usp_limit=timedelta(hours=12),
                component_expiries=[datetime(2025, 6, 2)],
            ),
            "NAIVE_DATETIME",
        ),
        (
            lambda: beyond_use_date(
                datetime(2025, 6, 1, 9, tzinfo=UTC),
                usp_limit=timedelta(hours=12),
                component_expiries=[datetime(2025, 5, 1, tzinfo=UTC)],
            ),
            "EXPIRED_COMPONENT",
        ),
        (lambda: beyond_use_date(datetime(2025, 6, 1, 9, tzinfo=UTC), usp_limit=timedelta(0)), "INVALID_INPUT"),
        (
            lambda: beyond_use_date(
                datetime(2025, 6, 1, 9, tzinfo=UTC), usp_limit=timedelta(hours=1), stability=timedelta(hours=-1)
            ),
            "INVALID_INPUT",
        ),
        (lambda: local_instant(datetime(2025, 3, 9, 2, 30), NEW_YORK), "NONEXISTENT_TIME"),
        (lambda: local_instant(datetime(2025, 11, 2, 1, 30), NEW_YORK), "AMBIGUOUS_TIME"),
        (lambda: duration(parse_quantity("8 mg")), "UNIT_DIMENSION_MISMATCH"),
    ],
)
def test_bud_refusals(call, code):
    with pytest.raises(InvalidInput) as refused:
        call()
    assert refused.value.code == code


def test_local_times_and_durations():
    assert local_instant(datetime(2025, 3, 8, 22, 0), NEW_YORK).utcoffset() == timedelta(hours=-5)
    assert duration(parse_quantity("28 days")) == timedelta(days=28)
    assert duration(parse_quantity("90 min")) == timedelta(minutes=90)
    assert in_hours(timedelta(days=10)) == 240


moments = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([NEW_YORK, ZoneInfo("Europe/London"), UTC]),
)
hours = st.integers(min_value=1, max_value=24 * 200)


@settings(max_examples=200, deadline=None)
@given(moments, hours, st.none() | hours, st.lists(st.integers(min_value=1, max_value=24 * 400), max_size=3))
def test_the_bud_is_never_later_than_any_input_limit(start, usp_hours, stability_hours, expiry_hours):
    expiries = [start + timedelta(hours=h) for h in expiry_hours]
    stability = None if stability_hours is None else timedelta(hours=stability_hours)
    dated = beyond_use_date(
        start, usp_limit=timedelta(hours=usp_hours), stability=stability, component_expiries=expiries
    )
    limits = [start.astimezone(UTC) + timedelta(hours=usp_hours), *(e.astimezone(UTC) for e in expiries)]
    if stability is not None:
        limits.append(start.astimezone(UTC) + stability)
    # Compare instants in UTC: PEP 495 makes an ambiguous local time (the repeated hour at a DST
    # fall-back) unequal to every datetime in another zone, even the same instant.
    assert dated.bud.astimezone(UTC) == min(limits)
    assert dated.bud.astimezone(UTC) - start.astimezone(UTC) == dated.limit
    assert dated.bud.tzinfo is start.tzinfo
