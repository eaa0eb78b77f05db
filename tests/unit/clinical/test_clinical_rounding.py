"""Dose rounding to vials or increments within a threshold.

HOPA position statement (Fahrenbruch et al., J Oncol Pract 2018): rounding to within 10 % of the
ordered dose is acceptable (https://ascopost.com/News/58563). Algorithm (reference file, section 3):
the nearest attainable vial total, ties to the smaller amount; round only if |deviation| is within
the threshold. Carboplatin vials 50/150/450/600 mg (openFDA label).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.rounding import VialUse, round_to_increment, round_to_vials
from openinfusion.clinical.units import Quantity, parse_quantity
from openinfusion.errors import InvalidInput

P = parse_quantity
CARBOPLATIN_VIALS = [P("50 mg"), P("150 mg"), P("450 mg"), P("600 mg")]


def test_rituximab_712_5_mg_rounds_to_700_mg_from_one_500_and_two_100_vials():
    rounded = round_to_vials(P("712.5 mg"), [P("100 mg"), P("500 mg")])
    assert (rounded.nearest.value, rounded.deviation_pct, rounded.rounded, rounded.dose.value) == (
        Decimal(700),
        Decimal("-1.75"),
        True,
        Decimal(700),
    )
    assert rounded.vials == (VialUse(P("500 mg"), 1), VialUse(P("100 mg"), 2))
    assert rounded.leftover == Quantity(Decimal(0), "mg")


def test_carboplatin_575_mg_rounds_to_550_mg_within_10_percent():
    """550 is 25 below, 600 is 25 above: a tie goes to the smaller amount (−4.35 %)."""
    rounded = round_to_vials(P("575 mg"), CARBOPLATIN_VIALS)
    assert (rounded.nearest.value, rounded.deviation_pct, rounded.rounded) == (Decimal(550), Decimal("-4.35"), True)
    assert rounded.vials == (VialUse(P("450 mg"), 1), VialUse(P("50 mg"), 2))


def test_beyond_the_threshold_the_exact_dose_is_prepared_and_the_leftover_reported():
    """With a 0 % policy, 575 mg is drawn from one 600 mg vial, leaving 25 mg."""
    rounded = round_to_vials(P("575 mg"), CARBOPLATIN_VIALS, threshold_pct=Decimal(0))
    assert (rounded.rounded, rounded.dose.value) == (False, Decimal(575))
    assert rounded.vials == (VialUse(P("600 mg"), 1),)
    assert rounded.leftover == Quantity(Decimal(25), "mg")


def test_vials_in_another_unit_of_mass_are_converted():
    rounded = round_to_vials(P("1.02 g"), [P("500 mg")])
    assert (rounded.nearest, rounded.rounded) == (Quantity(Decimal(1), "g"), True)


def test_a_dose_smaller_than_every_vial_rounds_up_to_one_vial_only_within_the_threshold():
    assert round_to_vials(P("95 mg"), [P("100 mg")]).nearest.value == Decimal(100)
    small = round_to_vials(P("30 mg"), [P("100 mg")])
    assert (small.nearest.value, small.rounded, small.leftover) == (Decimal(100), False, Quantity(Decimal(70), "mg"))


def test_round_to_an_increment():
    assert round_to_increment(P("712.5 mg"), P("100 mg")).nearest.value == Decimal(700)
    assert round_to_increment(P("712.5 mg"), P("5 mg")).nearest.value == Decimal(710)
    tie = round_to_increment(P("150 mg"), P("100 mg"))
    assert (tie.nearest.value, tie.rounded, tie.dose.value) == (Decimal(100), False, Decimal(150))
    assert round_to_increment(P("2.57 mL"), P("0.1 mL")).nearest.value == Decimal("2.6")


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: round_to_vials(P("500 mg"), []), "INVALID_INPUT"),
        (lambda: round_to_vials(P("500 mg"), [P("0 mg")]), "INVALID_INPUT"),
        (lambda: round_to_vials(P("500 mg"), [P("5 mL")]), "UNIT_DIMENSION_MISMATCH"),
        (lambda: round_to_vials(P("0 mg"), [P("100 mg")]), "INVALID_INPUT"),
        (lambda: round_to_vials(P("500 mg"), [P("100 mg")], threshold_pct=Decimal(-1)), "INVALID_POLICY"),
        (lambda: round_to_vials(P("500000 mg"), [P("0.001 mg")]), "INVALID_INPUT"),
        (lambda: round_to_increment(P("500 mg"), P("0 mg")), "INVALID_POLICY"),
        (lambda: round_to_increment(P("500 units"), P("5 mg")), "UNIT_DIMENSION_MISMATCH"),
    ],
)
def test_rounding_refuses_what_it_cannot_do(call, code):
    with pytest.raises(InvalidInput) as refused:
        call()
    assert refused.value.code == code


vial_sets = st.lists(st.sampled_from([10, 20, 50, 100, 150, 400, 450, 500, 600]), min_size=1, max_size=3, unique=True)


@settings(max_examples=150, deadline=None)
@given(
    st.decimals(min_value=Decimal(5), max_value=Decimal(3000), places=1),
    vial_sets,
    st.decimals(min_value=Decimal(0), max_value=Decimal(20), places=0),
)
def test_vial_rounding_is_consistent(dose, sizes, threshold):
    rounded = round_to_vials(Quantity(dose, "mg"), [Quantity(Decimal(s), "mg") for s in sizes], threshold_pct=threshold)
    drawn = sum(v.size.value * v.count for v in rounded.vials)
    assert rounded.rounded == (abs(rounded.nearest.value - dose) / dose * 100 <= threshold)
    assert drawn - rounded.dose.value == rounded.leftover.value  # type: ignore[union-attr]
    assert drawn >= rounded.dose.value
    assert rounded.dose.value == (rounded.nearest.value if rounded.rounded else dose)


@settings(max_examples=60, deadline=None)
@given(
    st.decimals(min_value=Decimal(20), max_value=Decimal(1500), places=1),
    st.lists(st.sampled_from([50, 100, 150, 400, 500, 600]), min_size=1, max_size=3, unique=True),
)
def test_the_nearest_vial_total_is_truly_the_nearest(dose, sizes):
    """Checked against brute force: every total reachable with whole vials, ties to the smaller."""
    limit = dose + max(sizes)
    totals = {Decimal(0)}
    for size in sizes:
        totals = {t + k * size for t in totals for k in range(int(limit // size) + 2) if t + k * size <= limit}
    candidates = sorted((t for t in totals if t > 0), key=lambda t: (abs(t - dose), t))
    nearest = round_to_vials(Quantity(dose, "mg"), [Quantity(Decimal(s), "mg") for s in sizes]).nearest.value
    assert nearest == candidates[0]
