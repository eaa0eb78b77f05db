"""Infusion rates.

mL/h = volume / hours; gtt/min = mL × drop factor / minutes, nearest whole drop; weight-based
mL/h = mcg/kg/min × kg × 60 / (mcg/mL) (https://testandcalc.com/drugcalc/help/flow.htm;
https://studylib.net/doc/26108997/iv-drip-rate-information). Dopamine worked examples:
costcalculator.calculator.city/how-to-calculate-dopamine-drip-rate (400 mg/250 mL, 5 mcg/kg/min,
70 kg → 13.1 mL/h) and droracle.ai/articles/825556 (400 mg/500 mL → 26.25 mL/h).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openinfusion.clinical.rates import (
    dose_rate_for_infusion,
    drip_rate,
    infusion_duration,
    infusion_rate,
    infusion_rate_for_dose,
    volume_to_infuse,
)
from openinfusion.clinical.units import Quantity, parse_quantity
from openinfusion.errors import InvalidInput

P = parse_quantity


def test_one_litre_over_8_hours_at_15_drops_per_ml():
    """1000 mL / 8 h = 125 mL/h; 1000 × 15 / 480 min = 31.25 → 31 gtt/min."""
    drip = drip_rate(P("1000 mL"), P("8 h"), 15)
    assert (drip.ml_per_h, drip.drops_per_min) == (Decimal(125), 31)


def test_with_a_60_drop_micro_set_drops_per_minute_equal_ml_per_hour():
    assert drip_rate(P("250 mL"), P("2 h"), 60).drops_per_min == 125


def test_minutes_and_litres_are_converted():
    assert infusion_rate(P("0.25 L"), P("30 min")) == Quantity(Decimal(500), "mL/h")
    assert drip_rate(P("100 mL"), P("30 min")).drops_per_min is None


def test_dopamine_5_mcg_kg_min_for_70_kg_from_400_mg_in_250_ml_is_13_1_ml_h():
    rate = infusion_rate_for_dose(P("5 mcg/kg/min"), P("400 mg/250 mL"), weight=P("70 kg"))
    assert rate == Quantity(Decimal("13.1"), "mL/h")


def test_dopamine_from_400_mg_in_500_ml_is_26_3_ml_h():
    """350 mcg/min ÷ 800 mcg/mL × 60 = 26.25 mL/h → 26.3 mL/h to the pump's 0.1."""
    assert infusion_rate_for_dose(P("5 mcg/kg/min"), P("400 mg/500 mL"), weight=P("70 kg")).value == Decimal("26.3")


def test_heparin_units_per_hour():
    """1000 units/h from 25,000 units in 250 mL (100 units/mL) = 10 mL/h."""
    assert infusion_rate_for_dose(P("1000 units/h"), P("25000 units/250 mL")) == Quantity(Decimal(10), "mL/h")


def test_a_pump_rate_back_to_a_dose_rate():
    assert dose_rate_for_infusion(P("13.125 mL/h"), P("1.6 mg/mL"), "mcg/kg/min", weight=P("70 kg")) == Quantity(
        Decimal(5), "mcg/kg/min"
    )
    assert dose_rate_for_infusion(P("10 mL/h"), P("100 units/mL"), "units/h") == Quantity(Decimal(1000), "units/h")


def test_volume_and_duration():
    assert volume_to_infuse(P("125 mL/h"), P("90 min")) == Quantity(Decimal("187.5"), "mL")
    assert infusion_duration(P("1000 mL"), P("125 mL/h")) == Quantity(Decimal(8), "h")


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: drip_rate(P("1000 mL"), P("8 h"), 12), "INVALID_INPUT"),
        (lambda: infusion_rate(P("1000 mL"), P("0 h")), "INVALID_INPUT"),
        (lambda: infusion_rate(P("1000 mg"), P("8 h")), "UNIT_DIMENSION_MISMATCH"),
        (lambda: infusion_rate_for_dose(P("5 mcg/kg/min"), P("1.6 mg/mL")), "MISSING_WEIGHT"),
        (lambda: infusion_rate_for_dose(P("1000 units/h"), P("1 mg/mL")), "UNIT_DIMENSION_MISMATCH"),
        (lambda: infusion_rate_for_dose(P("5 mg"), P("1 mg/mL")), "UNIT_DIMENSION_MISMATCH"),
        (lambda: infusion_rate_for_dose(P("5 mg/h"), P("1 mg")), "UNIT_DIMENSION_MISMATCH"),
        (lambda: infusion_rate_for_dose(P("5 mg/h"), P("0 mg/mL")), "INVALID_INPUT"),
        (lambda: dose_rate_for_infusion(P("10 mL/h"), P("1 mg/mL"), "mcg/kg/min"), "MISSING_WEIGHT"),
        (lambda: infusion_duration(P("1000 mL"), P("0 mL/h")), "INVALID_INPUT"),
    ],
)
def test_rates_refuse_what_they_cannot_compute(call, code):
    with pytest.raises(InvalidInput) as refused:
        call()
    assert refused.value.code == code


@settings(max_examples=150, deadline=None)
@given(
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal(20), places=1),
    st.decimals(min_value=Decimal(40), max_value=Decimal(150), places=1),
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal(5), places=1),
)
def test_more_dose_or_more_weight_never_means_a_slower_pump(dose, kg, more):
    concentration = P("400 mg/250 mL")

    def rate(d: Decimal, w: Decimal) -> Decimal:
        return infusion_rate_for_dose(Quantity(d, "mcg/kg/min"), concentration, weight=Quantity(w, "kg")).value

    assert rate(dose + more, kg) >= rate(dose, kg)
    assert rate(dose, kg + more) >= rate(dose, kg)


@settings(max_examples=150, deadline=None)
@given(st.decimals(min_value=Decimal(1), max_value=Decimal(300), places=1))
def test_the_dose_rate_round_trips_through_the_pump_rate(dose):
    concentration, weight = P("1.6 mg/mL"), P("70 kg")
    exact = dose * 70 * 60 / 1600  # mL/h before the pump's 0.1 rounding
    back = dose_rate_for_infusion(Quantity(exact, "mL/h"), concentration, "mcg/kg/min", weight=weight)
    assert abs(back.value - dose) <= Decimal("0.01")
