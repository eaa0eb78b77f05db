"""How far a weight may move from the previous one (clinical/weight_change.py): 10 % within a
week, 1 % more per further week, at most 25 % (thresholds and sources in the module), and the
pounds/kilograms slip offered when the same number in the other unit fits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from openinfusion.clinical.units import Quantity
from openinfusion.clinical.weight_change import allowed_change, describe, weight_jump

DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("apart", "allowed"),
    [
        (dt.timedelta(hours=3), "0.10"),
        (7 * DAY, "0.10"),
        (14 * DAY, "0.11"),
        (28 * DAY, "0.13"),
        (-28 * DAY, "0.13"),  # a weight entered late is compared the same way
        (16 * 7 * DAY, "0.25"),
        (400 * DAY, "0.25"),
    ],
)
def test_the_share_allowed_grows_a_percent_a_week_after_the_first_up_to_a_quarter(apart, allowed):
    assert allowed_change(apart) == Decimal(allowed)


@pytest.mark.parametrize(
    ("previous", "typed", "apart", "jumps"),
    [
        ("70", "77 kg", DAY, False),  # exactly 10 %
        ("70", "77.1 kg", DAY, True),
        ("70", "63 kg", DAY, False),
        ("70", "62.9 kg", DAY, True),
        ("104.8", "150 kg", dt.timedelta(hours=3), True),
        ("70", "154 kg", DAY, True),
        ("70", "87 kg", 20 * 7 * DAY, False),
        ("70", "154 kg", 52 * 7 * DAY, True),
    ],
)
def test_a_weight_beyond_the_share_is_a_jump(previous, typed, apart, jumps):
    value, unit = typed.split()
    entered = Quantity(Decimal(value), unit)
    assert (weight_jump(Decimal(previous), entered.to("kg").value, entered, apart) is not None) is jumps


def test_pounds_typed_as_kilograms_are_named_with_the_weight_they_would_be():
    entered = Quantity(Decimal(154), "kg")
    jump = weight_jump(Decimal(70), Decimal(154), entered, DAY)
    assert jump is not None and jump.meant == Quantity(Decimal(154), "lb")
    assert describe(jump, entered, "2026-06-08 10:30 EDT", DAY) == (
        "154 kg is 120 % more than the last weight, 70 kg on 2026-06-08 10:30 EDT (24 hours before): more than "
        "the 10 % a weight changes in that time. If the scale showed pounds, type “154 lb” (69.85 kg)."
    )


def test_a_jump_no_unit_explains_offers_no_unit():
    entered = Quantity(Decimal(150), "kg")
    jump = weight_jump(Decimal("104.8"), Decimal(150), entered, dt.timedelta(hours=3))
    assert jump is not None and jump.meant is None
    assert "If the scale" not in describe(jump, entered, "2026-06-09 07:30 EDT", dt.timedelta(hours=3))
