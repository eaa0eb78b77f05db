"""Receiving by scan: the GS1 DataMatrix fills product, lot, expiry and serial; unknown, expired,
recalled or off-formulary packages are refused with a clear message and nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.integration.conftest import OTHER_NDC, TEST_NDC, gs1

from openinfusion.audit.models import AuditEvent
from openinfusion.inventory.models import Lot, StockBalance, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(make_user):
    return make_user("tech", "technician")


def receive(client, location, code, quantity=5, **extra):
    body = {"location_id": location.pk, "quantity": quantity, "gs1": code, **extra}
    return client.post("/api/v1/inventory/stock/receive", body, content_type="application/json")


def test_a_scan_creates_the_lot_and_puts_stock_on_the_shelf(receiver, client_for, product, store, future):
    response = receive(client_for(receiver), store, gs1(TEST_NDC, "OX123", future, "SER-9"), quantity=6)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["lot_number"] == "OX123" and body["expiry"] == future.isoformat()
    assert body["on_hand"][0]["quantity"] == 6
    movement = StockMovement.objects.get()
    assert movement.kind == "receive" and movement.serial_numbers == ["SER-9"] and not movement.manual_entry
    event = AuditEvent.objects.get(action="inventory:stock:received")
    assert event.actor == receiver and event.after["quantity"] == 6


def test_receiving_the_same_lot_again_adds_to_the_balance(receiver, client_for, product, store, future):
    client = client_for(receiver)
    receive(client, store, gs1(TEST_NDC, "OX123", future, "A"), quantity=2)
    receive(client, store, gs1(TEST_NDC, "OX123", future, "B"), quantity=3)
    assert StockBalance.objects.get().quantity == 5
    assert Lot.objects.count() == 1


@pytest.mark.parametrize(
    ("scan", "code", "status"),
    [
        (lambda f: gs1(OTHER_NDC, "L1", f), "UNKNOWN_PRODUCT", 404),
        (lambda f: gs1(TEST_NDC, "L1", f - dt.timedelta(days=201)), "EXPIRED_LOT", 409),  # yesterday at the site
        (lambda f: "01123", "BAD_BARCODE", 422),
        (lambda f: "0100399999010104" + "17" + f"{f:%y%m%d}" + "10L1", "BAD_CHECK_DIGIT", 422),
    ],
)
def test_bad_scans_are_refused_with_a_code_and_change_nothing(
    receiver, client_for, product, store, future, scan, code, status
):
    response = receive(client_for(receiver), store, scan(future))
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert not StockMovement.objects.exists() and not Lot.objects.exists()
    assert AuditEvent.objects.filter(action="inventory:stock:receive", outcome="refused").count() == 1


def test_a_recalled_lot_cannot_be_received(receiver, client_for, product, store, future):
    client = client_for(receiver)
    receive(client, store, gs1(TEST_NDC, "OX123", future))
    Lot.objects.update(status="recalled", status_reason="FDA recall Z-1234-2026")
    response = receive(client, store, gs1(TEST_NDC, "OX123", future))
    assert response.status_code == 409 and response.json()["code"] == "RECALLED_LOT"
    assert "Z-1234-2026" in response.json()["message"]
    assert StockBalance.objects.get().quantity == 5


def test_a_product_taken_off_the_formulary_is_refused(receiver, client_for, product, store, future):
    product.active = False
    product.save()
    response = receive(client_for(receiver), store, gs1(TEST_NDC, "OX1", future))
    assert response.json()["code"] == "NOT_ON_FORMULARY"


def test_a_lot_number_with_a_different_expiry_is_refused(receiver, client_for, product, store, future):
    client = client_for(receiver)
    receive(client, store, gs1(TEST_NDC, "OX123", future))
    response = receive(client, store, gs1(TEST_NDC, "OX123", future + dt.timedelta(days=31)))
    assert response.json()["code"] == "LOT_EXPIRY_MISMATCH"


def test_manual_entry_needs_a_reason_and_is_marked(receiver, client_for, product, store, future):
    client = client_for(receiver)
    body = {"location_id": store.pk, "quantity": 1, "ndc": TEST_NDC, "lot": "HAND1", "expiry": future.isoformat()}
    refused = client.post("/api/v1/inventory/stock/receive", body, content_type="application/json")
    assert refused.json()["code"] == "REASON_REQUIRED"
    body["reason"] = "DataMatrix torn"
    accepted = client.post("/api/v1/inventory/stock/receive", body, content_type="application/json")
    assert accepted.status_code == 201
    movement = StockMovement.objects.get()
    assert movement.manual_entry and movement.reason == "DataMatrix torn"
    assert AuditEvent.objects.get(action="inventory:stock:received").after["manual_entry"] is True


def test_a_location_of_another_site_does_not_exist_for_the_receiver(receiver, client_for, product, south_store, future):
    response = receive(client_for(receiver), south_store, gs1(TEST_NDC, "OX1", future))
    assert response.status_code == 404 and response.json()["code"] == "UNKNOWN_LOCATION"


@pytest.mark.parametrize("quantity", [0, -3])
def test_quantity_must_be_positive(receiver, client_for, product, store, future, quantity):
    response = receive(client_for(receiver), store, gs1(TEST_NDC, "OX1", future), quantity=quantity)
    assert response.json()["code"] == "BAD_QUANTITY"


def test_a_nurse_cannot_receive_stock(make_user, client_for, product, store, future):
    nurse = make_user("rn", "nurse")
    assert receive(client_for(nurse), store, gs1(TEST_NDC, "OX1", future)).status_code == 403
