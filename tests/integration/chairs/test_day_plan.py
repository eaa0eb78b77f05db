"""Planning the day from the records: the stored plan passes the independent checker, the
pharmacy's needed-by follows the plan, an add-on re-plans the day, and only a scheduler books."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.integration.chairs.conftest import verified_order


def _visit(site, patient, day, order=None, earliest=dt.time(8), latest=dt.time(12), minutes=120):
    from openinfusion.chairs.models import Appointment

    return Appointment.objects.create(
        site=site, patient=patient, order=order, date=day, earliest=earliest, latest=latest, duration_minutes=minutes
    )


def _stored_schedule(site, day):
    """The plan as stored in the rows, in the pure model, for the checker."""
    from openinfusion.chairs import services
    from openinfusion.scheduling.model import Assignment, Schedule

    chairs, shifts, appointments = services.day_rows(site, day)
    model = services.build_day(site, day, chairs, shifts, appointments)
    assignments = []
    for a in appointments:
        assert a.planned_start is not None and a.chair_id and a.nurse_id
        start = services.local_minute(a.planned_start, day, site)
        prep = services.local_minute(a.planned_prep_start, day, site) if a.planned_prep_start else None
        planned = model.appointment(str(a.pk))
        assignments.append(Assignment(str(a.pk), start, str(a.chair_id), str(a.nurse_id), prep, None, None))
        assert planned.earliest <= start <= planned.latest
    return model, Schedule(tuple(assignments), "stored", "STORED")


@pytest.fixture
def patients(site, patient, prescriber):
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


def test_plan_day_stores_a_schedule_the_checker_accepts(centre, day, patients, scheduler):
    from openinfusion.chairs.models import Appointment, DayPlan
    from openinfusion.chairs.services import plan_day
    from openinfusion.scheduling.model import overlaps

    for i, p in enumerate(patients):
        _visit(centre, p, day, earliest=dt.time(8 + i % 3), latest=dt.time(13), minutes=90 + 30 * (i % 3))
    plan = plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    assert plan.status in {"OPTIMAL", "FEASIBLE", "HINT"}
    assert DayPlan.objects.get(site=centre, date=day).metrics["scheduled"] == len(patients)
    rows = list(Appointment.objects.filter(site=centre, date=day))
    assert all(a.planned_start and a.chair_id and a.nurse_id for a in rows)
    # no two visits share a chair at once
    for a in rows:
        for b in rows:
            if a.pk < b.pk and a.chair_id == b.chair_id:
                ea = a.planned_start + dt.timedelta(minutes=a.duration_minutes)
                eb = b.planned_start + dt.timedelta(minutes=b.duration_minutes)
                assert not overlaps(
                    a.planned_start.timestamp(), ea.timestamp(), b.planned_start.timestamp(), eb.timestamp()
                )
    assert plan.baseline  # FCFS metrics kept beside the plan's


def test_needed_by_follows_the_planned_start(centre, day, patient, prescriber, pharmacist, scheduler):
    from openinfusion.chairs.services import plan_day
    from openinfusion.compounding import services as compounding
    from openinfusion.compounding.models import Preparation

    order = verified_order(patient, prescriber, pharmacist)
    preparation = compounding.plan_preparation(order.pk, actor=pharmacist)
    visit = _visit(centre, patient, day, order=order, earliest=dt.time(11), latest=dt.time(12))
    plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    visit.refresh_from_db()
    preparation = Preparation.objects.get(pk=preparation.pk)
    assert preparation.needed_by == visit.planned_start


def test_booking_an_add_on_replans_the_day(centre, day, patients, scheduler):
    from openinfusion.audit.models import AuditEvent
    from openinfusion.chairs.models import Appointment
    from openinfusion.chairs.services import book_appointment, plan_day

    for p in patients[1:]:
        _visit(centre, p, day, minutes=120)
    plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    before = AuditEvent.objects.filter(action="chairs:day:planned").count()
    added = book_appointment(
        centre.pk,
        actor=scheduler,
        mrn=patients[0].mrn,
        date=day,
        earliest=dt.time(13),
        latest=dt.time(15),
        duration_minutes=60,
    )
    assert added.add_on and added.planned_start is not None and added.chair_id is not None
    assert AuditEvent.objects.filter(action="chairs:day:planned").count() == before + 1
    assert not Appointment.objects.filter(site=centre, date=day, planned_start__isnull=True).exclude(status="cancelled")


def test_an_add_on_that_cannot_fit_is_refused_and_nothing_is_booked(centre, day, patient, scheduler):
    from openinfusion.chairs.models import Appointment
    from openinfusion.chairs.services import book_appointment
    from openinfusion.errors import Conflict

    with pytest.raises(Conflict):
        book_appointment(
            centre.pk,
            actor=scheduler,
            mrn=patient.mrn,
            date=day,
            earliest=dt.time(5),
            latest=dt.time(5, 30),
            duration_minutes=60,
        )
    assert not Appointment.objects.exists()


def test_a_nurse_sees_the_board_but_cannot_book(centre, day, patient, nurse, scheduler, client_for):
    from openinfusion.chairs.models import Appointment

    form = {
        "site": centre.code,
        "date": day.isoformat(),
        "mrn": patient.mrn,
        "duration": "60",
        "earliest": "10:00",
        "latest": "14:00",
    }
    assert client_for(nurse).post("/schedule/book", form).status_code == 403
    assert not Appointment.objects.exists()
    assert client_for(nurse).get("/schedule/").status_code == 200
    scheduler_client = client_for(scheduler)
    response = scheduler_client.post("/schedule/book", form, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Booked" in page and patient.mrn in page and 'id="gantt"' in page
    assert Appointment.objects.get().chair is not None
