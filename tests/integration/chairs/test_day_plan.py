"""Planning the day from the records: the stored plan passes the independent checker, the
pharmacy's needed-by follows the plan, an add-on re-plans the day, and only a scheduler books."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.integration.chairs.conftest import stored_violations, verified_order, visit


def test_plan_day_stores_a_schedule_the_checker_accepts(centre, day, patients, scheduler):
    from openinfusion.chairs.models import Appointment, DayPlan
    from openinfusion.chairs.services import plan_day
    from openinfusion.scheduling.model import overlaps

    for i, p in enumerate(patients):
        visit(centre, p, day, earliest=dt.time(8 + i % 3), latest=dt.time(13), minutes=90 + 30 * (i % 3))
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
    assert stored_violations(centre, day) == []
    for a in rows:  # every appointment time is inside the patient's window and before the start
        local = a.planned_arrival.astimezone(centre.zone).time()
        assert a.earliest <= local <= a.latest and a.planned_arrival <= a.planned_start


def test_needed_by_follows_the_planned_start(centre, day, patient, prescriber, pharmacist, scheduler):
    from openinfusion.chairs.services import plan_day
    from openinfusion.compounding import services as compounding
    from openinfusion.compounding.models import Preparation

    order = verified_order(patient, prescriber, pharmacist)
    preparation = compounding.plan_preparation(order.pk, actor=pharmacist)
    booked = visit(centre, patient, day, order=order, earliest=dt.time(11), latest=dt.time(12))
    plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    booked.refresh_from_db()
    preparation = Preparation.objects.get(pk=preparation.pk)
    assert preparation.needed_by == booked.planned_start


def test_booking_an_add_on_replans_the_day(centre, day, patients, scheduler):
    from openinfusion.audit.models import AuditEvent
    from openinfusion.chairs.models import Appointment
    from openinfusion.chairs.services import book_appointment, plan_day

    for p in patients[1:]:
        visit(centre, p, day, minutes=120)
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
            earliest=dt.time(20),
            latest=dt.time(21),
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


def test_no_one_is_started_by_a_nurse_on_break(centre, day, patients, scheduler):
    from openinfusion.chairs.models import Appointment, NurseShift
    from openinfusion.chairs.services import plan_day

    NurseShift.objects.filter(site=centre).update(break_start=dt.time(9), break_end=dt.time(10))
    for p in patients:
        visit(centre, p, day, earliest=dt.time(9), latest=dt.time(9, 30), minutes=60)
    plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    for a in Appointment.objects.filter(site=centre, date=day):
        start = a.planned_start.astimezone(centre.zone).time()
        setup_end = (dt.datetime.combine(day, start) + dt.timedelta(minutes=15)).time()
        assert setup_end <= dt.time(9) or start >= dt.time(10), f"{a.patient.mrn} started at {start}"
    assert stored_violations(centre, day) == []


def test_clean_room_time_comes_from_the_planned_preparation(centre, day, patient, prescriber, pharmacist, scheduler):
    from openinfusion.chairs import services
    from openinfusion.compounding import services as compounding

    order = verified_order(patient, prescriber, pharmacist)
    assert services.compounding_minutes([order.pk]) == {order.pk: services.DEFAULT_PREP_MINUTES}
    preparation = compounding.plan_preparation(order.pk, actor=pharmacist)
    minutes = services.compounding_minutes([order.pk])[order.pk]
    # oxaliplatin is hazardous: set-up, each step of the plan, and the hazardous handling
    assert minutes == 10 + 3 * len(preparation.plan["steps"]) + 10
    booked = visit(centre, patient, day, order=order, earliest=dt.time(9), latest=dt.time(10))
    services.plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    booked.refresh_from_db()
    assert booked.planned_prep_start + dt.timedelta(minutes=minutes) <= booked.planned_start
    assert booked.planned_prep_room  # the hazardous buffer room
    assert stored_violations(centre, day) == []


@pytest.mark.parametrize("premix_ok", [True, False])
def test_a_dose_that_may_be_premixed_is_ready_when_the_patient_arrives(
    premix_ok, centre, day, patient, prescriber, pharmacist, scheduler
):
    """Without premixing the patient waits for the compounding after check-in; with it (no same-day
    labs, visit confirmed) the dose is made before arrival and the infusion starts on arrival."""
    from openinfusion.chairs import services
    from openinfusion.compounding import services as compounding

    order = verified_order(patient, prescriber, pharmacist)
    compounding.plan_preparation(order.pk, actor=pharmacist)
    minutes = services.compounding_minutes([order.pk])[order.pk]
    booked = visit(centre, patient, day, order=order, earliest=dt.time(10), latest=dt.time(10))
    booked.premix_ok = premix_ok
    booked.save()
    services.plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    booked.refresh_from_db()
    wait = (booked.planned_start - booked.planned_arrival).total_seconds() / 60
    if premix_ok:
        assert wait == 0 and booked.planned_prep_start < booked.planned_arrival
    else:
        assert wait >= minutes and booked.planned_prep_start >= booked.planned_arrival
    assert stored_violations(centre, day) == []


@pytest.mark.django_db(transaction=True)
def test_planning_a_week_runs_on_the_worker_and_one_impossible_day_holds_up_no_other(
    committed_db, centre, day, patients, scheduler, client_for
):
    """Up to seven solves do not hold a web worker: the button queues the job and answers at once
    with its progress; the real worker plans each day; the board then shows each day's outcome."""
    from openinfusion.chairs.models import Appointment, DayPlan, NurseShift
    from openinfusion.cli import main
    from openinfusion.jobs.models import Job

    later = day + dt.timedelta(days=2)
    NurseShift.objects.create(site=centre, label="Nurse A", date=later, start=dt.time(7), end=dt.time(15))
    visit(centre, patients[0], day, earliest=dt.time(9), latest=dt.time(10))
    visit(centre, patients[1], later, earliest=dt.time(9), latest=dt.time(10))
    impossible = visit(centre, patients[2], day + dt.timedelta(days=1), earliest=dt.time(9), latest=dt.time(10))
    client = client_for(scheduler)
    asked = client.post("/schedule/plan-week", {"site": centre.code, "date": day.isoformat()}, HTTP_HX_REQUEST="true")
    job = Job.objects.get(kind="plan_week")
    assert "waiting for the worker" in asked.content.decode() and not DayPlan.objects.exists()

    assert main(["worker", "--batch"]) == 0

    job.refresh_from_db()
    assert job.status == "done" and (job.done, job.total) == (3, 3)
    board = client.get(f"/schedule/?site={centre.code}&date={day.isoformat()}&job={job.pk}").content.decode()
    assert "NO_FEASIBLE_PLAN" in board and f"{later:%a %d %b}: planned" in board  # the middle day has no nurse
    assert set(DayPlan.objects.values_list("date", flat=True)) == {day, later}
    assert Appointment.objects.get(pk=impossible.pk).planned_start is None
    assert stored_violations(centre, day) == [] and stored_violations(centre, later) == []


def test_without_htmx_the_week_button_comes_back_to_the_board_watching_its_job(centre, day, scheduler, client_for):
    from openinfusion.jobs.models import Job

    response = client_for(scheduler).post("/schedule/plan-week", {"site": centre.code, "date": day.isoformat()})
    job = Job.objects.get(kind="plan_week", requested_by=scheduler)
    assert response.status_code == 302 and response["Location"].endswith(f"&job={job.pk}")
    board = client_for(scheduler).get(response["Location"]).content.decode()
    assert 'id="week-job"' in board and f"/jobs/{job.pk}/" in board


def test_doses_made_at_the_supplying_pharmacy_are_planned_in_its_clean_room(
    site, other_site, hazardous_room, clean_room, day, patient, prescriber, pharmacist, make_user
):
    """The infusion centre (South here) has no clean room; North's pharmacy makes its doses: the plan
    books the dose in North's room, named with its site, ready before the chair time."""
    from openinfusion.chairs import services
    from openinfusion.chairs.models import Chair, NurseShift
    from openinfusion.compounding import services as compounding

    scheduler = make_user("centre-scheduler", "scheduler", sites=("north", "south"))
    Chair.objects.create(site=other_site, code="C1")
    NurseShift.objects.create(site=other_site, label="Nurse S", date=day, start=dt.time(8), end=dt.time(16))
    order = verified_order(patient, prescriber, pharmacist)
    preparation = compounding.plan_preparation(order.pk, actor=pharmacist)
    booked = visit(other_site, patient, day, order=order, earliest=dt.time(10), latest=dt.time(10))
    services.plan_day(other_site.pk, day, actor=scheduler, time_limit=1)
    booked.refresh_from_db()
    minutes = services.compounding_minutes([order.pk])[order.pk]
    assert booked.planned_prep_room == f"north/{preparation.room.code}"
    assert booked.planned_prep_start + dt.timedelta(minutes=minutes) <= booked.planned_start
    assert stored_violations(other_site, day) == []


def test_the_gantt_draws_only_the_chairs_in_use_and_names_the_free_ones(centre, day, patient, scheduler, client_for):
    """A busy centre has 40 chairs: the picture draws those with a visit or an outage that day and
    names the rest on one line instead of drawing 40 empty rows."""
    import re

    from openinfusion.chairs.services import plan_day

    visit(centre, patient, day, earliest=dt.time(9), latest=dt.time(10))
    plan_day(centre.pk, day, actor=scheduler, time_limit=1)
    page = client_for(scheduler).get(f"/schedule/?site={centre.code}&date={day.isoformat()}").content.decode()
    gantt = page[page.index('id="gantt"') : page.index("</svg>", page.index('id="gantt"'))]
    drawn = re.findall(r'class="chair">([^<]+)</text>', gantt)
    assert len(drawn) == 1 and gantt.count('class="appt-box"') == 1
    free = re.search(r'class="chair free-chairs">Free all day \((\d)\): ([^<]+)</text>', gantt)
    assert free is not None and free.group(1) == "4"
    assert sorted([*free.group(2).split(", "), *drawn]) == ["B1", "C1", "C2", "C3", "C4"]
