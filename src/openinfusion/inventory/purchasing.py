"""Reorder suggestions and purchase orders: draft → sent → partly received → received.

Par levels say what a location keeps; a product at or below its reorder point is suggested up to
par from its supplier, beside its usage over the last N days. Receiving against an order goes
through ``services.receive_stock`` with the order line, which calls ``claim_receipt`` here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.utils import timezone

from openinfusion.accounts.models import Site, User
from openinfusion.audit.services import audited, record
from openinfusion.concurrency import save_versioned
from openinfusion.errors import Conflict, InvalidInput, NotFound
from openinfusion.formulary.models import Product
from openinfusion.inventory.models import (
    ROOM_KINDS,
    Location,
    LotStatus,
    MovementKind,
    ParLevel,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockBalance,
    StockMovement,
    Supplier,
)

TRANSITIONS: dict[str, set[str]] = {
    PurchaseOrderStatus.DRAFT: {PurchaseOrderStatus.SENT, PurchaseOrderStatus.CANCELLED},
    PurchaseOrderStatus.SENT: {
        PurchaseOrderStatus.PARTLY_RECEIVED,
        PurchaseOrderStatus.RECEIVED,
        PurchaseOrderStatus.CANCELLED,
    },
    PurchaseOrderStatus.PARTLY_RECEIVED: {PurchaseOrderStatus.PARTLY_RECEIVED, PurchaseOrderStatus.RECEIVED},
    PurchaseOrderStatus.RECEIVED: set(),
    PurchaseOrderStatus.CANCELLED: set(),
}


def _transition(order: PurchaseOrder, to: str) -> None:
    if to not in TRANSITIONS[order.status]:
        raise Conflict(
            f"Purchase order PO-{order.pk:05d} is {order.get_status_display().lower()}; it cannot become "
            f"{PurchaseOrderStatus(to).label.lower()}.",
            code="PO_WRONG_STATE",
        )
    order.status = to


@dataclass(frozen=True)
class Suggestion:
    par_level: ParLevel
    on_hand: int
    usage: int
    quantity: int


def reorder_suggestions(site_ids: set[int], today: dt.date, usage_days: int = 30) -> dict[Supplier, list[Suggestion]]:
    """Products at or below their reorder point, grouped by supplier, with the quantity up to par."""
    par_levels = ParLevel.objects.filter(location__site__in=site_ids).exclude(location__kind__in=ROOM_KINDS)
    par_levels = par_levels.select_related("product__drug", "location", "supplier")
    usable = (
        StockBalance.objects.filter(
            location__site__in=site_ids, lot__status=LotStatus.AVAILABLE, lot__expiry__gte=today
        )
        .values("lot__product_id", "location_id")
        .annotate(total=Sum("quantity"))
    )
    on_hand = {(row["lot__product_id"], row["location_id"]): row["total"] for row in usable}
    # The window opens at midnight on each site's own calendar, not the server's (UTC).
    first_day = dt.datetime.combine(today - dt.timedelta(days=usage_days), dt.time.min)
    in_window = Q(pk__in=[])  # no site, no usage
    for site in Site.objects.filter(pk__in=site_ids):
        in_window |= Q(location__site=site, at__gte=first_day.replace(tzinfo=site.zone))
    used = (
        StockMovement.objects.filter(in_window, kind__in=[MovementKind.CONSUME, MovementKind.WASTE])
        .values("lot__product_id", "location_id")
        .annotate(total=Sum("quantity"))
    )
    usage = {(row["lot__product_id"], row["location_id"]): -row["total"] for row in used}
    grouped: dict[Supplier, list[Suggestion]] = defaultdict(list)
    for par in par_levels:
        key = (par.product_id, par.location_id)
        have = on_hand.get(key, 0)
        if have <= par.reorder_point:
            grouped[par.supplier].append(Suggestion(par, have, usage.get(key, 0), par.par - have))
    return dict(grouped)


@audited("inventory:purchase_order:create")
def create_purchase_order(*, actor: User, supplier_id: int, location_id: int, lines: dict[int, int]) -> PurchaseOrder:
    location = Location.objects.select_related("site").filter(pk=location_id, site__in=actor.site_ids()).first()
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if location is None or supplier is None:
        raise NotFound("No such supplier or location at your sites.")
    if not lines or any(q <= 0 for q in lines.values()):
        raise InvalidInput("Order at least one package of each product listed.", code="BAD_QUANTITY")
    products = Product.objects.filter(pk__in=lines, active=True)
    if products.count() != len(lines):
        raise NotFound("A product on the order is not on the formulary.", code="UNKNOWN_PRODUCT")
    order = PurchaseOrder.objects.create(
        site=location.site, supplier=supplier, location=location, created_at=timezone.now(), created_by=actor
    )
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(purchase_order=order, product_id=pid, quantity_ordered=q) for pid, q in lines.items()
    )
    record(
        "inventory:purchase_order:created",
        actor=actor,
        entity=order,
        site=order.site,
        after={"supplier": supplier.code, "lines": {str(k): v for k, v in lines.items()}},
    )
    return order


def order_for(actor: User, order_id: int) -> PurchaseOrder:
    order = (
        PurchaseOrder.objects.select_related("supplier", "site").filter(pk=order_id, site__in=actor.site_ids()).first()
    )
    if order is None:
        raise NotFound("No such purchase order at your sites.")
    return order


@audited("inventory:purchase_order:send")
def send_purchase_order(order_id: int, *, actor: User, expected_version: int) -> PurchaseOrder:
    order = order_for(actor, order_id)
    before = order.status
    _transition(order, PurchaseOrderStatus.SENT)
    order.sent_at = timezone.now()
    save_versioned(order, expected_version=expected_version, fields=["status", "sent_at"])
    record(
        "inventory:purchase_order:sent",
        actor=actor,
        entity=order,
        site=order.site,
        before={"status": before},
        after={"status": order.status},
    )
    return order


@audited("inventory:purchase_order:cancel")
def cancel_purchase_order(order_id: int, *, actor: User, expected_version: int, reason: str) -> PurchaseOrder:
    if not reason.strip():
        raise InvalidInput("Say why the order is cancelled.", code="REASON_REQUIRED")
    order = order_for(actor, order_id)
    before = order.status
    _transition(order, PurchaseOrderStatus.CANCELLED)
    save_versioned(order, expected_version=expected_version, fields=["status"])
    record(
        "inventory:purchase_order:cancelled",
        actor=actor,
        entity=order,
        site=order.site,
        before={"status": before},
        after={"status": order.status},
        reason=reason,
    )
    return order


def claim_receipt(
    line_id: int, *, product: Product, quantity: int, location: Location, actor: User
) -> PurchaseOrderLine:
    """Count received packages against an order line (inside ``receive_stock``'s transaction)."""
    line = (
        PurchaseOrderLine.objects.select_for_update()
        .select_related("purchase_order__location")
        .filter(pk=line_id, purchase_order__site__in=actor.site_ids())
        .first()
    )
    if line is None:
        raise NotFound("No such purchase order line at your sites.")
    if line.product_id != product.pk:
        raise Conflict(
            f"The scanned product ({product}) is not the one on this order line. Receive it without the order "
            "or against the right line.",
            code="WRONG_PRODUCT",
        )
    if line.purchase_order.location_id != location.pk:
        raise Conflict(
            f"This order is to be delivered to {line.purchase_order.location.name}, not {location.name}. "
            "Receive it there, or without the order.",
            code="WRONG_LOCATION",
        )
    remaining = line.quantity_ordered - line.quantity_received
    if quantity > remaining:
        raise Conflict(
            f"Only {remaining} package(s) remain to be received on this line; {quantity} scanned. "
            "Check the delivery note.",
            code="OVER_RECEIPT",
        )
    order = PurchaseOrder.objects.select_for_update().get(pk=line.purchase_order_id)
    line.quantity_received += quantity
    line.save(update_fields=["quantity_received"])
    complete = all(li.quantity_received >= li.quantity_ordered for li in order.lines.all())
    _transition(order, PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTLY_RECEIVED)
    order.version += 1  # a screen opened before this receipt is now stale
    order.save(update_fields=["status", "version"])
    return line
