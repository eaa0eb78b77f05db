"""Stock transitions: receive, transfer, waste, adjust, consume, quarantine and recall, count.

One function per transition; each runs in one transaction (``audited``), posts its ledger lines
through ``ledger.post_movement`` and writes one audit event. Refusals carry stable codes and
messages that tell the technician what to do, change nothing, and are audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import User
from openinfusion.accounts.permissions import Action
from openinfusion.audit.services import audited, record
from openinfusion.errors import Conflict, DomainError, InvalidInput, NotFound
from openinfusion.formulary.models import Product
from openinfusion.inventory.ledger import post_movement
from openinfusion.inventory.models import (
    CycleCount,
    CycleCountLine,
    Location,
    Lot,
    LotStatus,
    MovementKind,
    StockBalance,
    StockMovement,
)
from openinfusion.inventory.scanning import PackageEntry, ScannedPackage


class LotNotUsable(DomainError):
    status = 409


def site_today(location: Location) -> dt.date:
    """Expiry is judged by the calendar date where the stock is, from the server clock."""
    return timezone.now().astimezone(location.site.zone).date()


def location_for(actor: User, location_id: int) -> Location:
    location = (
        Location.objects.select_related("site").filter(pk=location_id, site__in=actor.site_ids(), active=True).first()
    )
    if location is None:
        raise NotFound("No such stock location at your sites.", code="UNKNOWN_LOCATION")
    return location


def lot_for(actor: User, lot_id: int) -> Lot:
    """A lot the actor may see: one held, or once held, at one of the actor's sites."""
    lot = (
        Lot.objects.select_related("product__drug")
        .filter(pk=lot_id, movements__location__site__in=actor.site_ids())
        .distinct()
        .first()
    )
    if lot is None:
        raise NotFound("No such lot at your sites.", code="UNKNOWN_LOT")
    return lot


def require_usable(lot: Lot, today: dt.date) -> None:
    """Refuse a lot that is expired, recalled or quarantined (a hard stop, never overridable)."""
    status = lot.effective_status(today)
    name = f"{lot.product.drug.display_name} lot {lot.lot_number}"
    if status == LotStatus.EXPIRED:
        raise LotNotUsable(
            f"{name} expired on {lot.expiry:%Y-%m-%d}. Do not use it: set it aside for waste.",
            code="EXPIRED_LOT",
        )
    if status == LotStatus.RECALLED:
        raise LotNotUsable(
            f"{name} is recalled ({lot.status_reason or 'no reference given'}). Do not use it: quarantine the package.",
            code="RECALLED_LOT",
        )
    if status == LotStatus.QUARANTINED:
        raise LotNotUsable(
            f"{name} is quarantined ({lot.status_reason or 'no reason given'}). Ask a pharmacist before using it.",
            code="QUARANTINED_LOT",
        )


def _movement_snapshot(movement: StockMovement) -> dict[str, object]:
    return {
        "lot": movement.lot.lot_number,
        "product": movement.lot.product.ndc_labelled,
        "location": movement.location.code,
        "kind": movement.kind,
        "quantity": movement.quantity,
        "balance_after": movement.balance_after,
    }


@dataclass(frozen=True)
class Receipt:
    lot: Lot
    movement: StockMovement


@audited("inventory:stock:receive")
def receive_stock(
    *,
    actor: User,
    package: ScannedPackage | PackageEntry,
    location_id: int,
    quantity: int,
    reason: str = "",
    purchase_order_line_id: int | None = None,
) -> Receipt:
    """Put received packages on the shelf, creating the lot on first sight."""
    location = location_for(actor, location_id)
    if isinstance(package, PackageEntry):
        package = package.read()
    if quantity <= 0:
        raise InvalidInput("Quantity must be a whole number of packages, 1 or more.", code="BAD_QUANTITY")
    if package.manual_entry and not reason.strip():
        raise InvalidInput(
            "Say why the barcode was typed by hand (e.g. 'label damaged'); manual entries are reviewed.",
            code="REASON_REQUIRED",
        )
    product = _product_for(package)
    today = site_today(location)
    lot = Lot.objects.select_for_update().filter(product=product, lot_number=package.lot).first()
    if lot is None:
        lot = Lot.objects.create(
            product=product, lot_number=package.lot, expiry=package.expiry, received_at=timezone.now()
        )
    elif lot.expiry != package.expiry:
        raise InvalidInput(
            f"Lot {lot.lot_number} is on record as expiring {lot.expiry:%Y-%m-%d}, but this package says "
            f"{package.expiry:%Y-%m-%d}. Check the package and tell a pharmacist; nothing was received.",
            code="LOT_EXPIRY_MISMATCH",
        )
    require_usable(lot, today)
    po_line = None
    if purchase_order_line_id is not None:
        from openinfusion.inventory.purchasing import claim_receipt

        po_line = claim_receipt(
            purchase_order_line_id, product=product, quantity=quantity, location=location, actor=actor
        )
    movement = post_movement(
        lot,
        location,
        MovementKind.RECEIVE,
        quantity,
        actor=actor,
        reason=reason,
        manual_entry=package.manual_entry,
        serial_numbers=[package.serial] if package.serial else [],
        purchase_order_line=po_line,
    )
    record(
        "inventory:stock:received",
        actor=actor,
        entity=lot,
        site=location.site,
        after=_movement_snapshot(movement) | {"manual_entry": package.manual_entry, "serial": package.serial},
        reason=reason,
    )
    return Receipt(lot=lot, movement=movement)


def _product_for(package: ScannedPackage) -> Product:
    product = Product.objects.select_related("drug").filter(gtin14=package.gtin14).first()
    if product is None:
        raise NotFound(
            f"No product with GTIN {package.gtin14} (NDC {package.ndc_display}) is in the formulary. "
            "Set the package aside and ask a pharmacist to add the product before receiving it.",
            code="UNKNOWN_PRODUCT",
        )
    if not product.active:
        raise Conflict(
            f"{product} is no longer on the formulary. Do not stock it; ask a pharmacist.",
            code="NOT_ON_FORMULARY",
        )
    return product


@audited("inventory:stock:transfer")
def transfer_stock(
    lot_id: int, *, actor: User, from_location_id: int, to_location_id: int, quantity: int, reason: str = ""
) -> tuple[StockMovement, StockMovement]:
    """Move packages of a lot between two locations (store to clean room, back, or another site of
    the actor's): one ledger line out and one in, in one transaction; never more than is there."""
    check(actor, Action.MOVE_STOCK)
    source = location_for(actor, from_location_id)
    target = location_for(actor, to_location_id)
    if source.pk == target.pk:
        raise InvalidInput("Choose a different location to move the stock to.", code="SAME_LOCATION")
    if quantity <= 0:
        raise InvalidInput("Quantity must be a whole number of packages, 1 or more.", code="BAD_QUANTITY")
    lot = lot_for(actor, lot_id)
    require_usable(lot, site_today(target))
    out = post_movement(lot, source, MovementKind.TRANSFER_OUT, -quantity, actor=actor, reason=reason)
    into = post_movement(lot, target, MovementKind.TRANSFER_IN, quantity, actor=actor, reason=reason)
    record(
        "inventory:stock:transferred",
        actor=actor,
        entity=lot,
        site=source.site,
        before=_movement_snapshot(out),
        after=_movement_snapshot(into),
        reason=reason,
    )
    return out, into


@audited("inventory:stock:waste")
def waste_stock(lot_id: int, *, actor: User, location_id: int, quantity: int, reason: str) -> StockMovement:
    """Take packages out of stock as waste; the reason is required (expired, broken, recalled...)."""
    if not reason.strip():
        raise InvalidInput("Say why the stock is wasted (e.g. 'vial broken', 'expired').", code="REASON_REQUIRED")
    if quantity <= 0:
        raise InvalidInput("Quantity must be a whole number of packages, 1 or more.", code="BAD_QUANTITY")
    location = location_for(actor, location_id)
    lot = lot_for(actor, lot_id)
    movement = post_movement(lot, location, MovementKind.WASTE, -quantity, actor=actor, reason=reason)
    record(
        "inventory:stock:wasted",
        actor=actor,
        entity=lot,
        site=location.site,
        after=_movement_snapshot(movement),
        reason=reason,
    )
    return movement


@audited("inventory:stock:consume")
def consume_stock(lot_id: int, *, actor: User, location_id: int, quantity: int, reference: str) -> StockMovement:
    """Take packages into a preparation (the compounding steps call this with the preparation id)."""
    if quantity <= 0:
        raise InvalidInput("Quantity must be a whole number of packages, 1 or more.", code="BAD_QUANTITY")
    location = location_for(actor, location_id)
    lot = lot_for(actor, lot_id)
    require_usable(lot, site_today(location))
    movement = post_movement(lot, location, MovementKind.CONSUME, -quantity, actor=actor, reference=reference)
    record(
        "inventory:stock:consumed",
        actor=actor,
        entity=lot,
        site=location.site,
        after=_movement_snapshot(movement) | {"reference": reference},
    )
    return movement


@audited("inventory:stock:adjust")
def adjust_stock(lot_id: int, *, actor: User, location_id: int, counted: int, reason: str) -> StockMovement | None:
    """Set the balance to what is on the shelf; the difference becomes an audited adjustment."""
    if counted < 0:
        raise InvalidInput("A count cannot be negative.", code="BAD_QUANTITY")
    if not reason.strip():
        raise InvalidInput("Say why the stock is adjusted (e.g. 'cycle count').", code="REASON_REQUIRED")
    location = location_for(actor, location_id)
    lot = lot_for(actor, lot_id)
    return _adjust_to(lot, location, counted, actor=actor, reason=reason)


def _adjust_to(lot: Lot, location: Location, counted: int, *, actor: User, reason: str) -> StockMovement | None:
    balance = StockBalance.objects.select_for_update().filter(lot=lot, location=location).first()
    expected = balance.quantity if balance else 0
    if counted == expected:
        return None
    movement = post_movement(lot, location, MovementKind.ADJUST, counted - expected, actor=actor, reason=reason)
    record(
        "inventory:stock:adjusted",
        actor=actor,
        entity=lot,
        site=location.site,
        before={"quantity": expected},
        after=_movement_snapshot(movement),
        reason=reason,
    )
    return movement


@audited("inventory:count:record")
def record_count(*, actor: User, location_id: int, counts: dict[int, int]) -> CycleCount:
    """A cycle count of one location: every lot counted, differences become adjustments."""
    location = location_for(actor, location_id)
    if any(n < 0 for n in counts.values()):
        raise InvalidInput("A count cannot be negative.", code="BAD_QUANTITY")
    count = CycleCount.objects.create(location=location, counted_by=actor, counted_at=timezone.now())
    held_here = Lot.objects.filter(pk__in=counts, movements__location__site__in=actor.site_ids()).distinct()
    lots = {lot.pk: lot for lot in held_here}
    unknown = set(counts) - set(lots)
    if unknown:
        raise NotFound(f"Unknown lot id {', '.join(map(str, sorted(unknown)))}.", code="UNKNOWN_LOT")
    for lot_id, counted in sorted(counts.items()):
        lot = lots[lot_id]
        balance = StockBalance.objects.filter(lot=lot, location=location).first()
        CycleCountLine.objects.create(
            count=count, lot=lot, expected=balance.quantity if balance else 0, counted=counted
        )
        _adjust_to(lot, location, counted, actor=actor, reason=f"cycle count {count.pk}")
    record("inventory:count:recorded", actor=actor, entity=count, site=location.site, after={"lots": len(counts)})
    return count


@audited("inventory:lot:quarantine")
def quarantine_lot(lot_id: int, *, actor: User, reason: str, recall: bool = False) -> Lot:
    """Block a lot at once (quarantine, or recall with its reference); every use is refused after."""
    if not reason.strip():
        raise InvalidInput("Give the reason or the recall reference.", code="REASON_REQUIRED")
    lot = lot_for(actor, lot_id)
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    before = {"status": lot.status, "reason": lot.status_reason}
    lot.status = LotStatus.RECALLED if recall else LotStatus.QUARANTINED
    lot.status_reason = reason.strip()
    lot.save(update_fields=["status", "status_reason"])
    record(
        f"inventory:lot:{'recalled' if recall else 'quarantined'}",
        actor=actor,
        entity=lot,
        before=before,
        after={"status": lot.status, "reason": lot.status_reason},
        reason=reason,
    )
    return lot


@audited("inventory:lot:release")
def release_lot(lot_id: int, *, actor: User, reason: str) -> Lot:
    """Return a quarantined lot to use (a recalled lot never returns)."""
    lot = Lot.objects.select_for_update().get(pk=lot_for(actor, lot_id).pk)
    if lot.status == LotStatus.RECALLED:
        raise Conflict("A recalled lot cannot be released; waste it.", code="RECALLED_LOT")
    if not reason.strip():
        raise InvalidInput("Say why the lot is safe to use again.", code="REASON_REQUIRED")
    before = {"status": lot.status, "reason": lot.status_reason}
    lot.status, lot.status_reason = LotStatus.AVAILABLE, ""
    lot.save(update_fields=["status", "status_reason"])
    record(
        "inventory:lot:released", actor=actor, entity=lot, before=before, after={"status": lot.status}, reason=reason
    )
    return lot
