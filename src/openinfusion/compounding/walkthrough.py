"""Carry a planned preparation through its steps the way a technician at the bench does: scan the
lot FEFO offers for each vial, weigh exactly, complete. The demo and the throughput benchmark use
it; it calls only the real services, so every check still applies."""

from __future__ import annotations

from decimal import Decimal

from openinfusion.accounts.models import User
from openinfusion.compounding import services
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.compounding.queries import lots_to_take, moves_to_room
from openinfusion.errors import NotFound
from openinfusion.inventory.models import Lot
from openinfusion.inventory.services import transfer_stock

SYRINGE_TARE_G = Decimal("11.250")
BAG_TARE_G = Decimal("282.400")


def gs1_of(lot: Lot, serial: str) -> str:
    return f"01{lot.product.gtin14}17{lot.expiry:%y%m%d}10{lot.lot_number}\x1d21{serial}"


def stock_room(preparation: Preparation, actor: User) -> None:
    """Bring enough packages of each product the steps take into the preparation's room, as the
    preparation screen suggests (``queries.moves_to_room``)."""
    for move in moves_to_room(preparation):
        if move.lot is None or move.source is None:
            raise NotFound(f"Not enough stock of {move.product} at {preparation.room.site}.", code="NO_STOCK")
        transfer_stock(
            move.lot.pk,
            actor=actor,
            from_location_id=move.source.pk,
            to_location_id=preparation.room_id,
            quantity=move.quantity,
            reason="restock room",
        )


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
