"""Gravimetric verification: volume = mass / specific gravity (ASHP, Tribble 2021,
https://connect.ashp.org/blogs/dennis-tribble/2021/11/04/overview-of-gravimetrics). 0.9 % sodium
chloride has a specific gravity of 1.0046 (https://biologyinsights.com/how-much-does-a-liter-of-saline-weigh).
The ±5 % default tolerance is common institutional practice (no ISMP number exists; reference file §8).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.gravimetric import expected_mass, gravimetric_check, volume_from_mass
from openinfusion.clinical.units import Quantity, parse_quantity
from openinfusion.errors import InvalidInput

P = parse_quantity
SALINE = Decimal("1.0046")


def test_50_ml_of_saline_weighs_50_23_g():
    assert expected_mass(P("50 mL"), SALINE) == Quantity(Decimal("50.23"), "g")
    assert volume_from_mass(P("50.23 g"), SALINE) == Quantity(Decimal("50.00"), "mL")


def test_a_weighed_syringe_within_5_percent_passes():
    check = gravimetric_check(P("50.23 g"), SALINE, P("50 mL"))
    assert (check.measured_volume.value, check.deviation_pct, check.within_tolerance) == (Decimal(50), 0, True)


def test_a_weighed_syringe_beyond_the_tolerance_fails():
    """47 g / 1.0046 = 46.78 mL: −6.43 % against 50 mL."""
    check = gravimetric_check(P("47 g"), SALINE, P("50 mL"))
    assert (check.measured_volume.value, check.deviation_pct, check.within_tolerance) == (
        Decimal("46.78"),
        Decimal("-6.44"),
        False,
    )
    assert gravimetric_check(P("47 g"), SALINE, P("50 mL"), tolerance_pct=Decimal(7)).within_tolerance


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: gravimetric_check(P("50 g"), Decimal("5"), P("50 mL")), "IMPLAUSIBLE_MEASUREMENT"),
        (lambda: gravimetric_check(P("50 mL"), SALINE, P("50 mL")), "UNIT_DIMENSION_MISMATCH"),
        (lambda: gravimetric_check(P("50 g"), SALINE, P("0 mL")), "INVALID_INPUT"),
        (lambda: gravimetric_check(P("50 g"), SALINE, P("50 mL"), tolerance_pct=Decimal(-1)), "INVALID_POLICY"),
    ],
)
def test_gravimetric_refusals(call, code):
    with pytest.raises(InvalidInput) as refused:
        call()
    assert refused.value.code == code


@settings(max_examples=150, deadline=None)
@given(
    st.decimals(min_value=Decimal(1), max_value=Decimal(1000), places=1),
    st.decimals(min_value=Decimal("0.9"), max_value=Decimal("1.5"), places=4),
)
def test_the_expected_mass_of_the_target_volume_passes(volume, specific_gravity):
    target = Quantity(volume, "mL")
    check = gravimetric_check(expected_mass(target, specific_gravity), specific_gravity, target)
    assert check.within_tolerance
    assert abs(check.deviation_pct) <= Decimal("0.5")
