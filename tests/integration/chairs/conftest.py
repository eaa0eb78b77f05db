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
    """Tomorrow at the site, so that "now" (re-planning keeps everything after it) never cuts into
    the day whatever the hour the tests run; tests of the day itself pass their own ``now``."""
    return dt.datetime.now(site.zone).date() + dt.timedelta(days=1)


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


@pytest.fixture
def patients(site, patient, prescriber):
    """Grace Hughes and five more patients at North."""
    from openinfusion.patients import services

    others = [
        services.create_patient(
            actor=prescriber,
            site_id=site.pk,
            mrn=f"MRN-9{n}",
            given_name=f"Test{n}",
            family_name=f"Person{n}",
            sex="F",
            birth_date=dt.date(1960, 1, 1 + n),
        )
        for n in range(5)
    ]
    return [patient, *others]


def visit(site, patient, day, order=None, earliest=dt.time(8), latest=dt.time(12), minutes=120):
    from openinfusion.chairs.models import Appointment

    return Appointment.objects.create(
        site=site, patient=patient, order=order, date=day, earliest=earliest, latest=latest, duration_minutes=minutes
    )


def at(site, day, hhmm: str) -> dt.datetime:
    """A site-local moment of the test day."""
    from openinfusion.chairs.services import moment_of

    hour, minute = (int(part) for part in hhmm.split(":"))
    return moment_of(hour * 60 + minute, day, site)


def stored_violations(site, day, now: dt.datetime | None = None) -> list[str]:
    """Run the independent checker over the plan as it is stored in the rows (re-read from the
    database, not the solver's answer): chairs, nurses, setups, hoods, windows, arrivals."""
    from openinfusion.chairs import services
    from openinfusion.scheduling.checker import check_schedule
    from openinfusion.scheduling.model import Assignment, Schedule

    chairs, shifts, appointments = services.day_rows(site, day)
    minute = services.local_minute(now, day, site) if now is not None else None
    model = services.build_day(site, day, chairs, shifts, appointments, minute)
    assignments = []
    for a in appointments:
        if a.status == "done":
            continue
        if a.planned_start is None or a.chair_id is None or a.nurse_id is None:
            return [f"{a.patient.mrn} has no plan"]
        prep = services.local_minute(a.planned_prep_start, day, site) if a.planned_prep_start else None
        item = model.appointment(str(a.pk))
        assignments.append(
            Assignment(
                str(a.pk),
                services.local_minute(a.started_at or a.planned_start, day, site),
                str(a.chair_id),
                str(a.nurse_id),
                prep,
                (a.planned_prep_room or None) if prep is not None else None,
                prep + item.prep_minutes if prep is not None else None,
                arrival=services.local_minute(a.arrived_at or a.planned_arrival, day, site),
            )
        )
    return [v.message for v in check_schedule(model, Schedule(tuple(assignments), "stored", "STORED"))]
