"""The one place stock quantities change: post a movement and its balance in one transaction.

A decrement locks the balance row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite transactions are
IMMEDIATE, so writers queue) and refuses to go below zero; the database constraint
``stock_never_negative`` is the backstop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from openinfusion.errors import Conflict
from openinfusion.inventory.models import Location, Lot, MovementKind, StockBalance, StockMovement


class InsufficientStock(Conflict):
    code = "INSUFFICIENT_STOCK"


def post_movement(
    lot: Lot,
    location: Location,
    kind: MovementKind,
    quantity: int,
    *,
    actor: Any,
    reason: str = "",
    reference: str = "",
    manual_entry: bool = False,
    serial_numbers: Iterable[str] = (),
    purchase_order_line: Any = None,
) -> StockMovement:
    """Append one ledger line (signed ``quantity``) and move the cached balance with it."""
    assert transaction.get_connection().in_atomic_block, "post_movement runs inside the service's transaction"
    balance = StockBalance.objects.select_for_update().filter(lot=lot, location=location).first()
    if balance is None:
        balance = StockBalance.objects.create(lot=lot, location=location, quantity=0)
    if balance.quantity + quantity < 0:
        raise InsufficientStock(
            f"Not enough stock: {abs(quantity)} requested, lot {lot.lot_number} has {balance.quantity} at "
            f"{location.name}. Pick another lot or location, or count the shelf if the number looks wrong.",
            details={"requested": abs(quantity), "on_hand": balance.quantity, "lot": lot.lot_number},
        )
    balance.quantity += quantity
    balance.save(update_fields=["quantity"])
    return StockMovement.objects.create(
        lot=lot,
        location=location,
        kind=kind,
        quantity=quantity,
        balance_after=balance.quantity,
        at=timezone.now(),
        actor=actor,
        reason=reason,
        reference=reference,
        manual_entry=manual_entry,
        serial_numbers=list(serial_numbers),
        purchase_order_line=purchase_order_line,
    )


def on_hand(lot: Lot, location: Location | None = None) -> int:
    balances = StockBalance.objects.filter(lot=lot)
    if location is not None:
        balances = balances.filter(location=location)
    return sum(balances.values_list("quantity", flat=True))
