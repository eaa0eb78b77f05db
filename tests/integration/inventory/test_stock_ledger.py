"""The stock ledger: transfers, waste, adjustments and counts; FEFO picks; never negative."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from tests.clock import site_today
from tests.integration.conftest import TEST_NDC, gs1

from openinfusion.errors import DomainError
from openinfusion.inventory import queries, scanning, services
from openinfusion.inventory.models import Lot, StockBalance, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def tech(make_user):
    return make_user("tech", "technician", "inventory")


def stocked(tech, location, lot="L1", expiry=None, quantity=10):
    expiry = expiry or site_today(location) + dt.timedelta(days=100)
    package = scanning.from_scan(gs1(TEST_NDC, lot, expiry))
    return services.receive_stock(actor=tech, package=package, location_id=location.pk, quantity=quantity).lot


def ledger_matches_balances() -> bool:
    for balance in StockBalance.objects.all():
        total = StockMovement.objects.filter(lot=balance.lot, location=balance.location).aggregate(t=Sum("quantity"))
        if total["t"] != balance.quantity:
            return False
    return True


def test_transfer_moves_stock_between_locations_with_two_ledger_lines(tech, product, store, clean_room):
    lot = stocked(tech, store)
    services.transfer_stock(lot.pk, actor=tech, from_location_id=store.pk, to_location_id=clean_room.pk, quantity=4)
    assert StockBalance.objects.get(location=store).quantity == 6
    assert StockBalance.objects.get(location=clean_room).quantity == 4
    assert list(StockMovement.objects.values_list("kind", flat=True)) == ["receive", "transfer_out", "transfer_in"]
    assert ledger_matches_balances()


def test_taking_more_than_is_on_hand_is_refused_and_changes_nothing(tech, product, store, clean_room):
    lot = stocked(tech, store, quantity=3)
    with pytest.raises(DomainError) as refused:
        services.waste_stock(lot.pk, actor=tech, location_id=store.pk, quantity=5, reason="broken")
    assert refused.value.code == "INSUFFICIENT_STOCK"
    assert "requested" in refused.value.message and "has 3" in refused.value.message
    assert StockBalance.objects.get().quantity == 3
    assert StockMovement.objects.count() == 1


def test_the_database_itself_refuses_a_negative_balance(tech, product, store):
    stocked(tech, store, quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.update(quantity=-1)


def test_waste_needs_a_reason(tech, product, store):
    lot = stocked(tech, store)
    with pytest.raises(DomainError) as refused:
        services.waste_stock(lot.pk, actor=tech, location_id=store.pk, quantity=1, reason=" ")
    assert refused.value.code == "REASON_REQUIRED"


def test_adjustment_sets_the_balance_to_the_count_and_records_the_difference(tech, product, store):
    lot = stocked(tech, store, quantity=10)
    movement = services.adjust_stock(lot.pk, actor=tech, location_id=store.pk, counted=8, reason="cycle count")
    assert movement.quantity == -2 and movement.balance_after == 8
    assert services.adjust_stock(lot.pk, actor=tech, location_id=store.pk, counted=8, reason="recount") is None
    assert ledger_matches_balances()


def test_a_cycle_count_records_every_line_and_adjusts_differences(tech, product, store):
    a = stocked(tech, store, lot="A", quantity=10)
    b = stocked(tech, store, lot="B", quantity=4)
    count = services.record_count(actor=tech, location_id=store.pk, counts={a.pk: 9, b.pk: 4})
    assert sorted((li.lot.lot_number, li.expected, li.counted) for li in count.lines.all()) == [
        ("A", 10, 9),
        ("B", 4, 4),
    ]
    assert StockMovement.objects.filter(kind="adjust").count() == 1


def test_fefo_offers_the_first_expiring_usable_lot_and_never_an_expired_one(tech, product, store):
    today = site_today(store)
    later = stocked(tech, store, lot="LATE", expiry=today + dt.timedelta(days=300))
    sooner = stocked(tech, store, lot="SOON", expiry=today + dt.timedelta(days=20))
    quarantined = stocked(tech, store, lot="HELD", expiry=today + dt.timedelta(days=5))
    services.quarantine_lot(quarantined.pk, actor=tech, reason="damaged carton")
    picks = queries.fefo_pick(product.pk, store.pk, today)
    assert [b.lot.lot_number for b in picks] == ["SOON", "LATE"]
    assert queries.fefo_pick(product.pk, store.pk, sooner.expiry + dt.timedelta(days=1))[0].lot == later


def test_consuming_an_expired_lot_is_a_hard_stop(tech, product, store):
    lot = stocked(tech, store)
    lot.expiry = site_today(store) - dt.timedelta(days=1)
    lot.save()
    with pytest.raises(DomainError) as refused:
        services.consume_stock(lot.pk, actor=tech, location_id=store.pk, quantity=1, reference="prep-1")
    assert refused.value.code == "EXPIRED_LOT"


def test_expiring_lists_stock_within_the_window_soonest_first(tech, product, store):
    today = site_today(store)
    stocked(tech, store, lot="D40", expiry=today + dt.timedelta(days=40))
    stocked(tech, store, lot="D10", expiry=today + dt.timedelta(days=10))
    stocked(tech, store, lot="D200", expiry=today + dt.timedelta(days=200))
    assert [b.lot.lot_number for b in queries.expiring(tech.site_ids(), today, 30)] == ["D10"]
    assert [b.lot.lot_number for b in queries.expiring(tech.site_ids(), today, 60)] == ["D10", "D40"]


# --- moving stock from the screens ----------------------------------------------------------------


def test_a_technician_moves_packages_into_the_clean_room_from_the_lot_page(
    tech, product, store, clean_room, client_for
):
    lot = stocked(tech, store, quantity=5)
    client = client_for(tech)
    page = client.get(f"/inventory/lots/{lot.pk}/").content.decode()
    assert 'id="move-stock"' in page and f'<option value="{clean_room.pk}">' in page
    move = {"from_location": store.pk, "to_location": clean_room.pk, "quantity": "2", "reason": "restock"}
    response = client.post(f"/inventory/lots/{lot.pk}/transfer", move, follow=True)
    assert "Moved 2 of lot L1 from" in response.content.decode()
    assert {b.location_id: b.quantity for b in StockBalance.objects.all()} == {store.pk: 3, clean_room.pk: 2}
    too_many = client.post(f"/inventory/lots/{lot.pk}/transfer", move | {"quantity": "9"}, follow=True)
    assert "Not moved" in too_many.content.decode() and "has 3" in too_many.content.decode()
    assert {b.location_id: b.quantity for b in StockBalance.objects.all()} == {store.pk: 3, clean_room.pk: 2}
    assert ledger_matches_balances()


def test_a_move_goes_back_only_to_a_path_of_this_site(tech, product, store, clean_room, client_for):
    lot = stocked(tech, store, quantity=5)
    move = {"from_location": store.pk, "to_location": clean_room.pk, "quantity": "1"}
    client = client_for(tech)
    back = client.post(f"/inventory/lots/{lot.pk}/transfer", move | {"next": "/compounding/"})
    assert back["Location"] == "/compounding/"
    for away in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        answer = client.post(f"/inventory/lots/{lot.pk}/transfer", move | {"next": away})
        assert answer["Location"] == f"/inventory/lots/{lot.pk}/", away


def test_only_stock_roles_may_move_stock(tech, product, store, clean_room, make_user):
    lot = stocked(tech, store, quantity=5)
    nurse = make_user("ward-nurse", "nurse")
    with pytest.raises(DomainError) as refused:
        services.transfer_stock(
            lot.pk, actor=nurse, from_location_id=store.pk, to_location_id=clean_room.pk, quantity=1
        )
    assert refused.value.code == "FORBIDDEN"
    assert StockBalance.objects.get().quantity == 5


def test_a_room_below_par_is_listed_with_the_store_lot_to_bring_and_one_move_tops_it_up(
    tech, product, store, clean_room, client_for
):
    from openinfusion.inventory import purchasing
    from openinfusion.inventory.models import ParLevel, Supplier

    supplier = Supplier.objects.create(code="acme", name="Acme", lead_time_days=1)
    ParLevel.objects.create(product=product, location=clean_room, par=4, reorder_point=2, supplier=supplier)
    soon, later = stocked(tech, store, "L-SOON", quantity=3), stocked(tech, store, "L-LATER", quantity=5)
    Lot.objects.filter(pk=later.pk).update(expiry=soon.expiry + dt.timedelta(days=60))
    client = client_for(tech)
    page = client.get("/inventory/restock/").content.decode()
    row = page[page.index(f'data-room="{clean_room.code}"') :].split("</tr>")[0]
    assert "<strong>4</strong>" in row  # none on hand, par 4
    assert row.index("lot L-SOON") < row.index("lot L-LATER")  # earliest expiry first: 3, then 1
    for form in re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', row, re.S):
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form[1]))
        assert client.post(form[0], fields)["Location"] == "/inventory/restock/"
    assert sum(b.quantity for b in StockBalance.objects.filter(location=clean_room)) == 4
    assert "Every room is at its par level" in client.get("/inventory/restock/").content.decode()
    today = site_today(store)
    assert not any(  # a room is restocked from the store, never bought for
        s.par_level.location_id == clean_room.pk
        for rows in purchasing.reorder_suggestions({store.site_id}, today).values()
        for s in rows
    )
