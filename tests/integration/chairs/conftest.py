"""Chair-scheduling fixtures: on top of the compounding ones (North on New York time, the starter
formulary, Grace Hughes with a verified oxaliplatin order, clean rooms), chairs, nurse shifts and a
scheduler."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.integration.compounding import conftest as compounding
from tests.integration.compounding.conftest import verified_order

site = compounding.site
formulary = compounding.formulary
prescriber = compounding.prescriber
nurse = compounding.nurse
patient = compounding.patient
hazardous_room = compounding.hazardous_room
clean_room = compounding.clean_room

__all__ = ["verified_order"]


@pytest.fixture
def scheduler(make_user):
    return make_user("scheduler", "scheduler")


@pytest.fixture
def day(site):
    from openinfusion.chairs.services import zone

    return dt.datetime.now(zone(site)).date()


@pytest.fixture
def centre(site, day, nurse, hazardous_room, clean_room):
    """Four chairs and a bed, two nurse shifts."""
    from openinfusion.chairs.models import Chair, NurseShift

    for n in range(1, 5):
        Chair.objects.create(site=site, code=f"C{n}")
    Chair.objects.create(site=site, code="B1", kind="bed")
    NurseShift.objects.create(site=site, nurse=nurse, label="Nurse A", date=day, start=dt.time(7), end=dt.time(15, 30))
    NurseShift.objects.create(site=site, label="Nurse B", date=day, start=dt.time(10), end=dt.time(19))
    return site
