"""API operations for stock (operation ids are a contract: receive_stock, list_stock, get_lot,
transfer_stock, waste_stock, adjust_stock, quarantine_lot, trace_lot, list_expiring...)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import P, QueryEx, Router, Schema, Status

from openinfusion.accounts.permissions import Action
from openinfusion.api import InputSchema, actor, allow
from openinfusion.inventory import purchasing, queries, scanning, services
from openinfusion.inventory.models import Location, Lot, PurchaseOrder, StockBalance, StockMovement

router = Router(tags=["inventory"])


class ReceiveIn(InputSchema):
    location_id: int
    quantity: int
    gs1: str | None = None
    ndc: str | None = None
    lot: str | None = None
    expiry: dt.date | None = None
    serial: str = ""
    reason: str = ""
    purchase_order_line_id: int | None = None


class BalanceOut(Schema):
    lot_id: int
    lot_number: str
    expiry: dt.date
    status: str
    product_id: int
    product: str
    ndc: str
    location_id: int
    location: str
    quantity: int


class MovementOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    quantity: int
    balance_after: int
    location: str
    actor: str
    reason: str
    reference: str
    manual_entry: bool


class LotOut(Schema):
    id: int
    lot_number: str
    expiry: dt.date
    status: str
    status_reason: str
    product_id: int
    product: str
    ndc: str
    on_hand: list[BalanceOut]
    movements: list[MovementOut]


class TransferIn(InputSchema):
    from_location_id: int
    to_location_id: int
    quantity: int
    reason: str = ""


class WasteIn(InputSchema):
    location_id: int
    quantity: int
    reason: str


class AdjustIn(InputSchema):
    location_id: int
    counted: int
    reason: str


class QuarantineIn(InputSchema):
    reason: str
    recall: bool = False


class TraceOut(Schema):
    lot: LotOut
    received: int
    wasted: int
    on_hand: list[BalanceOut]
    consumed: list[MovementOut]
    patients: list[dict[str, object]]


class LocationOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    site: str


class PurchaseOrderIn(InputSchema):
    supplier_id: int
    location_id: int
    lines: dict[int, int]


class PurchaseOrderVersionIn(InputSchema):
    version: int
    reason: str = ""


class PurchaseOrderLineOut(Schema):
    id: int
    product_id: int
    product: str
    quantity_ordered: int
    quantity_received: int


class PurchaseOrderOut(Schema):
    id: int
    number: str
    supplier: str
    location: str
    status: str
    version: int
    created_at: dt.datetime
    lines: list[PurchaseOrderLineOut]


def balance_out(balance: StockBalance, today: dt.date) -> BalanceOut:
    lot = balance.lot
    return BalanceOut(
        lot_id=lot.pk,
        lot_number=lot.lot_number,
        expiry=lot.expiry,
        status=lot.effective_status(today),
        product_id=lot.product_id,
        product=str(lot.product),
        ndc=lot.product.ndc_labelled,
        location_id=balance.location_id,
        location=balance.location.name,
        quantity=balance.quantity,
    )


def movement_out(m: StockMovement) -> MovementOut:
    return MovementOut(
        id=m.pk,
        at=m.at,
        kind=m.kind,
        quantity=m.quantity,
        balance_after=m.balance_after,
        location=m.location.name,
        actor=m.actor.username,
        reason=m.reason,
        reference=m.reference,
        manual_entry=m.manual_entry,
    )


def lot_out(lot: Lot, site_ids: set[int], today: dt.date) -> LotOut:
    balances = StockBalance.objects.filter(lot=lot, location__site__in=site_ids, quantity__gt=0).select_related(
        "location", "lot__product__drug"
    )
    movements = lot.movements.filter(location__site__in=site_ids).select_related("location", "actor")
    return LotOut(
        id=lot.pk,
        lot_number=lot.lot_number,
        expiry=lot.expiry,
        status=lot.effective_status(today),
        status_reason=lot.status_reason,
        product_id=lot.product_id,
        product=str(lot.product),
        ndc=lot.product.ndc_labelled,
        on_hand=[balance_out(b, today) for b in balances],
        movements=[movement_out(m) for m in movements],
    )


def _today() -> dt.date:
    return timezone.localdate()


def package_from(payload: ReceiveIn) -> scanning.PackageEntry:
    return scanning.PackageEntry(
        scan=payload.gs1 or "",
        ndc=payload.ndc or "",
        lot=payload.lot or "",
        expiry=payload.expiry,
        serial=payload.serial,
    )


@router.post("/stock/receive", response={201: LotOut}, operation_id="receive_stock", auth=allow(Action.RECEIVE_STOCK))
def receive_stock(request: HttpRequest, payload: ReceiveIn) -> Status[LotOut]:
    me = actor(request)
    receipt = services.receive_stock(
        actor=me,
        package=package_from(payload),
        location_id=payload.location_id,
        quantity=payload.quantity,
        reason=payload.reason,
        purchase_order_line_id=payload.purchase_order_line_id,
    )
    return Status(201, lot_out(receipt.lot, me.site_ids(), _today()))


@router.get("/stock", response=list[BalanceOut], operation_id="list_stock", auth=allow(Action.VIEW_STOCK))
def list_stock(request: HttpRequest, location_id: int | None = None) -> list[BalanceOut]:
    today = _today()
    return [balance_out(b, today) for b in queries.stock_on_hand(actor(request).site_ids(), location_id)]


@router.get("/locations", response=list[LocationOut], operation_id="list_locations", auth=allow(Action.VIEW_STOCK))
def list_locations(request: HttpRequest) -> list[LocationOut]:
    locations = Location.objects.filter(site__in=actor(request).site_ids(), active=True).select_related("site")
    return [LocationOut(id=x.pk, code=x.code, name=x.name, kind=x.kind, site=x.site.code) for x in locations]


@router.get("/lots/{lot_id}", response=LotOut, operation_id="get_lot", auth=allow(Action.VIEW_STOCK))
def get_lot(request: HttpRequest, lot_id: int) -> LotOut:
    me = actor(request)
    return lot_out(services.lot_for(me, lot_id), me.site_ids(), _today())


@router.post("/lots/{lot_id}/transfer", response=LotOut, operation_id="transfer_stock", auth=allow(Action.MOVE_STOCK))
def transfer_stock(request: HttpRequest, lot_id: int, payload: TransferIn) -> LotOut:
    me = actor(request)
    services.transfer_stock(lot_id, actor=me, **payload.dict())
    return lot_out(services.lot_for(me, lot_id), me.site_ids(), _today())


@router.post("/lots/{lot_id}/waste", response=LotOut, operation_id="waste_stock", auth=allow(Action.WASTE_STOCK))
def waste_stock(request: HttpRequest, lot_id: int, payload: WasteIn) -> LotOut:
    me = actor(request)
    services.waste_stock(lot_id, actor=me, **payload.dict())
    return lot_out(services.lot_for(me, lot_id), me.site_ids(), _today())


@router.post("/lots/{lot_id}/adjust", response=LotOut, operation_id="adjust_stock", auth=allow(Action.ADJUST_STOCK))
def adjust_stock(request: HttpRequest, lot_id: int, payload: AdjustIn) -> LotOut:
    me = actor(request)
    services.adjust_stock(lot_id, actor=me, **payload.dict())
    return lot_out(services.lot_for(me, lot_id), me.site_ids(), _today())


@router.post(
    "/lots/{lot_id}/quarantine", response=LotOut, operation_id="quarantine_lot", auth=allow(Action.QUARANTINE_LOT)
)
def quarantine_lot(request: HttpRequest, lot_id: int, payload: QuarantineIn) -> LotOut:
    me = actor(request)
    lot = services.quarantine_lot(lot_id, actor=me, reason=payload.reason, recall=payload.recall)
    return lot_out(lot, me.site_ids(), _today())


@router.post("/lots/{lot_id}/release", response=LotOut, operation_id="release_lot", auth=allow(Action.QUARANTINE_LOT))
def release_lot(request: HttpRequest, lot_id: int, payload: QuarantineIn) -> LotOut:
    me = actor(request)
    return lot_out(services.release_lot(lot_id, actor=me, reason=payload.reason), me.site_ids(), _today())


@router.get("/lots/{lot_id}/trace", response=TraceOut, operation_id="trace_lot", auth=allow(Action.TRACE_LOT))
def trace_lot(request: HttpRequest, lot_id: int) -> TraceOut:
    me = actor(request)
    today = _today()
    lot = services.lot_for(me, lot_id)
    trace = queries.trace_lot(lot, me.site_ids())
    return TraceOut(
        lot=lot_out(lot, me.site_ids(), today),
        received=trace.received,
        wasted=trace.wasted,
        on_hand=[balance_out(b, today) for b in trace.on_hand],
        consumed=[movement_out(m) for m in trace.consumed],
        patients=trace.patients,
    )


@router.get("/stock/expiring", response=list[BalanceOut], operation_id="list_expiring", auth=allow(Action.VIEW_STOCK))
def list_expiring(request: HttpRequest, days: QueryEx[int, P(ge=0, le=3650)] = 30) -> list[BalanceOut]:
    today = _today()
    return [balance_out(b, today) for b in queries.expiring(actor(request).site_ids(), today, days)]


def order_out(order: PurchaseOrder) -> PurchaseOrderOut:
    return PurchaseOrderOut(
        id=order.pk,
        number=str(order).split()[0],
        supplier=order.supplier.name,
        location=order.location.name,
        status=order.status,
        version=order.version,
        created_at=order.created_at,
        lines=[
            PurchaseOrderLineOut(
                id=li.pk,
                product_id=li.product_id,
                product=str(li.product),
                quantity_ordered=li.quantity_ordered,
                quantity_received=li.quantity_received,
            )
            for li in order.lines.select_related("product__drug")
        ],
    )


@router.get(
    "/purchase-orders",
    response=list[PurchaseOrderOut],
    operation_id="list_purchase_orders",
    auth=allow(Action.MANAGE_PURCHASING),
)
def list_purchase_orders(request: HttpRequest) -> list[PurchaseOrderOut]:
    orders = PurchaseOrder.objects.filter(site__in=actor(request).site_ids()).select_related("supplier", "location")
    return [order_out(o) for o in orders]


@router.post(
    "/purchase-orders",
    response={201: PurchaseOrderOut},
    operation_id="create_purchase_order",
    auth=allow(Action.MANAGE_PURCHASING),
)
def create_purchase_order(request: HttpRequest, payload: PurchaseOrderIn) -> Status[PurchaseOrderOut]:
    order = purchasing.create_purchase_order(actor=actor(request), **payload.dict())
    return Status(201, order_out(order))


@router.post(
    "/purchase-orders/{order_id}/send",
    response=PurchaseOrderOut,
    operation_id="send_purchase_order",
    auth=allow(Action.MANAGE_PURCHASING),
)
def send_purchase_order(request: HttpRequest, order_id: int, payload: PurchaseOrderVersionIn) -> PurchaseOrderOut:
    return order_out(purchasing.send_purchase_order(order_id, actor=actor(request), expected_version=payload.version))


@router.post(
    "/purchase-orders/{order_id}/cancel",
    response=PurchaseOrderOut,
    operation_id="cancel_purchase_order",
    auth=allow(Action.MANAGE_PURCHASING),
)
def cancel_purchase_order(request: HttpRequest, order_id: int, payload: PurchaseOrderVersionIn) -> PurchaseOrderOut:
    order = purchasing.cancel_purchase_order(
        order_id, actor=actor(request), expected_version=payload.version, reason=payload.reason
    )
    return order_out(order)
