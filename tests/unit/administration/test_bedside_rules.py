"""The bedside's pure rules, table-tested: the prescribed rate from the order's duration or the
formulary's standard time, the pump program and every rate change held to it (±5 %; a slow-down to
half the rate; never faster), the BUD at the start and the warning when it falls before the end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from openinfusion.administration import rules

NOW = dt.datetime(2026, 6, 9, 14, 30, tzinfo=dt.UTC)


def clock(moment: dt.datetime) -> str:
    return f"{moment:%H:%M} UTC"


@pytest.mark.parametrize(
    ("planned", "ordered", "standard", "expected"),
    [
        ("140.3", 120, (120, 120), ("140.3", "140.3", "as ordered over 120 min")),  # the plan's rate wins
        (None, 120, (15, 60), ("140.3", "140.3", "as ordered over 120 min")),  # 280.6 mL over 2 h
        (None, None, (120, 120), ("140.3", "140.3", "the formulary's standard 120 min for a 280.6 mL bag")),
        (None, None, (15, 60), ("280.6", "1122.4", "the formulary's standard 15–60 min for a 280.6 mL bag")),
        (None, None, (None, 60), ("280.6", "280.6", "the formulary's standard 60 min for a 280.6 mL bag")),
        (None, None, (None, None), None),  # nothing to check a pump against
    ],
)
def test_the_prescribed_rate_comes_from_the_order_else_the_formulary(planned, ordered, standard, expected):
    found = rules.prescribed_rate(
        volume_ml=Decimal("280.6"),
        planned_rate_ml_h=Decimal(planned) if planned else None,
        ordered_minutes=ordered,
        standard_minutes=standard,
    )
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (str(found.low_ml_h), str(found.high_ml_h), found.source) == expected


def test_no_bag_volume_gives_no_rate_to_check_against():
    assert (
        rules.prescribed_rate(
            volume_ml=Decimal(0), planned_rate_ml_h=None, ordered_minutes=30, standard_minutes=(15, 60)
        )
        is None
    )


POINT = rules.PrescribedRate(Decimal("53"), Decimal("53"), "as ordered over 60 min")
RANGE = rules.PrescribedRate(Decimal("280"), Decimal("1120"), "the formulary's standard 15–60 min for a 280 mL bag")


@pytest.mark.parametrize(
    ("prescribed", "rate", "allowed"),
    [
        (POINT, "53", True),
        (POINT, "55.65", True),  # +5 %
        (POINT, "55.66", False),
        (POINT, "50.35", True),  # −5 %
        (POINT, "50.34", False),
        (POINT, "530", False),  # 10×
        (POINT, "5.3", False),
        (RANGE, "266", True),  # 280 − 5 %
        (RANGE, "265.9", False),
        (RANGE, "1176", True),  # 1120 + 5 %
        (RANGE, "2650", False),
    ],
)
def test_a_pump_program_is_within_the_prescription_and_5_percent(prescribed, rate, allowed):
    if allowed:
        rules.check_program(Decimal(rate), prescribed)
    else:
        with pytest.raises(rules.BedsideRefusal) as refused:
            rules.check_program(Decimal(rate), prescribed)
        assert refused.value.code == "RATE_MISMATCH" and prescribed.text in refused.value.message


@pytest.mark.parametrize(
    ("prescribed", "rate", "allowed"),
    [
        (POINT, "0", True),  # a pause
        (POINT, "53", True),
        (POINT, "55.65", True),
        (POINT, "55.66", False),  # faster than the prescription allows
        (POINT, "530", False),  # the 10× change of issue 14
        (POINT, "26.5", True),  # half the rate: a slow-down for a reaction
        (POINT, "25.18", True),  # half the rate − 5 %
        (POINT, "25.17", False),
        (POINT, "5.3", False),  # 10× slower: a slipped digit
        (RANGE, "140", True),  # half the slowest standard rate
        (RANGE, "1177", False),
    ],
)
def test_a_rate_change_is_held_to_the_prescription(prescribed, rate, allowed):
    if allowed:
        rules.check_rate_change(Decimal(rate), prescribed, current_ml_h=Decimal(53))
    else:
        with pytest.raises(rules.BedsideRefusal) as refused:
            rules.check_rate_change(Decimal(rate), prescribed, current_ml_h=Decimal(53))
        assert refused.value.code == "RATE_MISMATCH"
        assert "Keep the pump at 53 mL/h" in refused.value.message


def test_the_limits_shown_are_themselves_allowed():
    with pytest.raises(rules.BedsideRefusal) as refused:
        rules.check_rate_change(Decimal(530), POINT, current_ml_h=None)
    assert "at most 55.6 mL/h" in refused.value.message and "Keep the pump paused" in refused.value.message
    rules.check_rate_change(Decimal("55.6"), POINT, current_ml_h=None)
    with pytest.raises(rules.BedsideRefusal) as slow:
        rules.check_rate_change(Decimal(5), POINT, current_ml_h=None)
    assert "at least 25.2 mL/h" in slow.value.message
    rules.check_rate_change(Decimal("25.2"), POINT, current_ml_h=None)


@pytest.mark.parametrize(
    ("bud_in", "minutes", "warned"),
    [
        (dt.timedelta(hours=3), 120, False),
        (dt.timedelta(hours=2), 120, False),  # ends as the BUD comes
        (dt.timedelta(minutes=119), 120, True),
        (dt.timedelta(minutes=15), 30, True),
        (dt.timedelta(minutes=15), None, False),  # no planned length: nothing to compare
    ],
)
def test_the_scan_warns_when_the_bud_falls_before_the_planned_end(bud_in, minutes, warned):
    warning = rules.bud_warning(NOW + bud_in, start=NOW, minutes=minutes, clock=clock)
    assert (warning is not None) == warned
    if warning is not None:
        assert warning.code == "BUD_BEFORE_END"
        assert clock(NOW + bud_in) in warning.message and "before the planned end" in warning.message


@pytest.mark.parametrize(
    ("bud", "refused"),
    [(NOW + dt.timedelta(seconds=1), False), (NOW, True), (NOW - dt.timedelta(minutes=5), True), (None, True)],
)
def test_a_bag_is_never_started_after_its_bud(bud, refused):
    if refused:
        with pytest.raises(rules.BedsideRefusal) as error:
            rules.check_bud_at_start(bud, now=NOW, clock=clock)
        assert error.value.code == "BUD_EXPIRED" and "return it to the pharmacy" in error.value.message
    else:
        rules.check_bud_at_start(bud, now=NOW, clock=clock)


def test_a_dose_with_no_prescribed_rate_is_refused_with_what_to_do():
    error = rules.no_prescribed_rate("OXALIplatin")
    assert error.code == "NO_PRESCRIBED_RATE" and "ask the prescriber for the duration" in error.message
