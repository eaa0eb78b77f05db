"""API operations for dispensing and administration (operation ids are a contract):
dispense_preparation, record_handoff, receive_dispense, return_preparation, bedside_verify,
record_pump_program, start_administration, change_rate, record_vitals, record_reaction,
end_administration, get_education_pdf, record_education, get_delivery_manifest_pdf, chair_board."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from openinfusion.accounts.permissions import Action
from openinfusion.administration import board, delivery, education, services
from openinfusion.administration.models import Administration, Dispense
from openinfusion.api import InputSchema, actor, allow

router = Router(tags=["administration"])


class DispenseOut(Schema):
    id: int
    preparation: str
    order_id: int
    destination: str
    place: str
    cold_chain: bool
    status: str
    closed_reason: str


def dispense_out(d: Dispense) -> DispenseOut:
    return DispenseOut(
        id=d.pk,
        preparation=d.preparation.barcode,
        order_id=d.preparation.order_id,
        destination=d.destination,
        place=d.place,
        cold_chain=d.cold_chain,
        status=d.status,
        closed_reason=d.closed_reason,
    )


class DispenseIn(InputSchema):
    preparation_id: int
    destination: str
    place: str


@router.post(
    "/dispenses", response={201: DispenseOut}, operation_id="dispense_preparation", auth=allow(Action.DISPENSE)
)
def dispense_preparation(request: HttpRequest, payload: DispenseIn) -> Status[DispenseOut]:
    dispense = services.dispense_preparation(
        payload.preparation_id, actor=actor(request), destination=payload.destination, place=payload.place
    )
    return Status(201, dispense_out(dispense))


class TemperatureIn(InputSchema):
    temperature_c: Decimal | None = None
    note: str = ""


@router.post(
    "/dispenses/{dispense_id}/handoff", response=DispenseOut, operation_id="record_handoff", auth=allow(Action.HANDOFF)
)
def record_handoff(request: HttpRequest, dispense_id: int, payload: TemperatureIn) -> DispenseOut:
    me = actor(request)
    services.record_handoff(dispense_id, actor=me, temperature_c=payload.temperature_c, note=payload.note)
    return dispense_out(services.dispense_for(me, dispense_id))


@router.post(
    "/dispenses/{dispense_id}/receive",
    response=DispenseOut,
    operation_id="receive_dispense",
    auth=allow(Action.HANDOFF),
)
def receive_dispense(request: HttpRequest, dispense_id: int, payload: TemperatureIn) -> DispenseOut:
    return dispense_out(
        services.receive_dispense(dispense_id, actor=actor(request), temperature_c=payload.temperature_c)
    )


class ReturnIn(InputSchema):
    reason: str
    temperature_c: Decimal | None = None
    intact: bool = True


@router.post(
    "/dispenses/{dispense_id}/return",
    response=DispenseOut,
    operation_id="return_preparation",
    auth=allow(Action.HANDOFF),
)
def return_preparation(request: HttpRequest, dispense_id: int, payload: ReturnIn) -> DispenseOut:
    return dispense_out(
        services.return_preparation(
            dispense_id,
            actor=actor(request),
            reason=payload.reason,
            temperature_c=payload.temperature_c,
            intact=payload.intact,
        )
    )


@router.get(
    "/dispenses/{dispense_id}/manifest.pdf", operation_id="get_delivery_manifest_pdf", auth=allow(Action.HANDOFF)
)
def get_delivery_manifest_pdf(request: HttpRequest, dispense_id: int) -> HttpResponse:
    return HttpResponse(delivery.manifest_pdf_for(actor(request), dispense_id), content_type="application/pdf")


class WarningOut(Schema):
    code: str
    message: str


class AdministrationOut(Schema):
    id: int
    order_id: int
    patient: str
    status: str
    pump: str | None
    rate_ml_h: Decimal | None
    volume_ml: Decimal | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    amount_given: Decimal | None
    partial: bool
    warnings: list[WarningOut] = Field(
        default=[], description="what the nurse must see before starting (e.g. BUD_BEFORE_END); not refusals"
    )


def administration_out(a: Administration) -> AdministrationOut:
    return AdministrationOut(
        id=a.pk,
        order_id=a.order_id,
        patient=str(a.patient),
        status=a.status,
        pump=a.pump.serial if a.pump else None,
        rate_ml_h=a.rate_ml_h,
        volume_ml=a.volume_ml,
        started_at=a.started_at,
        ended_at=a.ended_at,
        amount_given=a.amount_given,
        partial=a.partial,
        warnings=[WarningOut(code=w.code, message=w.message) for w in a.warnings],
    )


class BedsideIn(InputSchema):
    wristband: str
    label: str
    order_id: int | None = Field(
        default=None, description="the dose being given, chosen on the chair board or the schedule (required)"
    )


@router.post(
    "/administrations",
    response={200: AdministrationOut, 201: AdministrationOut},
    operation_id="bedside_verify",
    auth=allow(Action.ADMINISTER),
)
def bedside_verify(request: HttpRequest, payload: BedsideIn) -> Status[AdministrationOut]:
    """201 with a new infusion record; 200 with the dose's record when it was scanned before. The
    bag must be the dose chosen (``order_id``): another dose's bag is refused (``WRONG_DOSE``)."""
    administration = services.bedside_verify(
        actor=actor(request), wristband=payload.wristband, label=payload.label, order_id=payload.order_id
    )
    return Status(200 if administration.reopened else 201, administration_out(administration))


class PumpIn(InputSchema):
    pump_serial: str
    rate_ml_h: Decimal
    volume_ml: Decimal
    duration_minutes: int | None = None


@router.post(
    "/administrations/{administration_id}/pump",
    response=AdministrationOut,
    operation_id="record_pump_program",
    auth=allow(Action.ADMINISTER),
)
def record_pump_program(request: HttpRequest, administration_id: int, payload: PumpIn) -> AdministrationOut:
    return administration_out(services.record_pump_program(administration_id, actor=actor(request), **payload.dict()))


@router.post(
    "/administrations/{administration_id}/start",
    response=AdministrationOut,
    operation_id="start_administration",
    auth=allow(Action.ADMINISTER),
)
def start_administration(request: HttpRequest, administration_id: int) -> AdministrationOut:
    return administration_out(services.start_administration(administration_id, actor=actor(request)))


class RateIn(InputSchema):
    rate_ml_h: Decimal
    reason: str


@router.post(
    "/administrations/{administration_id}/rate",
    response=AdministrationOut,
    operation_id="change_rate",
    auth=allow(Action.ADMINISTER),
)
def change_rate(request: HttpRequest, administration_id: int, payload: RateIn) -> AdministrationOut:
    me = actor(request)
    services.change_rate(administration_id, actor=me, rate_ml_h=payload.rate_ml_h, reason=payload.reason)
    return administration_out(services.administration_for(me, administration_id))


class VitalsIn(InputSchema):
    systolic: int
    diastolic: int
    heart_rate: int
    temperature_c: Decimal
    spo2: int
    respiratory_rate: int


@router.post(
    "/administrations/{administration_id}/vitals",
    response=AdministrationOut,
    operation_id="record_vitals",
    auth=allow(Action.ADMINISTER),
)
def record_vitals(request: HttpRequest, administration_id: int, payload: VitalsIn) -> AdministrationOut:
    me = actor(request)
    services.record_vitals(administration_id, actor=me, **payload.dict())
    return administration_out(services.administration_for(me, administration_id))


class ReactionIn(InputSchema):
    grade: int
    symptoms: str
    actions: str = ""
    medicines_given: str = ""
    outcome: str = ""
    extravasation: bool = False


@router.post(
    "/administrations/{administration_id}/reactions",
    response=AdministrationOut,
    operation_id="record_reaction",
    auth=allow(Action.ADMINISTER),
)
def record_reaction(request: HttpRequest, administration_id: int, payload: ReactionIn) -> AdministrationOut:
    me = actor(request)
    services.record_reaction(administration_id, actor=me, **payload.dict())
    return administration_out(services.administration_for(me, administration_id))


class EndIn(InputSchema):
    volume_infused_ml: Decimal
    reason: str = ""
    waste_disposal: str = ""
    ended_at: dt.datetime | None = None


@router.post(
    "/administrations/{administration_id}/end",
    response=AdministrationOut,
    operation_id="end_administration",
    auth=allow(Action.ADMINISTER),
)
def end_administration(request: HttpRequest, administration_id: int, payload: EndIn) -> AdministrationOut:
    return administration_out(services.end_administration(administration_id, actor=actor(request), **payload.dict()))


@router.get(
    "/patients/{patient_id}/education.pdf", operation_id="get_education_pdf", auth=allow(Action.VIEW_CHAIR_BOARD)
)
def get_education_pdf(request: HttpRequest, patient_id: int, leaflet: str | None = None) -> HttpResponse:
    return HttpResponse(education.education_pdf(actor(request), patient_id, leaflet), content_type="application/pdf")


class EducationIn(InputSchema):
    leaflet: str
    recipient: str
    topics: list[str]
    teach_back: bool
    skills: list[str] = []


class EducationOut(Schema):
    id: int
    leaflet: str
    recipient: str
    teach_back: bool
    skills: list[str]


@router.post(
    "/patients/{patient_id}/education",
    response={201: EducationOut},
    operation_id="record_education",
    auth=allow(Action.EDUCATE),
)
def record_education(request: HttpRequest, patient_id: int, payload: EducationIn) -> Status[EducationOut]:
    entry = education.record_education(patient_id, actor=actor(request), **payload.dict())
    return Status(
        201,
        EducationOut(
            id=entry.pk,
            leaflet=entry.leaflet,
            recipient=entry.recipient,
            teach_back=entry.teach_back,
            skills=entry.skills,
        ),
    )


class BoardRowOut(Schema):
    order_id: int
    patient: str
    drug: str
    dose: str
    planned_start: dt.datetime
    due: dt.datetime = Field(description="the booked visit's start, else the order's planned start")
    place: str
    stage: str
    delayed: bool
    waits_for_release: bool


@router.get("/chair-board", response=list[BoardRowOut], operation_id="chair_board", auth=allow(Action.VIEW_CHAIR_BOARD))
def chair_board(request: HttpRequest, day: dt.date | None = None) -> list[BoardRowOut]:
    return [
        BoardRowOut(
            order_id=r.order.pk,
            patient=str(r.order.patient),
            drug=r.order.drug.display_name,
            dose=r.order.dose_text,
            planned_start=r.order.planned_start,
            due=r.due,
            place=r.place,
            stage=r.stage,
            delayed=r.delayed,
            waits_for_release=r.waits_for_release,
        )
        for r in board.chair_board(actor(request), day)
    ]
