"""Cumulative lifetime dose against a limit.

Doxorubicin: many institutions use 450 mg/m² as the lifetime limit; older labels 550 mg/m²
(openFDA label set 33ddfdb1; reference file section 4). Bleomycin 400 units (label, unverified verbatim).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.cumulative import cumulative_dose
from openinfusion.clinical.units import Quantity, parse_quantity
from openinfusion.errors import InvalidInput

P = parse_quantity


def test_doxorubicin_three_60_mg_m2_cycles_against_450_mg_m2():
    total = cumulative_dose([P("60 mg/m2")] * 3, P("450 mg/m2"), P("60 mg/m2"))
    assert (total.before.value, total.after.value, total.remaining.value, total.remaining_after_next.value) == (
        Decimal(180),
        Decimal(240),
        Decimal(270),
        Decimal(210),
    )
    assert (total.exceeds_limit, total.already_exceeded, total.percent_of_limit_after) == (
        False,
        False,
        Decimal("53.3"),
    )


def test_the_next_dose_that_would_pass_the_limit_is_flagged_with_the_excess():
    total = cumulative_dose([P("400 mg/m2")], P("450 mg/m2"), P("60 mg/m2"))
    assert (total.exceeds_limit, total.over_by.value, total.remaining_after_next.value) == (True, Decimal(10), 0)


def test_reaching_the_limit_exactly_is_allowed():
    assert cumulative_dose([P("390 mg/m2")], P("450 mg/m2"), P("60 mg/m2")).exceeds_limit is False


def test_a_total_already_over_the_limit_is_reported():
    total = cumulative_dose([P("500 mg/m2")], P("450 mg/m2"))
    assert (total.already_exceeded, total.exceeds_limit, total.remaining.value) == (True, True, 0)


def test_doses_in_other_units_of_the_same_basis_are_converted():
    assert cumulative_dose([P("0.2 g/m2")], P("450 mg/m2")).before == Quantity(Decimal(200), "mg/m2")
    assert cumulative_dose([P("150 units")], P("400 units"), P("30 units")).remaining.value == Decimal(250)


def test_doses_in_another_basis_are_refused():
    with pytest.raises(InvalidInput) as refused:
        cumulative_dose([P("60 mg")], P("450 mg/m2"))
    assert refused.value.code == "UNIT_DIMENSION_MISMATCH"
    with pytest.raises(InvalidInput):
        cumulative_dose([], P("0 mg/m2"))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=1), max_size=12),
    st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=1),
)
def test_totals_add_up_and_the_flag_matches_the_limit(given_doses, next_dose):
    limit = P("450 mg/m2")
    total = cumulative_dose([Quantity(d, "mg/m2") for d in given_doses], limit, Quantity(next_dose, "mg/m2"))
    assert total.after.value == sum(given_doses, Decimal(0)) + next_dose
    assert total.exceeds_limit == (total.after.value > limit.value)
    assert total.remaining_after_next.value + total.after.value - total.over_by.value == limit.value
