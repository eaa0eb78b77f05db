"""Cycle counts become audited adjustments; expiry windows; first-expiry-first-out picks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone
from tests.clock import site_today
from tests.integration.conftest import TEST_NDC, gs1

from openinfusion.audit.models import AuditEvent
from openinfusion.errors import DomainError
from openinfusion.inventory import queries, scanning, services
from openinfusion.inventory.models import CycleCount, Lot, StockBalance, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    return make_user("inv", "inventory", "technician")


def stocked(actor, location, lot, days=100, quantity=10):
    package = scanning.from_scan(gs1(TEST_NDC, lot, site_today(location) + dt.timedelta(days=days)))
    return services.receive_stock(actor=actor, package=package, location_id=location.pk, quantity=quantity).lot


def on_hand(lot, location) -> int:
    balance = StockBalance.objects.filter(lot=lot, location=location).first()
    return balance.quantity if balance else 0


def test_count_differences_become_audited_adjust_movements(staff, product, store, clean_room):
    """Shrinkage and found stock must show in the ledger as adjustments with who, when and why, so
    that the balance always equals the sum of its movements and an inspector can see the count."""
    short = stocked(staff, store, "SHORT", quantity=10)
    exact = stocked(staff, store, "EXACT", quantity=4)
    found = stocked(staff, clean_room, "FOUND", quantity=2)  # never at the store until the count finds 3
    count = services.record_count(actor=staff, location_id=store.pk, counts={short.pk: 7, exact.pk: 4, found.pk: 3})

    adjustments = StockMovement.objects.filter(kind="adjust").order_by("lot__lot_number")
    assert [(m.lot.lot_number, m.quantity, m.balance_after) for m in adjustments] == [
        ("FOUND", 3, 3),
        ("SHORT", -3, 7),
    ]
    assert all(m.actor == staff and m.reason == f"cycle count {count.pk}" for m in adjustments)
    assert (on_hand(short, store), on_hand(exact, store), on_hand(found, store)) == (7, 4, 3)
    assert on_hand(found, clean_room) == 2, "a count of one location leaves the others alone"
    for lot in (short, exact, found):
        total = StockMovement.objects.filter(lot=lot, location=store).aggregate(t=Sum("quantity"))["t"]
        assert total == on_hand(lot, store)

    events = AuditEvent.objects.filter(action="inventory:stock:adjusted").order_by("id")
    assert [(e.entity_id, e.before["quantity"], e.after["quantity"]) for e in events] == [
        (str(short.pk), 10, -3),
        (str(found.pk), 0, 3),
    ]
    assert all(e.actor == staff and e.reason == f"cycle count {count.pk}" for e in events)
    assert AuditEvent.objects.filter(action="inventory:count:recorded", entity_id=str(count.pk)).exists()
    assert sorted((li.lot.lot_number, li.expected, li.counted) for li in count.lines.all()) == [
        ("EXACT", 4, 4),
        ("FOUND", 0, 3),
        ("SHORT", 10, 7),
    ]


@pytest.mark.parametrize(("counts", "code"), [("negative", "BAD_QUANTITY"), ("unknown", "UNKNOWN_LOT")])
def test_a_bad_count_is_refused_whole_and_audited(staff, product, store, counts, code):
    """A count with one bad line must not half-apply: either every line adjusts or none does."""
    lot = stocked(staff, store, "C1", quantity=10)
    other = stocked(staff, store, "C2", quantity=5)
    lines = {lot.pk: 8, other.pk: -1} if counts == "negative" else {lot.pk: 8, other.pk: 4, 987654: 1}
    with pytest.raises(DomainError) as refused:
        services.record_count(actor=staff, location_id=store.pk, counts=lines)
    assert refused.value.code == code
    assert not CycleCount.objects.exists()
    assert not StockMovement.objects.filter(kind="adjust").exists()
    assert (on_hand(lot, store), on_hand(other, store)) == (10, 5)
    assert AuditEvent.objects.filter(action="inventory:count:record", outcome="refused").count() == 1


def test_a_count_cannot_name_a_lot_held_only_at_another_site(staff, product, store, south_store, make_user):
    """Lot ids from another site must look unknown: counting them would leak that they exist."""
    south = make_user("south-inv", "inventory", sites=("south",))
    theirs = stocked(south, south_store, "SOUTH-1")
    with pytest.raises(DomainError) as refused:
        services.record_count(actor=staff, location_id=store.pk, counts={theirs.pk: 2})
    assert refused.value.code == "UNKNOWN_LOT"
    assert on_hand(theirs, store) == 0


def test_expiring_windows_of_30_60_and_90_days(staff, product, store, clean_room, south_store, make_user):
    """The expiry report drives what is used first and what is returned for credit; each window must
    hold exactly the stock expiring within it, already-expired stock first, empty shelves left out."""
    today = site_today(store)
    for name, days in (("D10", 10), ("D30", 30), ("D45", 45), ("D75", 75), ("D90", 90), ("D91", 91), ("D200", 200)):
        stocked(staff, store, name, days=days, quantity=2)
    gone = stocked(staff, clean_room, "EMPTY", days=5, quantity=1)
    services.consume_stock(gone.pk, actor=staff, location_id=clean_room.pk, quantity=1, reference="prep-1")
    old = stocked(staff, store, "OLD", days=20, quantity=1)
    Lot.objects.filter(pk=old.pk).update(expiry=today - dt.timedelta(days=3))
    south = make_user("south-inv", "inventory", sites=("south",))
    stocked(south, south_store, "SOUTH", days=15, quantity=1)

    def window(days: int) -> list[str]:
        return [b.lot.lot_number for b in queries.expiring(staff.site_ids(), today, days)]

    assert window(30) == ["OLD", "D10", "D30"]
    assert window(60) == ["OLD", "D10", "D30", "D45"]
    assert window(90) == ["OLD", "D10", "D30", "D45", "D75", "D90"]
    assert [b.lot.lot_number for b in queries.expiring(south.site_ids(), today, 30)] == ["SOUTH"]


def test_fefo_picks_the_earliest_expiring_usable_lot(staff, product, store, clean_room):
    """First-expiry-first-out wastes least; a pick must never offer an expired, quarantined or
    recalled lot, nor a lot that is empty or kept at another location."""
    today = site_today(store)
    expired = stocked(staff, store, "EXPIRED", days=50)
    Lot.objects.filter(pk=expired.pk).update(expiry=today - dt.timedelta(days=1))
    held = stocked(staff, store, "HELD", days=3)
    services.quarantine_lot(held.pk, actor=staff, reason="temperature excursion")
    recalled = stocked(staff, store, "RECALLED", days=4)
    services.quarantine_lot(recalled.pk, actor=staff, reason="FDA Z-0002-2026", recall=True)
    empty = stocked(staff, store, "EMPTY", days=5, quantity=1)
    services.consume_stock(empty.pk, actor=staff, location_id=store.pk, quantity=1, reference="prep-1")
    stocked(staff, clean_room, "ELSEWHERE", days=6)
    stocked(staff, store, "LATER", days=90)
    stocked(staff, store, "FIRST", days=30)
    today_lot = stocked(staff, store, "TODAY", days=40)
    Lot.objects.filter(pk=today_lot.pk).update(expiry=today)

    picks = queries.fefo_pick(product.pk, store.pk, today)
    assert [b.lot.lot_number for b in picks] == ["TODAY", "FIRST", "LATER"]
    assert all(b.lot.effective_status(today) == "available" for b in picks)
    assert [b.lot.lot_number for b in queries.fefo_pick(product.pk, store.pk, today + dt.timedelta(days=1))] == [
        "FIRST",
        "LATER",
    ]

    services.release_lot(held.pk, actor=staff, reason="excursion within limits")
    assert [b.lot.lot_number for b in queries.fefo_pick(product.pk, store.pk, today)] == [
        "TODAY",
        "HELD",
        "FIRST",
        "LATER",
    ]


def test_fefo_breaks_an_expiry_tie_by_the_lot_received_first(staff, product, store):
    """Two lots with the same expiry: the older delivery goes first, deterministically."""
    first = stocked(staff, store, "AAA-LATE", days=60)
    second = stocked(staff, store, "AAA-EARLY", days=60)
    Lot.objects.filter(pk=first.pk).update(received_at=timezone.now() - dt.timedelta(days=2))
    picks = queries.fefo_pick(product.pk, store.pk, site_today(store))
    assert [b.lot for b in picks] == [first, second]
