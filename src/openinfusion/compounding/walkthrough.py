"""Carry a planned preparation through its steps the way a technician at the bench does: scan the
lot FEFO offers for each vial, weigh exactly, complete. The demo and the throughput benchmark use
it; it calls only the real services, so every check still applies."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from openinfusion.accounts.models import User
from openinfusion.compounding import services
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.compounding.queries import lots_to_take
from openinfusion.errors import NotFound
from openinfusion.formulary.models import Product
from openinfusion.inventory import queries
from openinfusion.inventory.models import Lot, StockBalance
from openinfusion.inventory.services import site_today, transfer_stock

SYRINGE_TARE_G = Decimal("11.250")
BAG_TARE_G = Decimal("282.400")


def gs1_of(lot: Lot, serial: str) -> str:
    return f"01{lot.product.gtin14}17{lot.expiry:%y%m%d}10{lot.lot_number}\x1d21{serial}"


def _products(preparation: Preparation) -> Counter[int]:
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


def stock_room(preparation: Preparation, actor: User) -> None:
    """Bring enough packages of each product the steps take into the preparation's room."""
    today = site_today(preparation.room)
    for product_id, count in _products(preparation).items():
        have = sum(b.quantity for b in queries.fefo_pick(product_id, preparation.room_id, today))
        sources = (
            StockBalance.objects.filter(
                lot__product_id=product_id,
                quantity__gt=0,
                location__site=preparation.room.site,
                lot__status="available",
                lot__expiry__gt=today,
            )
            .exclude(location=preparation.room)
            .order_by("lot__expiry")
        )
        for source in sources:
            if have >= count:
                break
            moved = min(source.quantity, count - have)
            transfer_stock(
                source.lot_id,
                actor=actor,
                from_location_id=source.location_id,
                to_location_id=preparation.room_id,
                quantity=moved,
                reason="restock room",
            )
            have += moved
        if have < count:
            raise NotFound(f"Not enough stock of product {product_id} at {preparation.room.site}.", code="NO_STOCK")


def prepare(preparation: Preparation, technician: User, *, steps: int | None = None) -> Preparation:
    """Start (if planned) and do ``steps`` steps (all when None), completing when all are done."""
    if preparation.status == PreparationStatus.PLANNED:
        services.start_preparation(preparation.pk, actor=technician)
    plan_steps = preparation.plan["steps"]
    done = preparation.steps.count()
    last = len(plan_steps) if steps is None else min(len(plan_steps), done + steps)
    for index in range(done, last):
        step = plan_steps[index]
        if step["kind"].startswith("weigh"):
            tare = BAG_TARE_G if step["kind"] == "weigh_bag" else SYRINGE_TARE_G
            gross = tare + Decimal(step["expected_ml"]) * Decimal(step["specific_gravity"])
            services.record_weighing(preparation.pk, actor=technician, scale="BAL-01", tare_g=tare, gross_g=gross)
        else:
            lots = lots_to_take(preparation, step)
            if not lots:
                raise NotFound(f"No usable lot in the room for step “{step['title']}”.", code="NO_STOCK")
            services.record_scan(preparation.pk, actor=technician, scan=gs1_of(lots[0], f"{preparation.pk}-{index}"))
    if steps is None:
        services.complete_preparation(preparation.pk, actor=technician)
    preparation.refresh_from_db()
    return preparation
