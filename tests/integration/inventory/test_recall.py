"""Quarantine and recall block a lot at once; the trace finds every package of it."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.clock import site_today
from tests.integration.conftest import TEST_NDC, gs1

from openinfusion.errors import DomainError
from openinfusion.inventory import scanning, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    return make_user("inv", "inventory", "technician")


@pytest.fixture
def lot(staff, product, store, clean_room):
    expiry = site_today(store) + dt.timedelta(days=90)
    package = scanning.from_scan(gs1(TEST_NDC, "RC-1", expiry))
    lot = services.receive_stock(actor=staff, package=package, location_id=store.pk, quantity=10).lot
    services.transfer_stock(lot.pk, actor=staff, from_location_id=store.pk, to_location_id=clean_room.pk, quantity=4)
    services.consume_stock(lot.pk, actor=staff, location_id=clean_room.pk, quantity=1, reference="prep-101")
    services.consume_stock(lot.pk, actor=staff, location_id=clean_room.pk, quantity=1, reference="prep-102")
    return lot


def test_quarantine_blocks_every_use_at_once(staff, lot, store):
    services.quarantine_lot(lot.pk, actor=staff, reason="cracked vials reported")
    for attempt in (
        lambda: services.consume_stock(lot.pk, actor=staff, location_id=store.pk, quantity=1, reference="p"),
        lambda: services.receive_stock(
            actor=staff,
            package=scanning.from_scan(gs1(TEST_NDC, "RC-1", lot.expiry)),
            location_id=store.pk,
            quantity=1,
        ),
    ):
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.code == "QUARANTINED_LOT"


def test_a_recalled_lot_cannot_be_released(staff, lot):
    services.quarantine_lot(lot.pk, actor=staff, reason="FDA Z-0001-2026", recall=True)
    with pytest.raises(DomainError) as refused:
        services.release_lot(lot.pk, actor=staff, reason="looks fine")
    assert refused.value.code == "RECALLED_LOT"


def test_a_quarantined_lot_can_be_released_with_a_reason(staff, lot, store):
    services.quarantine_lot(lot.pk, actor=staff, reason="check carton")
    services.release_lot(lot.pk, actor=staff, reason="carton intact")
    services.consume_stock(lot.pk, actor=staff, location_id=store.pk, quantity=1, reference="prep-103")


def test_the_trace_shows_the_shelf_and_every_preparation(staff, lot, client_for):
    response = client_for(staff).get(f"/api/v1/inventory/lots/{lot.pk}/trace")
    assert response.status_code == 200
    trace = response.json()
    assert trace["received"] == 10
    assert sorted((b["location"], b["quantity"]) for b in trace["on_hand"]) == [
        ("Hazardous buffer room", 2),
        ("Main store", 6),
    ]
    assert [m["reference"] for m in trace["consumed"]] == ["prep-101", "prep-102"]


def test_a_technician_may_not_quarantine_but_inventory_may(make_user, lot, client_for):
    tech = make_user("plain-tech", "technician")
    body = {"reason": "suspected contamination"}
    url = f"/api/v1/inventory/lots/{lot.pk}/quarantine"
    assert client_for(tech).post(url, body, content_type="application/json").status_code == 403
    quality = make_user("qa", "quality")
    response = client_for(quality).post(url, body, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "quarantined"


def test_another_sites_user_cannot_see_the_lot(lot, other_site_admin, make_user, client_for):
    south_pharmacist = make_user("south-rph", "pharmacist", sites=("south",))
    assert client_for(south_pharmacist).get(f"/api/v1/inventory/lots/{lot.pk}/trace").status_code == 404
