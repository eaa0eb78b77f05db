"""What the compounding screens list: the work queue per room, the final checks, open vials."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from openinfusion.accounts.models import User
from openinfusion.compounding.models import ACTIVE_STATUSES, OpenVial, OpenVialStatus, Preparation, PreparationStatus
from openinfusion.formulary.models import Product
from openinfusion.inventory.models import Location, Lot, StockBalance
from openinfusion.inventory.queries import fefo_pick
from openinfusion.inventory.services import site_today
from openinfusion.orders.models import Order, OrderStatus
from openinfusion.paging import QUEUE_PAGE, Page, page_of

QUEUE_STATUSES = (PreparationStatus.PLANNED, PreparationStatus.IN_PROGRESS)


def queued(actor: User, room_kind: str | None = None) -> QuerySet[Preparation]:
    """Planned and started preparations at the actor's sites (index ``(status, needed_by)``)."""
    preparations = Preparation.objects.filter(site__in=actor.site_ids(), status__in=QUEUE_STATUSES)
    return preparations.filter(room__kind=room_kind) if room_kind else preparations


def work_queue(
    actor: User, room_kind: str | None = None, *, after: int | None = None, size: int = QUEUE_PAGE
) -> Page[Preparation]:
    """One page of the work queue, the earliest needed first, after preparation ``after``."""
    preparations = (
        queued(actor, room_kind)
        .select_related("order__drug", "order__patient", "room", "prepared_by", "checked_by")
        .prefetch_related("steps")
    )
    return page_of(preparations, "needed_by", cursor=after, size=size)


def to_plan(actor: User) -> QuerySet[Order]:
    """Verified orders at the actor's sites that no active preparation is making yet."""
    return (
        Order.objects.filter(site__in=actor.site_ids(), status=OrderStatus.VERIFIED)
        .exclude(preparations__status__in=ACTIVE_STATUSES)
        .select_related("patient", "drug")
    )


def awaiting_check(actor: User) -> list[Preparation]:
    return list(
        Preparation.objects.filter(site__in=actor.site_ids(), status=PreparationStatus.AWAITING_CHECK)
        .select_related("order__drug", "order__patient", "room", "prepared_by", "checked_by")
        .order_by("needed_by", "id")
    )


def open_vials(actor: User) -> list[OpenVial]:
    return list(
        OpenVial.objects.filter(location__site__in=actor.site_ids(), status=OpenVialStatus.OPEN)
        .select_related("product__drug", "lot", "location")
        .order_by("expires_at")
    )


def minutes_left(preparation: Preparation) -> int:
    return int((preparation.needed_by - timezone.now()).total_seconds() // 60)


def traced_doses(keys: list[str]) -> list[dict[str, object]]:
    """For a recall trace: each preparation a lot went into, its patient, and where the dose is now."""
    ids = [int(k) for k in keys if k.isdigit()]
    preparations = Preparation.objects.filter(pk__in=ids).select_related("order__patient", "order__drug")
    return [
        {
            "preparation": p.barcode,
            "patient": str(p.order.patient),
            "patient_id": p.order.patient_id,
            "mrn": p.order.patient.mrn,
            "order": p.order_id,
            "dose": f"{p.order.drug.display_name} {p.order.dose_text}",
            "status": p.get_status_display(),
            "order_status": p.order.get_status_display(),
        }
        for p in preparations.order_by("pk")
    ]


def lots_to_take(preparation: Preparation, step: dict[str, object]) -> list[Lot]:
    """The lots to take for a scan step, first expiry first, from the room's shelf."""
    today = site_today(preparation.room)
    if step["kind"] == "reconstitute":
        product_ids = list(Product.objects.filter(drug__key=step["diluent"], active=True).values_list("pk", flat=True))
    elif step["kind"] in ("scan_vial", "scan_bag"):
        product_ids = [int(str(step["product_id"]))]
    else:
        return []
    picks = [b for pid in product_ids for b in fefo_pick(pid, preparation.room_id, today)]
    return [b.lot for b in sorted(picks, key=lambda b: b.lot.expiry)]


@dataclass(frozen=True)
class RoomMove:
    """Packages to bring into the preparation's room before it can be made: ``quantity`` of
    ``lot`` from ``source`` (earliest expiry first), or, with no ``lot``, a shortfall: the
    site has not enough of ``product`` anywhere."""

    product: Product
    quantity: int
    lot: Lot | None = None
    source: Location | None = None


def packages_needed(preparation: Preparation) -> Counter[int]:
    """Packages each step takes from the room: vials (not open ones), the diluent, the bag."""
    needed: Counter[int] = Counter()
    for step in preparation.plan["steps"]:
        if (step["kind"] == "scan_vial" and step["open_vial_id"] is None) or step["kind"] == "scan_bag":
            needed[int(step["product_id"])] += 1
        elif step["kind"] == "reconstitute":
            diluent = Product.objects.filter(drug__key=step["diluent"], active=True).order_by("total_volume_ml").first()
            if diluent is not None:
                needed[diluent.pk] += 1
    return needed


def moves_to_room(preparation: Preparation) -> list[RoomMove]:
    """What to move into the room from the site's other locations so every package the steps take
    is there (usable lots, earliest expiry first); empty when the room already holds enough."""
    room = preparation.room
    today = site_today(room)
    moves: list[RoomMove] = []
    products = {p.pk: p for p in Product.objects.filter(pk__in=packages_needed(preparation)).select_related("drug")}
    for product_id, count in packages_needed(preparation).items():
        have = sum(b.quantity for b in fefo_pick(product_id, room.pk, today))
        sources = (
            StockBalance.objects.filter(
                lot__product_id=product_id,
                quantity__gt=0,
                location__site=room.site,
                lot__status="available",
                lot__expiry__gt=today,
            )
            .exclude(location=room)
            .select_related("lot", "location")
            .order_by("lot__expiry", "location__code")
        )
        for balance in sources:
            if have >= count:
                break
            quantity = min(balance.quantity, count - have)
            moves.append(RoomMove(products[product_id], quantity, balance.lot, balance.location))
            have += quantity
        if have < count:
            moves.append(RoomMove(products[product_id], count - have))
    return moves
