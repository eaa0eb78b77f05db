"""API operations for the infusion centre's schedule (operation ids are a contract): get_day,
plan_day, offer_slots, book_appointment, record_arrival, seat_patient, finish_visit, delay_dose,
move_appointment, cancel_appointment, chair_out_of_service."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import P, QueryEx, Router, Schema, Status

from openinfusion.accounts.permissions import Action
from openinfusion.api import InputSchema, actor, allow
from openinfusion.chairs import services
from openinfusion.chairs.models import Appointment, Chair, DayPlan
from openinfusion.errors import NotFound

router = Router(tags=["schedule"])


class AppointmentOut(Schema):
    id: int
    patient: str
    order_id: int | None
    date: dt.date
    earliest: dt.time
    latest: dt.time
    duration_minutes: int
    needs_labs: bool
    premix_ok: bool
    add_on: bool
    status: str
    planned_arrival: dt.datetime | None
    planned_start: dt.datetime | None
    chair: str | None
    nurse: str | None
    planned_prep_start: dt.datetime | None
    arrived_at: dt.datetime | None
    started_at: dt.datetime | None
    dose_ready_not_before: dt.datetime | None


def appointment_out(a: Appointment) -> AppointmentOut:
    return AppointmentOut(
        id=a.pk,
        patient=a.patient.mrn,
        order_id=a.order_id,
        date=a.date,
        earliest=a.earliest,
        latest=a.latest,
        duration_minutes=a.duration_minutes,
        needs_labs=a.needs_labs,
        premix_ok=a.premix_ok,
        add_on=a.add_on,
        status=a.status,
        planned_arrival=a.planned_arrival,
        planned_start=a.planned_start,
        chair=a.chair.code if a.chair else None,
        nurse=a.nurse.label if a.nurse else None,
        planned_prep_start=a.planned_prep_start,
        arrived_at=a.arrived_at,
        started_at=a.started_at,
        dose_ready_not_before=a.dose_ready_not_before,
    )


class RecordedOut(Schema):
    appointment: AppointmentOut | None
    warning: str
    """Set when no feasible plan followed from the recorded fact: the previous plan was kept."""


def recorded_out(outcome: services.Recorded) -> RecordedOut:
    a = outcome.appointment
    return RecordedOut(appointment=appointment_out(a) if a is not None else None, warning=outcome.warning)


class DayOut(Schema):
    site: str
    date: dt.date
    status: str | None
    planned_at: dt.datetime | None
    metrics: dict[str, object]
    baseline: dict[str, object]
    appointments: list[AppointmentOut]


def day_out(site_code: str, date: dt.date, request: HttpRequest) -> DayOut:
    site = services.site_for(actor(request), site_code)
    _, _, appointments = services.day_rows(site, date)
    plan = DayPlan.objects.filter(site=site, date=date).first()
    return DayOut(
        site=site.code,
        date=date,
        status=plan.status if plan else None,
        planned_at=plan.planned_at if plan else None,
        metrics=plan.metrics if plan else {},
        baseline=plan.baseline if plan else {},
        appointments=[appointment_out(a) for a in appointments],
    )


@router.get("/days/{site_code}/{date}", response=DayOut, operation_id="get_day", auth=allow(Action.VIEW_SCHEDULE))
def get_day(request: HttpRequest, site_code: str, date: dt.date) -> DayOut:
    return day_out(site_code, date, request)


@router.post(
    "/days/{site_code}/{date}/plan", response=DayOut, operation_id="plan_day", auth=allow(Action.MANAGE_SCHEDULE)
)
def plan_day(
    request: HttpRequest,
    site_code: str,
    date: dt.date,
    time_limit: QueryEx[float, P(gt=0, allow_inf_nan=False, description="seconds, 0.5 to 30")] = 5.0,
) -> DayOut:
    site = services.site_for(actor(request), site_code)
    services.plan_day(site.pk, date, actor=actor(request), time_limit=min(max(time_limit, 0.5), 30.0))
    return day_out(site_code, date, request)


class OfferOut(Schema):
    arrival: dt.time
    start: dt.time
    chair: str
    nurse: str
    wait: int
    cost: int
    day_length_change: int
    overtime_change: int
    peak_change: int


@router.get(
    "/days/{site_code}/{date}/offers",
    response=list[OfferOut],
    operation_id="offer_slots",
    auth=allow(Action.VIEW_SCHEDULE),
)
def offer_slots(
    request: HttpRequest,
    site_code: str,
    date: dt.date,
    earliest: dt.time,
    latest: dt.time,
    duration_minutes: int,
    needs_labs: bool = False,
) -> list[OfferOut]:
    site = services.site_for(actor(request), site_code)
    offers = services.offer_slots(
        site.pk,
        actor=actor(request),
        date=date,
        earliest=earliest,
        latest=latest,
        duration_minutes=duration_minutes,
        needs_labs=needs_labs,
    )
    return [OfferOut(**o.__dict__) for o in offers]


class BookIn(InputSchema):
    site: str
    mrn: str
    date: dt.date
    earliest: dt.time
    latest: dt.time
    duration_minutes: int
    needs_labs: bool = False
    premix_ok: bool = False
    order_id: int | None = None


@router.post(
    "/appointments",
    response={201: AppointmentOut},
    operation_id="book_appointment",
    auth=allow(Action.MANAGE_SCHEDULE),
)
def book_appointment(request: HttpRequest, payload: BookIn) -> Status[AppointmentOut]:
    me = actor(request)
    site = services.site_for(me, payload.site)
    booked = services.book_appointment(
        site.pk,
        actor=me,
        mrn=payload.mrn,
        date=payload.date,
        earliest=payload.earliest,
        latest=payload.latest,
        duration_minutes=payload.duration_minutes,
        needs_labs=payload.needs_labs,
        premix_ok=payload.premix_ok,
        order_id=payload.order_id,
    )
    return Status(201, appointment_out(booked))


@router.post(
    "/appointments/{appointment_id}/arrive",
    response=RecordedOut,
    operation_id="record_arrival",
    auth=allow(Action.MANAGE_SCHEDULE),
)
def record_arrival(request: HttpRequest, appointment_id: int) -> RecordedOut:
    return recorded_out(services.record_arrival(appointment_id, actor=actor(request)))


@router.post(
    "/appointments/{appointment_id}/finish",
    response=RecordedOut,
    operation_id="finish_visit",
    auth=allow(Action.MANAGE_SCHEDULE),
)
def finish_visit(request: HttpRequest, appointment_id: int) -> RecordedOut:
    return recorded_out(services.finish_visit(appointment_id, actor=actor(request)))


@router.post(
    "/appointments/{appointment_id}/seat",
    response=RecordedOut,
    operation_id="seat_patient",
    auth=allow(Action.MANAGE_SCHEDULE),
)
def seat_patient(request: HttpRequest, appointment_id: int) -> RecordedOut:
    return recorded_out(services.seat_patient(appointment_id, actor=actor(request)))


class DelayIn(InputSchema):
    ready_at: dt.time
    reason: str


@router.post(
    "/appointments/{appointment_id}/delay-dose",
    response=RecordedOut,
    operation_id="delay_dose",
    auth=allow(Action.MANAGE_SCHEDULE),
)
def delay_dose(request: HttpRequest, appointment_id: int, payload: DelayIn) -> RecordedOut:
    return recorded_out(
        services.delay_dose(appointment_id, actor=actor(request), ready_at=payload.ready_at, reason=payload.reason)
    )


class AppointmentMoveIn(InputSchema):
    earliest: dt.time
    latest: dt.time


@router.post(
    "/appointments/{appointment_id}/move",
    response=AppointmentOut,
    operation_id="move_appointment",
    auth=allow(Action.MANAGE_SCHEDULE),
)
def move_appointment(request: HttpRequest, appointment_id: int, payload: AppointmentMoveIn) -> AppointmentOut:
    return appointment_out(
        services.move_appointment(
            appointment_id, actor=actor(request), earliest=payload.earliest, latest=payload.latest
        )
    )


class AppointmentCancelIn(InputSchema):
    reason: str = ""


@router.post(
    "/appointments/{appointment_id}/cancel",
    response=RecordedOut,
    operation_id="cancel_appointment",
    auth=allow(Action.MANAGE_SCHEDULE),
)
def cancel_appointment(request: HttpRequest, appointment_id: int, payload: AppointmentCancelIn) -> RecordedOut:
    return recorded_out(services.cancel_appointment(appointment_id, actor=actor(request), reason=payload.reason))


class OutageIn(InputSchema):
    date: dt.date
    start: dt.time
    end: dt.time
    reason: str


@router.post(
    "/chairs/{site_code}/{chair_code}/out-of-service",
    response=RecordedOut,
    operation_id="chair_out_of_service",
    auth=allow(Action.MANAGE_SCHEDULE),
)
def chair_out_of_service(request: HttpRequest, site_code: str, chair_code: str, payload: OutageIn) -> RecordedOut:
    me = actor(request)
    chair = Chair.objects.filter(site=services.site_for(me, site_code), code=chair_code).first()
    if chair is None:
        raise NotFound("No chair with that code here.", code="UNKNOWN_CHAIR")
    return recorded_out(
        services.chair_out_of_service(
            chair.pk, actor=me, date=payload.date, start=payload.start, end=payload.end, reason=payload.reason
        )
    )
