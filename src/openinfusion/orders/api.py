"""API operations for regimens, plans and orders (operation ids are a contract): list_regimens,
create_treatment_plan, create_order, check_order, verify_order, return_order, hold_order,
cancel_order, list_verification_queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from openinfusion.accounts.permissions import Action
from openinfusion.api import InputSchema, NumberText, QueuePage, actor, allow, link_next
from openinfusion.errors import InvalidInput
from openinfusion.orders import rules, services
from openinfusion.orders.models import Order, Regimen
from openinfusion.patients.services import patient_for

router = Router(tags=["orders"])


class RegimenOut(Schema):
    key: str
    name: str
    category: str
    cycle_days: int
    default_cycles: int | None
    indications: list[dict[str, str]]
    hold_parameters: list[dict[str, object]]
    days: list[dict[str, object]]
    source: str


@router.get("/regimens", response=list[RegimenOut], operation_id="list_regimens", auth=allow(Action.VIEW_ORDERS))
def list_regimens(request: HttpRequest) -> list[Regimen]:
    return list(Regimen.objects.all())


class FindingOut(Schema):
    code: str
    severity: str
    message: str
    numbers: dict[str, str]


class OrderOut(Schema):
    id: int
    version: int
    patient_id: int
    plan_id: int | None
    cycle: int | None
    day: int | None
    drug: str
    dose: str
    basis: str
    reduction_pct: Decimal
    route: str
    diluent: str | None
    volume_ml: Decimal | None
    duration_minutes: int | None
    planned_start: dt.datetime
    status: str
    status_reason: str
    prescriber: str
    verified_by: str | None


def order_out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.pk,
        version=order.version,
        patient_id=order.patient_id,
        plan_id=order.plan_id,
        cycle=order.cycle,
        day=order.day,
        drug=order.drug.key,
        dose=order.dose_text,
        basis=order.basis_text,
        reduction_pct=order.reduction_pct,
        route=order.route,
        diluent=order.diluent.key if order.diluent else None,
        volume_ml=order.volume_ml,
        duration_minutes=order.duration_minutes,
        planned_start=order.planned_start,
        status=order.status,
        status_reason=order.status_reason,
        prescriber=order.prescriber.username,
        verified_by=order.verified_by.username if order.verified_by else None,
    )


class TreatmentPlanIn(InputSchema):
    patient_id: int
    regimen: str
    start_date: dt.date
    cycles: int
    indication_code: str
    bsa_formula: str = "mosteller"
    weight_basis: str = "actual"


class PlanOut(Schema):
    id: int
    regimen: str
    start_date: dt.date
    cycles: int
    orders: list[OrderOut]


@router.post("/plans", response={201: PlanOut}, operation_id="create_treatment_plan", auth=allow(Action.WRITE_ORDERS))
def create_treatment_plan(request: HttpRequest, payload: TreatmentPlanIn) -> Status[PlanOut]:
    plan = services.create_treatment_plan(
        payload.patient_id,
        actor=actor(request),
        regimen_key=payload.regimen,
        start_date=payload.start_date,
        cycles=payload.cycles,
        indication_code=payload.indication_code,
        bsa_formula=payload.bsa_formula,
        weight_basis=payload.weight_basis,
    )
    orders = plan.orders.select_related("drug", "diluent", "prescriber", "verified_by")
    return Status(
        201,
        PlanOut(
            id=plan.pk,
            regimen=plan.regimen.key,
            start_date=plan.start_date,
            cycles=plan.cycles,
            orders=[order_out(o) for o in orders],
        ),
    )


class OrderIn(InputSchema):
    patient_id: int
    drug: str
    dose: NumberText
    route: str
    planned_start: dt.datetime
    diluent: str | None = None
    volume_ml: Decimal | None = Field(default=None, gt=0)
    duration_minutes: int | None = Field(default=None, gt=0)
    indication_code: str = ""
    priority: int = 3
    note: str = ""


def _order_kwargs(payload: OrderIn) -> dict[str, object]:
    return {
        "drug_key": payload.drug,
        "dose": payload.dose,
        "route": payload.route,
        "planned_start": payload.planned_start,
        "diluent_key": payload.diluent,
        "volume_ml": payload.volume_ml,
        "duration_minutes": payload.duration_minutes,
        "indication_code": payload.indication_code,
        "priority": payload.priority,
        "note": payload.note,
    }


@router.post("/orders", response={201: OrderOut}, operation_id="create_order", auth=allow(Action.WRITE_ORDERS))
def create_order(request: HttpRequest, payload: OrderIn) -> Status[OrderOut]:
    order = services.create_order(payload.patient_id, actor=actor(request), **_order_kwargs(payload))  # type: ignore[arg-type]
    return Status(201, order_out(order))


class CheckIn(InputSchema):
    order_id: int | None = None
    proposed: OrderIn | None = None


class ReviewOut(Schema):
    calculated: str | None
    inputs: dict[str, str]
    findings: list[FindingOut]


def review_out(review: rules.Review) -> ReviewOut:
    return ReviewOut(
        calculated=str(review.calculation.dose) if review.calculation.dose else None,
        inputs=review.calculation.inputs,
        findings=[
            FindingOut(code=f.code, severity=f.severity, message=f.message, numbers=f.numbers) for f in review.findings
        ],
    )


@router.post("/orders/check", response=ReviewOut, operation_id="check_order", auth=allow(Action.VIEW_ORDERS))
def check_order(request: HttpRequest, payload: CheckIn) -> ReviewOut:
    """Decision support for a saved order or a proposed one; nothing is saved."""
    me = actor(request)
    if payload.order_id is not None:
        return review_out(services.review(services.order_for(me, payload.order_id)))
    if payload.proposed is None:
        raise InvalidInput("Give an order_id, or a proposed order for an existing patient.", code="INVALID_INPUT")
    proposed = payload.proposed
    order = services.proposed_order(patient_for(me, proposed.patient_id), actor=me, **_order_kwargs(proposed))  # type: ignore[arg-type]
    return review_out(services.review(order))


class VerifyIn(InputSchema):
    version: int
    password: str
    username: str | None = None
    overrides: dict[str, str] = {}


class OrderReasonIn(InputSchema):
    version: int
    reason: str


class OrderVersionIn(InputSchema):
    version: int


def _continuous(request: HttpRequest) -> bool:
    """A browser session is continuous; a bearer-token client must sign with username and password."""
    return "HTTP_AUTHORIZATION" not in request.META


@router.post(
    "/orders/{order_id}/submit", response=OrderOut, operation_id="submit_order", auth=allow(Action.WRITE_ORDERS)
)
def submit_order(request: HttpRequest, order_id: int, payload: OrderVersionIn) -> OrderOut:
    return order_out(services.submit_order(order_id, actor=actor(request), expected_version=payload.version))


class AllergyExceptionIn(InputSchema):
    version: int
    allergy_id: int
    kind: str
    note: str


class AllergyExceptionOut(Schema):
    order_id: int
    allergy_id: int
    kind: str
    note: str
    by: str
    at: dt.datetime


@router.post(
    "/orders/{order_id}/allergy-exceptions",
    response={201: AllergyExceptionOut},
    operation_id="document_allergy_exception",
    auth=allow(Action.WRITE_ORDERS),
)
def document_allergy_exception(
    request: HttpRequest, order_id: int, payload: AllergyExceptionIn
) -> tuple[int, AllergyExceptionOut]:
    """The prescriber's documented exception (desensitisation protocol or note) to a severe allergy."""
    exception = services.document_allergy_exception(
        order_id,
        actor=actor(request),
        expected_version=payload.version,
        allergy_id=payload.allergy_id,
        kind=payload.kind,
        note=payload.note,
    )
    return 201, AllergyExceptionOut(
        order_id=exception.order_id,
        allergy_id=exception.allergy_id,
        kind=exception.kind,
        note=exception.note,
        by=exception.by.username,
        at=exception.at,
    )


@router.post(
    "/orders/{order_id}/verify", response=OrderOut, operation_id="verify_order", auth=allow(Action.VERIFY_ORDERS)
)
def verify_order(request: HttpRequest, order_id: int, payload: VerifyIn) -> OrderOut:
    order = services.verify_order(
        order_id,
        actor=actor(request),
        expected_version=payload.version,
        password=payload.password,
        overrides=payload.overrides,
        signer_username=payload.username,
        continuous_session=_continuous(request),
    )
    return order_out(order)


@router.post(
    "/orders/{order_id}/return", response=OrderOut, operation_id="return_order", auth=allow(Action.VERIFY_ORDERS)
)
def return_order(request: HttpRequest, order_id: int, payload: OrderReasonIn) -> OrderOut:
    return order_out(
        services.return_order(order_id, actor=actor(request), expected_version=payload.version, reason=payload.reason)
    )


@router.post("/orders/{order_id}/hold", response=OrderOut, operation_id="hold_order", auth=allow(Action.VERIFY_ORDERS))
def hold_order(request: HttpRequest, order_id: int, payload: OrderReasonIn) -> OrderOut:
    return order_out(
        services.hold_order(order_id, actor=actor(request), expected_version=payload.version, reason=payload.reason)
    )


@router.post(
    "/orders/{order_id}/cancel", response=OrderOut, operation_id="cancel_order", auth=allow(Action.CANCEL_ORDERS)
)
def cancel_order(request: HttpRequest, order_id: int, payload: OrderReasonIn) -> OrderOut:
    return order_out(
        services.cancel_order(order_id, actor=actor(request), expected_version=payload.version, reason=payload.reason)
    )


@router.get("/orders/{order_id}", response=OrderOut, operation_id="get_order", auth=allow(Action.VIEW_ORDERS))
def get_order(request: HttpRequest, order_id: int) -> OrderOut:
    return order_out(services.order_for(actor(request), order_id))


@router.get(
    "/verification-queue",
    response=list[OrderOut],
    operation_id="list_verification_queue",
    auth=allow(Action.VERIFY_ORDERS),
)
def list_verification_queue(
    request: HttpRequest,
    response: HttpResponse,
    page: Query[QueuePage],
) -> list[OrderOut]:
    """Earliest planned start first; while more wait, the `Link` header names the next page."""
    rows = services.verification_queue(actor(request), after=page.after, size=page.limit)
    link_next(request, response, "after", rows.next_cursor)
    return [order_out(o) for o in rows.rows]
