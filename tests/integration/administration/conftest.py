"""Administration fixtures: on top of the compounding ones (North on New York time, the starter
formulary, Grace Hughes with a verified oxaliplatin order, stocked rooms, a qualified technician),
a nurse, an infusion pump, and helpers that carry a dose from the final check to the chair.

Oxaliplatin keeps longer cold, so its plan says "refrigerator" and its dispense travels in a cold
chain; carboplatin is kept at room temperature.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from tests.integration.compounding import conftest as compounding
from tests.integration.compounding.conftest import PASSWORD, verified_order

# the compounding fixtures, shared: North on New York time, the starter formulary, Grace Hughes,
# the people, the rooms and their stock
site = compounding.site
formulary = compounding.formulary
prescriber = compounding.prescriber
second_pharmacist = compounding.second_pharmacist
nurse = compounding.nurse
stock_keeper = compounding.stock_keeper
technician = compounding.technician
patient = compounding.patient
hazardous_room = compounding.hazardous_room
clean_room = compounding.clean_room
receive = compounding.receive
stocked = compounding.stocked

CARBOPLATIN_150 = "61703-339-22"
DOXORUBICIN = ("63323-883-05", "63323-883-10", "70710-1531-1")
"""Doxorubicin 10, 20 and 50 mg vials: whatever the plan for a BSA-based dose draws from."""
SOON = dt.timedelta(minutes=30)
"""Orders here are due half an hour from now: inside the bedside ±2 h window."""


@pytest.fixture
def pump(site):
    from openinfusion.administration.models import Pump

    return Pump.objects.create(site=site, serial="PMP-1001", model="Sapphire infusion pump")


def approve(order, technician, checker):
    """Plan, make (exact weights, FEFO lots) and final-check the order's dose: an APPROVED preparation."""
    from openinfusion.compounding import services, walkthrough

    preparation = services.plan_preparation(order.pk, actor=checker)
    walkthrough.stock_room(preparation, technician)
    walkthrough.prepare(preparation, technician)
    return services.final_check(preparation.pk, actor=checker, approve=True, password=PASSWORD)


@pytest.fixture
def order(patient, prescriber, pharmacist):
    """Oxaliplatin 153 mg in D5W 250 mL over 2 h, due in 30 minutes, verified."""
    return verified_order(patient, prescriber, pharmacist, starts_in=SOON)


@pytest.fixture
def make_checked(patient, prescriber, pharmacist, technician, stocked):
    """An approved preparation of a fresh verified order (oxaliplatin 153 mg unless told)."""

    def make(*, starts_in: dt.timedelta = SOON, **order: Any):
        return approve(
            verified_order(patient, prescriber, pharmacist, starts_in=starts_in, **order), technician, pharmacist
        )

    return make


@pytest.fixture
def checked(make_checked):
    """Oxaliplatin 153 mg in D5W, due in 30 minutes, made and approved at the final check."""
    return make_checked()


@pytest.fixture
def carboplatin_stock(receive, hazardous_room):
    return receive(CARBOPLATIN_150, "CB-150-A", hazardous_room, quantity=6)


@pytest.fixture
def checked_room_temperature(make_checked, carboplatin_stock):
    """Carboplatin 300 mg: hazardous, kept at room temperature (no cold chain)."""
    return make_checked(drug="carboplatin", dose="300 mg", duration_minutes=30)


def dispense(preparation, actor, destination: str = "chair", place: str = "Chair 03"):
    from openinfusion.administration import services

    return services.dispense_preparation(preparation.pk, actor=actor, destination=destination, place=place)


def at_bedside(preparation, nurse, technician):
    """Dispensed to a chair and checked by the nurse's two scans, the dose chosen on the board: an
    Administration."""
    from openinfusion.administration import services

    dispense(preparation, technician)
    patient = preparation.order.patient
    return services.bedside_verify(
        actor=nurse, wristband=patient.mrn, label=preparation.barcode, order_id=preparation.order_id
    )


def program(administration, nurse, pump, *, rate: Decimal | None = None, volume: Decimal | None = None):
    """Program the pump as prescribed (or with the rate and volume given)."""
    from openinfusion.administration import services

    plan = administration.dispense.preparation.plan
    return services.record_pump_program(
        administration.pk,
        actor=nurse,
        pump_serial=pump.serial,
        rate_ml_h=Decimal(plan["rate_ml_h"]) if rate is None else rate,
        volume_ml=Decimal(plan["final_volume_ml"]) if volume is None else volume,
    )


def ran_for(administration, minutes: int) -> None:
    """The infusion has been running ``minutes``: its start is moved back, as when the nurse comes
    back to a bag that has run its course. For tests whose clock must stay on the site's day (the
    board's) and for the browser journeys, whose server clock a test cannot move."""
    import datetime as dt

    from django.db.models import F

    from openinfusion.administration.models import Administration

    Administration.objects.filter(pk=administration.pk).update(
        started_at=F("started_at") - dt.timedelta(minutes=minutes)
    )


def post(client, path: str, body: dict | None = None):
    return client.post(path, body or {}, content_type="application/json")


def refused_events(action: str) -> list[str]:
    """The reasons of the refused audit events of an action."""
    from openinfusion.audit.models import AuditEvent

    return [e.reason for e in AuditEvent.objects.filter(action=action, outcome="refused").order_by("pk")]
