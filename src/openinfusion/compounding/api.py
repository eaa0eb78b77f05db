"""API operations for compounding (operation ids are a contract): plan_preparation, list_work_queue,
release_to_compound, start_preparation, record_scan, record_weighing, record_step,
complete_preparation, list_final_checks, final_check, get_label_pdf, get_label_zpl,
get_compounding_record_pdf, list_open_vials."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status

from openinfusion.accounts.permissions import Action
from openinfusion.api import InputSchema, QueuePage, actor, allow, link_next
from openinfusion.compounding import documents, queries, services
from openinfusion.compounding.models import OpenVial, Preparation
from openinfusion.errors import InvalidInput

router = Router(tags=["compounding"])


class StepOut(Schema):
    index: int
    kind: str
    title: str
    done: bool


class PreparationOut(Schema):
    id: int
    barcode: str
    version: int
    order_id: int
    patient: str
    drug: str
    dose: str
    room: str
    status: str
    needed_by: dt.datetime
    needs_release: bool
    released: bool
    hazardous: bool
    steps: list[StepOut]
    next_step: int | None
    bud: dt.datetime | None
    prepared_by: str | None
    checked_by: str | None


def preparation_out(p: Preparation) -> PreparationOut:
    done = p.steps.count()
    steps = [StepOut(index=i, kind=s["kind"], title=s["title"], done=i < done) for i, s in enumerate(p.plan["steps"])]
    return PreparationOut(
        id=p.pk,
        barcode=p.barcode,
        version=p.version,
        order_id=p.order_id,
        patient=str(p.order.patient),
        drug=p.order.drug.display_name,
        dose=p.order.dose_text,
        room=p.room.name,
        status=p.status,
        needed_by=p.needed_by,
        needs_release=p.needs_release,
        released=p.released,
        hazardous=bool(p.plan["hazardous"]),
        steps=steps,
        next_step=done if done < len(steps) else None,
        bud=p.bud,
        prepared_by=p.prepared_by.username if p.prepared_by else None,
        checked_by=p.checked_by.username if p.checked_by else None,
    )


class PreparationPlanIn(InputSchema):
    order_id: int


@router.post(
    "/preparations",
    response={201: PreparationOut},
    operation_id="plan_preparation",
    auth=allow(Action.PLAN_PREPARATIONS),
)
def plan_preparation(request: HttpRequest, payload: PreparationPlanIn) -> Status[PreparationOut]:
    return Status(201, preparation_out(services.plan_preparation(payload.order_id, actor=actor(request))))


@router.get(
    "/work-queue", response=list[PreparationOut], operation_id="list_work_queue", auth=allow(Action.VIEW_PREPARATIONS)
)
def list_work_queue(
    request: HttpRequest,
    response: HttpResponse,
    page: Query[QueuePage],
    room: str | None = None,
) -> list[PreparationOut]:
    """The earliest needed first; while more wait, the `Link` header names the next page."""
    rows = queries.work_queue(actor(request), room, after=page.after, size=page.limit)
    link_next(request, response, "after", rows.next_cursor)
    return [preparation_out(p) for p in rows.rows]


class ReleaseReasonIn(InputSchema):
    reason: str


@router.post(
    "/preparations/{preparation_id}/release",
    response=PreparationOut,
    operation_id="release_to_compound",
    auth=allow(Action.RELEASE_TO_COMPOUND),
)
def release_to_compound(request: HttpRequest, preparation_id: int, payload: ReleaseReasonIn) -> PreparationOut:
    return preparation_out(services.release_to_compound(preparation_id, actor=actor(request), reason=payload.reason))


@router.post(
    "/preparations/{preparation_id}/start",
    response=PreparationOut,
    operation_id="start_preparation",
    auth=allow(Action.COMPOUND),
)
def start_preparation(request: HttpRequest, preparation_id: int) -> PreparationOut:
    return preparation_out(services.start_preparation(preparation_id, actor=actor(request)))


class ScanIn(InputSchema):
    scan: str


@router.post(
    "/preparations/{preparation_id}/scans",
    response=PreparationOut,
    operation_id="record_scan",
    auth=allow(Action.COMPOUND),
)
def record_scan(request: HttpRequest, preparation_id: int, payload: ScanIn) -> PreparationOut:
    me = actor(request)
    services.record_scan(preparation_id, actor=me, scan=payload.scan)
    return preparation_out(services.preparation_for(me, preparation_id))


class WeighingIn(InputSchema):
    scale: str
    tare_g: Decimal
    gross_g: Decimal


@router.post(
    "/preparations/{preparation_id}/weighings",
    response=PreparationOut,
    operation_id="record_weighing",
    auth=allow(Action.COMPOUND),
)
def record_weighing(request: HttpRequest, preparation_id: int, payload: WeighingIn) -> PreparationOut:
    me = actor(request)
    services.record_weighing(
        preparation_id, actor=me, scale=payload.scale, tare_g=payload.tare_g, gross_g=payload.gross_g
    )
    return preparation_out(services.preparation_for(me, preparation_id))


class StepIn(InputSchema):
    kind: str
    photo_base64: str | None = None


@router.post(
    "/preparations/{preparation_id}/steps",
    response=PreparationOut,
    operation_id="record_step",
    auth=allow(Action.COMPOUND),
)
def record_step(request: HttpRequest, preparation_id: int, payload: StepIn) -> PreparationOut:
    """A step that is neither a scan nor a weighing: today, a photo kept with the record."""
    me = actor(request)
    if payload.kind != "photo" or not payload.photo_base64:
        raise InvalidInput(
            "Scans go to /scans, weighings to /weighings; this takes kind 'photo' with an image.",
            code="STEP_OUT_OF_ORDER",
        )
    try:
        image = base64.b64decode(payload.photo_base64, validate=True)
    except ValueError:
        raise InvalidInput("The photo is not valid base64.", code="BAD_PHOTO") from None
    services.record_photo(preparation_id, actor=me, image=image)
    return preparation_out(services.preparation_for(me, preparation_id))


class CompleteIn(InputSchema):
    keep_open_vials: bool = False


@router.post(
    "/preparations/{preparation_id}/complete",
    response=PreparationOut,
    operation_id="complete_preparation",
    auth=allow(Action.COMPOUND),
)
def complete_preparation(request: HttpRequest, preparation_id: int, payload: CompleteIn) -> PreparationOut:
    return preparation_out(
        services.complete_preparation(preparation_id, actor=actor(request), keep_open_vials=payload.keep_open_vials)
    )


@router.get(
    "/final-checks", response=list[PreparationOut], operation_id="list_final_checks", auth=allow(Action.FINAL_CHECK)
)
def list_final_checks(request: HttpRequest) -> list[PreparationOut]:
    return [preparation_out(p) for p in queries.awaiting_check(actor(request))]


class FinalCheckIn(InputSchema):
    approve: bool
    password: str = ""
    username: str | None = None
    reason: str = ""


@router.post(
    "/preparations/{preparation_id}/final-check",
    response=PreparationOut,
    operation_id="final_check",
    auth=allow(Action.FINAL_CHECK),
)
def final_check(request: HttpRequest, preparation_id: int, payload: FinalCheckIn) -> PreparationOut:
    preparation = services.final_check(
        preparation_id,
        actor=actor(request),
        approve=payload.approve,
        password=payload.password,
        reason=payload.reason,
        signer_username=payload.username,
        continuous_session="HTTP_AUTHORIZATION" not in request.META,
    )
    return preparation_out(preparation)


@router.get("/preparations/{preparation_id}/label.pdf", operation_id="get_label_pdf", auth=allow(Action.PRINT_LABELS))
def get_label_pdf(request: HttpRequest, preparation_id: int, size: str = "4x3in") -> HttpResponse:
    pdf = documents.label_pdf_for(actor(request), preparation_id, size)
    return HttpResponse(pdf, content_type="application/pdf")


@router.get("/preparations/{preparation_id}/label.zpl", operation_id="get_label_zpl", auth=allow(Action.PRINT_LABELS))
def get_label_zpl(request: HttpRequest, preparation_id: int) -> HttpResponse:
    return HttpResponse(
        documents.label_zpl_for(actor(request), preparation_id), content_type="text/plain; charset=utf-8"
    )


@router.get(
    "/preparations/{preparation_id}/record.pdf",
    operation_id="get_compounding_record_pdf",
    auth=allow(Action.VIEW_PREPARATIONS),
)
def get_compounding_record_pdf(request: HttpRequest, preparation_id: int) -> HttpResponse:
    return HttpResponse(documents.record_pdf_for(actor(request), preparation_id), content_type="application/pdf")


class OpenVialOut(Schema):
    id: int
    product: str
    lot: str
    location: str
    opened_at: dt.datetime
    expires_at: dt.datetime
    remaining_ml: Decimal
    status: str


@router.get(
    "/open-vials", response=list[OpenVialOut], operation_id="list_open_vials", auth=allow(Action.VIEW_PREPARATIONS)
)
def list_open_vials(request: HttpRequest) -> list[OpenVialOut]:
    vials: list[OpenVial] = queries.open_vials(actor(request))
    return [
        OpenVialOut(
            id=v.pk,
            product=str(v.product),
            lot=v.lot.lot_number,
            location=v.location.name,
            opened_at=v.opened_at,
            expires_at=v.expires_at,
            remaining_ml=v.remaining_ml,
            status=v.status,
        )
        for v in vials
    ]
