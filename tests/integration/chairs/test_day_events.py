"""The day as it happens: arrivals, patients seated, chairs out of service, delayed doses, moves and
cancellations are recorded and re-plan the day from the records; what has started stays put; the
stored plan always passes the independent checker; a booking or move that cannot fit changes
nothing; a fact is kept even when no feasible plan follows from it. Best slots are offered with
their cost to the day."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.integration.chairs.conftest import at, stored_violations, verified_order, visit


@pytest.fixture
def planned(centre, day, patients, scheduler):
    """Six visits, planned; returns them by MRN."""
    from openinfusion.chairs.models import Appointment
    from openinfusion.chairs.services import plan_day

    for i, p in enumerate(patients):
        visit(centre, p, day, earliest=dt.time(8 + i % 3), latest=dt.time(11), minutes=90 + 30 * (i % 3))
    plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    return {a.patient.mrn: a for a in Appointment.objects.filter(site=centre, date=day).select_related("patient")}


def planned_by_pk(planned, pk):
    return next(a for a in planned.values() if a.pk == pk)


def _reload(appointment):
    appointment.refresh_from_db()
    return appointment


def test_a_seated_patient_keeps_chair_and_start_when_another_arrives_late(centre, day, planned, scheduler):
    from openinfusion.audit.models import AuditEvent
    from openinfusion.chairs.services import record_arrival, seat_patient

    first = min(planned.values(), key=lambda a: a.planned_start)
    seated_at = first.planned_start
    seat_patient(first.pk, actor=scheduler, now=seated_at)
    first = _reload(first)
    chair, nurse = first.chair_id, first.nurse_id
    late = max(planned.values(), key=lambda a: a.planned_arrival)
    told = {a.pk: a.planned_arrival for a in planned.values() if a.pk != late.pk}
    arrival = late.planned_arrival + dt.timedelta(minutes=50)
    outcome = record_arrival(late.pk, actor=scheduler, now=arrival)
    assert outcome.warning == ""
    late, first = _reload(late), _reload(first)
    assert late.status == "arrived" and late.arrived_at == arrival
    assert late.planned_start >= arrival  # nobody starts before they are here
    assert (first.chair_id, first.nurse_id, first.started_at) == (chair, nurse, seated_at)
    assert {pk: _reload(planned_by_pk(planned, pk)).planned_arrival for pk in told} == told  # told times kept
    assert stored_violations(centre, day, now=arrival) == []
    assert AuditEvent.objects.filter(action="chairs:appointment:arrived", entity_id=str(late.pk)).exists()


def test_checking_in_or_seating_twice_is_refused_and_audited(centre, day, planned, scheduler):
    from openinfusion.audit.models import AuditEvent
    from openinfusion.chairs.services import record_arrival, seat_patient
    from openinfusion.errors import Conflict

    a = next(iter(planned.values()))
    record_arrival(a.pk, actor=scheduler, now=at(centre, day, "08:00"))
    with pytest.raises(Conflict, match="already checked in at 08:00"):
        record_arrival(a.pk, actor=scheduler, now=at(centre, day, "08:01"))
    seat_patient(a.pk, actor=scheduler, now=at(centre, day, "08:30"))
    with pytest.raises(Conflict) as refused:
        seat_patient(a.pk, actor=scheduler, now=at(centre, day, "08:31"))
    assert refused.value.code == "ALREADY_STARTED"
    assert _reload(a).started_at == at(centre, day, "08:30")
    assert AuditEvent.objects.filter(action="chairs:appointment:seat", outcome="refused").count() == 1


def test_a_chair_out_of_service_moves_its_visits_elsewhere(centre, day, planned, scheduler):
    from openinfusion.chairs.models import Chair, ChairOutage
    from openinfusion.chairs.services import chair_out_of_service

    victim = next(a for a in planned.values() if a.chair_id is not None)
    chair = Chair.objects.get(pk=victim.chair_id)
    now = at(centre, day, "07:00")
    outcome = chair_out_of_service(
        chair.pk, actor=scheduler, date=day, start=dt.time(7), end=dt.time(19), reason="recliner broken", now=now
    )
    assert outcome.warning == ""
    assert ChairOutage.objects.get().reason == "recliner broken"
    assert not any(_reload(a).chair_id == chair.pk for a in planned.values())
    assert stored_violations(centre, day, now=now) == []


def test_a_patient_in_the_chair_finishes_before_the_chair_goes_out(centre, day, planned, scheduler):
    from openinfusion.chairs.models import ChairOutage
    from openinfusion.chairs.services import chair_out_of_service, seat_patient

    first = min(planned.values(), key=lambda a: a.planned_start)
    seat_patient(first.pk, actor=scheduler, now=first.planned_start)
    first = _reload(first)
    chair_out_of_service(
        first.chair_id,
        actor=scheduler,
        date=day,
        start=dt.time(7),
        end=dt.time(19),
        reason="cleaning",
        now=first.planned_start,
    )
    outage = ChairOutage.objects.get()
    assert outage.start == first.started_at + dt.timedelta(minutes=first.duration_minutes)
    assert _reload(first).chair_id == outage.chair_id  # still there


def test_a_fact_is_kept_when_no_plan_follows_and_the_previous_plan_stays(centre, day, planned, scheduler):
    from openinfusion.audit.models import AuditEvent
    from openinfusion.chairs.models import Chair, ChairOutage
    from openinfusion.chairs.services import chair_out_of_service

    def state():
        return {a.pk: (_reload(a).planned_start, a.chair_id) for a in planned.values()}

    refused = 0
    for chair in Chair.objects.filter(site=centre):
        before = state()
        outcome = chair_out_of_service(
            chair.pk,
            actor=scheduler,
            date=day,
            start=dt.time(6),
            end=dt.time(20),
            reason="flood",
            now=at(centre, day, "06:00"),
        )
        if outcome.warning:
            refused += 1
            assert "previous plan is kept" in outcome.warning
            assert state() == before
    assert refused  # with every chair out, no plan fits
    assert ChairOutage.objects.count() == Chair.objects.filter(site=centre).count()  # every fact recorded
    assert AuditEvent.objects.filter(action="chairs:day:replan_failed").exists()


def test_a_delayed_dose_pushes_the_start_and_needs_a_reason(centre, day, patient, prescriber, pharmacist, scheduler):
    from openinfusion.chairs.services import delay_dose, plan_day
    from openinfusion.compounding import services as compounding
    from openinfusion.errors import InvalidInput

    order = verified_order(patient, prescriber, pharmacist)
    compounding.plan_preparation(order.pk, actor=pharmacist)
    a = visit(centre, patient, day, order=order, earliest=dt.time(9), latest=dt.time(10))
    plan_day(centre.pk, day, actor=scheduler, time_limit=2)
    now = at(centre, day, "08:00")
    with pytest.raises(InvalidInput):
        delay_dose(a.pk, actor=scheduler, ready_at=dt.time(13), reason=" ", now=now)
    assert _reload(a).dose_ready_not_before is None
    outcome = delay_dose(a.pk, actor=scheduler, ready_at=dt.time(13), reason="drug out of stock", now=now)
    assert outcome.warning == ""
    assert _reload(a).planned_start >= at(centre, day, "13:00")
    assert stored_violations(centre, day, now=now) == []


def test_a_move_that_cannot_fit_changes_nothing(centre, day, planned, scheduler):
    from openinfusion.chairs.services import move_appointment
    from openinfusion.errors import Conflict

    a = next(iter(planned.values()))
    before = (a.earliest, a.latest, a.planned_start)
    with pytest.raises(Conflict):
        move_appointment(a.pk, actor=scheduler, earliest=dt.time(20), latest=dt.time(21), now=at(centre, day, "07:00"))
    a = _reload(a)
    assert (a.earliest, a.latest, a.planned_start) == before
    moved = move_appointment(
        a.pk, actor=scheduler, earliest=dt.time(13), latest=dt.time(14), now=at(centre, day, "07:00")
    )
    assert at(centre, day, "13:00") <= moved.planned_arrival <= at(centre, day, "14:00")
    assert stored_violations(centre, day, now=at(centre, day, "07:00")) == []


def test_cancelling_replans_and_a_started_visit_cannot_be_cancelled(centre, day, planned, scheduler):
    from openinfusion.chairs.services import cancel_appointment, seat_patient
    from openinfusion.errors import Conflict

    first, second = sorted(planned.values(), key=lambda a: a.planned_start)[:2]
    seat_patient(first.pk, actor=scheduler, now=first.planned_start)
    with pytest.raises(Conflict):
        cancel_appointment(first.pk, actor=scheduler, now=first.planned_start)
    assert _reload(first).status == "in_chair"
    cancel_appointment(second.pk, actor=scheduler, reason="unwell", now=first.planned_start)
    assert _reload(second).status == "cancelled" and second.chair_id is None
    assert stored_violations(centre, day, now=first.planned_start) == []


def test_best_slots_are_in_the_window_cheapest_first_and_booking_one_keeps_its_time(
    centre, day, planned, patients, scheduler
):
    from openinfusion.chairs.services import book_appointment, offer_slots
    from openinfusion.patients.services import create_patient

    now = at(centre, day, "07:00")
    offers = offer_slots(
        centre.pk,
        actor=scheduler,
        date=day,
        earliest=dt.time(9),
        latest=dt.time(15),
        duration_minutes=60,
        now=now,
    )
    assert offers
    assert all(dt.time(9) <= o.arrival <= dt.time(15) and o.start >= o.arrival for o in offers)
    assert [o.cost for o in offers] == sorted(o.cost for o in offers)
    best = offers[0]
    newcomer = create_patient(
        actor=scheduler,
        site_id=centre.pk,
        mrn="MRN-NEW",
        given_name="New",
        family_name="Patient",
        sex="M",
        birth_date=dt.date(1970, 5, 5),
    )
    booked = book_appointment(
        centre.pk,
        actor=scheduler,
        mrn=newcomer.mrn,
        date=day,
        earliest=best.arrival,
        latest=best.arrival,
        duration_minutes=60,
        now=now,
    )
    assert booked.planned_arrival == at(centre, day, f"{best.arrival:%H:%M}")
    assert stored_violations(centre, day, now=now) == []


def test_the_board_draws_the_day_and_only_a_scheduler_records_events(
    centre, day, planned, nurse, scheduler, client_for
):
    a = next(iter(planned.values()))
    url = f"/schedule/?site={centre.code}&date={day.isoformat()}"
    page = client_for(nurse).get(url).content.decode()
    for picture in ('id="gantt"', 'id="occupancy"', 'id="nurse-load"', 'id="pharmacy"'):
        assert picture in page
    assert client_for(nurse).post(f"/schedule/appointments/{a.pk}/arrive").status_code == 403
    assert _reload(a).status == "booked"
    refused = client_for(scheduler).post(f"/schedule/appointments/{a.pk}/arrive", follow=True)
    assert "NOT_TODAY" in refused.content.decode() and _reload(a).status == "booked"  # the visit is tomorrow
    today = visit(centre, a.patient, dt.datetime.now(centre.zone).date())
    response = client_for(scheduler).post(f"/schedule/appointments/{today.pk}/arrive", follow=True)
    assert "checked in" in response.content.decode()
    assert _reload(today).status == "arrived" and today.arrived_at is not None
    offers = (
        client_for(scheduler)
        .get(f"{url}&find=1&mrn={a.patient.mrn}&duration=45&earliest=09:00&latest=13:00")
        .content.decode()
    )
    assert 'id="offers"' in offers and "Book " in offers


def test_a_nurse_in_a_setup_cannot_start_another_patient_and_leaving_frees_the_chair(centre, day, patients, scheduler):
    """At 08:00 only Nurse A is on shift: a second patient cannot be started during the first one's
    15-min setup; after it, they can. When the first patient leaves, the chair is free again."""
    from openinfusion.chairs.models import Appointment
    from openinfusion.chairs.services import finish_visit, plan_day, seat_patient
    from openinfusion.errors import Conflict

    first = visit(centre, patients[0], day, earliest=dt.time(8), latest=dt.time(8), minutes=60)
    second = visit(centre, patients[1], day, earliest=dt.time(8), latest=dt.time(8), minutes=60)
    plan_day(centre.pk, day, actor=scheduler, time_limit=1)
    seat_patient(first.pk, actor=scheduler, now=at(centre, day, "08:00"))
    with pytest.raises(Conflict) as refused:
        seat_patient(second.pk, actor=scheduler, now=at(centre, day, "08:05"))
    assert refused.value.code == "NO_NURSE_FREE" and _reload(second).status == "booked"
    seat_patient(second.pk, actor=scheduler, now=at(centre, day, "08:15"))
    outcome = finish_visit(first.pk, actor=scheduler, now=at(centre, day, "08:30"))
    assert outcome.warning == "" and _reload(first).status == "done"
    third = Appointment.objects.create(
        site=centre, patient=patients[2], date=day, earliest=dt.time(8, 30), latest=dt.time(9), duration_minutes=30
    )
    from openinfusion.chairs.services import move_appointment

    move_appointment(
        third.pk, actor=scheduler, earliest=dt.time(8, 30), latest=dt.time(9), now=at(centre, day, "08:31")
    )
    assert stored_violations(centre, day, now=at(centre, day, "08:31")) == []


def test_another_sites_scheduler_cannot_touch_the_day(centre, day, planned, other_site, make_user):
    from openinfusion.chairs import services
    from openinfusion.chairs.models import Chair, ChairOutage
    from openinfusion.errors import NotFound

    south = make_user("south-scheduler", "scheduler", sites=("south",))
    a = next(iter(planned.values()))
    now = at(centre, day, "09:00")
    for event in (
        lambda: services.record_arrival(a.pk, actor=south, now=now),
        lambda: services.seat_patient(a.pk, actor=south, now=now),
        lambda: services.cancel_appointment(a.pk, actor=south, reason="x", now=now),
        lambda: services.move_appointment(a.pk, actor=south, earliest=dt.time(13), latest=dt.time(14), now=now),
        lambda: services.chair_out_of_service(
            Chair.objects.filter(site=centre).first().pk,
            actor=south,
            date=day,
            start=dt.time(9),
            end=dt.time(10),
            reason="x",
            now=now,
        ),
    ):
        with pytest.raises(NotFound):
            event()
    a = _reload(a)
    assert a.status == "booked" and not ChairOutage.objects.exists()


def test_planning_during_the_day_keeps_who_is_here_and_plans_nothing_before_now(centre, day, planned, scheduler):
    from openinfusion.chairs.services import plan_day, record_arrival
    from openinfusion.errors import Conflict

    here = min(planned.values(), key=lambda a: a.planned_arrival)
    record_arrival(here.pk, actor=scheduler, now=at(centre, day, "09:30"))
    told = {a.pk: a.planned_arrival for a in planned.values() if a.pk != here.pk}
    now = at(centre, day, "10:00")
    plan_day(centre.pk, day, actor=scheduler, time_limit=1, now=now)
    for a in planned.values():
        a = _reload(a)
        assert a.planned_start >= now
        if a.pk in told:
            assert a.planned_arrival == told[a.pk]
    assert _reload(here).planned_arrival == at(centre, day, "09:30")
    assert stored_violations(centre, day, now=now) == []
    with pytest.raises(Conflict) as over:
        plan_day(centre.pk, day, actor=scheduler, now=at(centre, day + dt.timedelta(days=1), "08:00"))
    assert over.value.code == "DAY_OVER"


def test_bookings_and_moves_into_the_past_twice_or_after_arrival_are_refused_and_audited(
    centre, day, planned, patients, scheduler
):
    from openinfusion.audit.models import AuditEvent
    from openinfusion.chairs.services import book_appointment, move_appointment, record_arrival
    from openinfusion.errors import Conflict, InvalidInput

    a = next(iter(planned.values()))
    noon = at(centre, day, "12:00")
    with pytest.raises(InvalidInput) as passed:
        move_appointment(a.pk, actor=scheduler, earliest=dt.time(8), latest=dt.time(9), now=noon)
    assert passed.value.code == "WINDOW_PASSED"
    with pytest.raises(Conflict) as twice:
        book_appointment(
            centre.pk,
            actor=scheduler,
            mrn=a.patient.mrn,
            date=day,
            earliest=dt.time(14),
            latest=dt.time(15),
            duration_minutes=30,
            now=noon,
        )
    assert twice.value.code == "ALREADY_BOOKED"
    record_arrival(a.pk, actor=scheduler, now=at(centre, day, "08:00"))
    with pytest.raises(Conflict) as here:
        move_appointment(a.pk, actor=scheduler, earliest=dt.time(14), latest=dt.time(15), now=noon)
    assert here.value.code == "ALREADY_ARRIVED"
    assert (_reload(a).earliest, a.latest) == (planned[a.patient.mrn].earliest, planned[a.patient.mrn].latest)
    refused = AuditEvent.objects.filter(outcome="refused")
    assert refused.filter(action="chairs:appointment:move").count() == 2
    assert refused.filter(action="chairs:appointment:book").count() == 1


def test_times_follow_the_wall_clock_on_the_day_clocks_go_forward(site, patients, nurse, scheduler, hazardous_room):
    """2030-03-10, New York springs forward at 02:00: a patient told 11:00 stays told 11:00 through
    re-plans, and nobody is planned before the time they were told."""
    from openinfusion.chairs.models import Appointment, Chair, NurseShift
    from openinfusion.chairs.services import plan_day, record_arrival

    dst = dt.date(2030, 3, 10)
    for n in range(1, 4):
        Chair.objects.create(site=site, code=f"C{n}")
    NurseShift.objects.create(site=site, nurse=nurse, label="Nurse A", date=dst, start=dt.time(7), end=dt.time(18))
    visits = [
        visit(site, p, dst, earliest=dt.time(9 + i), latest=dt.time(9 + i), minutes=60)
        for i, p in enumerate(patients[:3])
    ]
    plan_day(site.pk, dst, actor=scheduler, time_limit=1)
    told = {}
    for v in visits:
        v = _reload(v)
        local = v.planned_arrival.astimezone(site.zone)
        assert (local.date(), local.time()) == (dst, v.earliest)  # a one-minute window: exactly that time
        told[v.pk] = v.planned_arrival
    for minute in ("08:00", "08:10"):
        late = Appointment.objects.filter(pk=visits[0].pk, status="booked").first()
        if late is not None:
            record_arrival(late.pk, actor=scheduler, now=at(site, dst, minute))
    for v in visits[1:]:
        v = _reload(v)
        assert v.planned_arrival == told[v.pk] and v.planned_start >= v.planned_arrival
    assert stored_violations(site, dst, now=at(site, dst, "08:10")) == []


def test_booking_a_visit_links_the_patients_order_of_that_day_and_sets_its_needed_by(
    centre, day, patients, scheduler, prescriber, pharmacist, patient
):
    """The scheduler books without naming an order: the visit carries the patient's order planned
    that day (the site's calendar), the plan moves the dose's needed-by to the visit's start, and
    that start is the time the bedside and the chair board go by."""
    from openinfusion.administration.board import chair_board
    from openinfusion.chairs.services import book_appointment, visit_start
    from openinfusion.compounding import services as compounding

    now = at(centre, day, "07:00")
    starts_in = at(centre, day, "10:30") - dt.datetime.now(dt.UTC)
    order = verified_order(patient, prescriber, pharmacist, starts_in=starts_in)
    preparation = compounding.plan_preparation(order.pk, actor=pharmacist)
    booked = book_appointment(
        centre.pk,
        actor=scheduler,
        mrn=patient.mrn,
        date=day,
        earliest=dt.time(13),
        latest=dt.time(14),
        duration_minutes=120,
        now=now,
    )
    assert booked.order_id == order.pk
    start = visit_start(order)
    assert start is not None and at(centre, day, "13:00") <= start <= at(centre, day, "15:00")
    preparation.refresh_from_db()
    assert preparation.needed_by == start
    row = next(r for r in chair_board(pharmacist, day) if r.order.pk == order.pk)
    assert row.due == start and row.order.planned_start != start
    again = book_appointment(
        centre.pk,
        actor=scheduler,
        mrn=patients[1].mrn,
        date=day,
        earliest=dt.time(9),
        latest=dt.time(10),
        duration_minutes=60,
        now=now,
    )
    assert again.order_id is None  # that patient has no order that day: a visit without one
