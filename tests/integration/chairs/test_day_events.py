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
    arrival = late.planned_arrival + dt.timedelta(minutes=50)
    outcome = record_arrival(late.pk, actor=scheduler, now=arrival)
    assert outcome.warning == ""
    late, first = _reload(late), _reload(first)
    assert late.status == "arrived" and late.arrived_at == arrival
    assert late.planned_start >= arrival  # nobody starts before they are here
    assert (first.chair_id, first.nurse_id, first.started_at) == (chair, nurse, seated_at)
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
    booked = book_appointment(
        centre.pk,
        actor=scheduler,
        mrn=patients[0].mrn,
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
    response = client_for(scheduler).post(f"/schedule/appointments/{a.pk}/arrive", follow=True)
    assert "checked in" in response.content.decode()
    assert _reload(a).status == "arrived"
    offers = (
        client_for(scheduler)
        .get(f"{url}&find=1&mrn={a.patient.mrn}&duration=45&earliest=09:00&latest=13:00")
        .content.decode()
    )
    assert 'id="offers"' in offers and "Book " in offers
