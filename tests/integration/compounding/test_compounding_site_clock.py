"""A labelled expiry date is good through that day where the stock is (USP <797> §14: a CSP's BUD
may not exceed the earliest expiry of its components), judged by the site's calendar as the
inventory does — not by the server's UTC date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tests.integration.compounding.conftest import (
    D5W_250,
    OXALIPLATIN_100,
    exact_weight,
    lot_scan,
    verified_order,
)

from openinfusion.compounding import services

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.clock_at("2026-11-30T12:00:00-05:00")  # the lot is received that morning
def test_a_lot_on_its_expiry_evening_is_usable_and_caps_the_bud_at_local_midnight(
    patient, prescriber, pharmacist, technician, receive, hazardous_room, clock
):
    """At 21:00 EST on 30 November (02:00 UTC on 1 December) a lot labelled 2026-11-30 is still in
    date in New York; the BUD stops at 23:59 EST that evening instead of 24 h later."""
    expiry = dt.date(2026, 11, 30)
    vials = receive(OXALIPLATIN_100, "OX-EVE", hazardous_room, quantity=2, expiry=expiry)
    bags = receive(D5W_250, "D5-EVE", hazardous_room, quantity=1)
    clock.move_to(dt.datetime(2026, 11, 30, 21, 0, tzinfo=NEW_YORK))
    order = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(hours=1))
    preparation = services.plan_preparation(order.pk, actor=pharmacist)
    services.start_preparation(preparation.pk, actor=technician)
    steps = preparation.plan["steps"]
    services.record_scan(preparation.pk, actor=technician, scan=lot_scan(vials, "E1"))
    services.record_scan(preparation.pk, actor=technician, scan=lot_scan(vials, "E2"))
    services.record_weighing(
        preparation.pk, actor=technician, scale="BAL-01", tare_g="11.250", gross_g=str(exact_weight(steps[2]))
    )
    services.record_scan(preparation.pk, actor=technician, scan=lot_scan(bags))
    bag = exact_weight(steps[4], tare=Decimal("282.400"))
    services.record_weighing(preparation.pk, actor=technician, scale="BAL-01", tare_g="282.400", gross_g=str(bag))
    completed = services.complete_preparation(preparation.pk, actor=technician)
    bud = completed.bud.astimezone(NEW_YORK)
    assert (bud.date(), bud.hour, bud.minute) == (expiry, 23, 59)
