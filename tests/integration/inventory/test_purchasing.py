"""Purchase orders (draft → sent → partly received → received) and reorder suggestions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from tests.clock import site_today
from tests.integration.conftest import OTHER_NDC, TEST_NDC, gs1

from openinfusion.audit.models import AuditEvent
from openinfusion.clinical.codes import ndc_to_gtin14
from openinfusion.errors import DomainError
from openinfusion.inventory import purchasing, scanning, services
from openinfusion.inventory.models import (
    Location,
    Lot,
    ParLevel,
    PurchaseOrder,
    PurchaseOrderLine,
    StockMovement,
    Supplier,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(make_user):
    return make_user("buyer", "inventory")


@pytest.fixture
def supplier(db):
    return Supplier.objects.create(code="acme", name="Acme Wholesale")


@pytest.fixture
def other_supplier(db):
    return Supplier.objects.create(code="zenith", name="Zenith Specialty")


@pytest.fixture
def other_product(drug):
    from openinfusion.formulary.models import Product

    return Product.objects.create(
        drug=drug,
        ndc11="99999020202",
        ndc_labelled=OTHER_NDC,
        gtin14=ndc_to_gtin14(OTHER_NDC),
        labeler="Test Labs",
        strength_amount=Decimal(50),
        strength_unit="mg",
        strength_volume=Decimal(10),
        strength_volume_unit="mL",
        form="solution",
        container="single_dose_vial",
    )


@pytest.fixture
def order(buyer, supplier, store, product, other_product):
    return purchasing.create_purchase_order(
        actor=buyer, supplier_id=supplier.pk, location_id=store.pk, lines={product.pk: 10, other_product.pk: 4}
    )


def line_of(order, product) -> PurchaseOrderLine:
    return order.lines.get(product=product)


def receive(actor, store, quantity, line, ndc=TEST_NDC, lot="PO-LOT", expiry=None):
    expiry = expiry or site_today(store) + dt.timedelta(days=200)
    return services.receive_stock(
        actor=actor,
        package=scanning.from_scan(gs1(ndc, lot, expiry)),
        location_id=store.pk,
        quantity=quantity,
        purchase_order_line_id=line.pk,
    )


def status(order) -> str:
    return PurchaseOrder.objects.get(pk=order.pk).status


def test_an_order_goes_from_draft_to_sent_to_partly_received_to_received(buyer, order, store, product, other_product):
    """The order's state must follow the deliveries, so the buyer knows what is still owed."""
    assert order.status == "draft" and order.version == 1
    sent = purchasing.send_purchase_order(order.pk, actor=buyer, expected_version=1)
    assert sent.status == "sent" and sent.sent_at is not None and sent.version == 2

    receive(buyer, store, 4, line_of(order, product))
    assert status(order) == "partly_received"
    assert line_of(order, product).quantity_received == 4
    receive(buyer, store, 6, line_of(order, product))
    assert status(order) == "partly_received", "one line is complete, the other is still owed"
    receive(buyer, store, 4, line_of(order, other_product), ndc=OTHER_NDC, lot="OTHER")
    assert status(order) == "received"
    receipts = StockMovement.objects.filter(purchase_order_line__purchase_order=order)
    assert sorted(receipts.values_list("quantity", flat=True)) == [4, 4, 6]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"inventory:purchase_order:created", "inventory:purchase_order:sent"} <= actions


def test_over_receipt_is_refused_and_changes_nothing(buyer, order, store, product):
    """Receiving more than was ordered hides a supplier error (or a mis-scan); refuse it whole."""
    purchasing.send_purchase_order(order.pk, actor=buyer, expected_version=1)
    receive(buyer, store, 7, line_of(order, product))
    movements = StockMovement.objects.count()
    with pytest.raises(DomainError) as refused:
        receive(buyer, store, 4, line_of(order, product), lot="SECOND")
    assert refused.value.code == "OVER_RECEIPT" and refused.value.status == 409
    assert "3 package(s) remain" in refused.value.message
    assert line_of(order, product).quantity_received == 7
    assert status(order) == "partly_received"
    assert StockMovement.objects.count() == movements
    assert not Lot.objects.filter(lot_number="SECOND").exists()
    assert AuditEvent.objects.filter(action="inventory:stock:receive", outcome="refused").count() == 1


def test_a_receipt_makes_an_open_purchase_order_screen_stale(buyer, order, store, product):
    """A receipt changes what is still owed; a screen opened before it must not send a cancel."""
    purchasing.send_purchase_order(order.pk, actor=buyer, expected_version=1)
    receive(buyer, store, 4, line_of(order, product))
    assert PurchaseOrder.objects.get(pk=order.pk).version == 3
    with pytest.raises(DomainError) as refused:
        purchasing.cancel_purchase_order(order.pk, actor=buyer, expected_version=2, reason="changed mind")
    assert refused.value.status == 409


def test_receiving_an_order_at_another_location_is_refused(buyer, order, clean_room, product):
    """The order says where it goes; receiving it into another room hides where the stock is."""
    purchasing.send_purchase_order(order.pk, actor=buyer, expected_version=1)
    with pytest.raises(DomainError) as refused:
        receive(buyer, clean_room, 2, line_of(order, product))
    assert refused.value.code == "WRONG_LOCATION"
    assert line_of(order, product).quantity_received == 0 and not StockMovement.objects.exists()


@pytest.mark.parametrize("state", ["draft", "cancelled"])
def test_receiving_against_an_order_that_was_not_sent_is_refused(buyer, order, store, product, state):
    """A draft was never placed and a cancelled order will not be delivered; stock received against
    them would be counted against the wrong order."""
    if state == "cancelled":
        purchasing.cancel_purchase_order(order.pk, actor=buyer, expected_version=1, reason="duplicate")
    with pytest.raises(DomainError) as refused:
        receive(buyer, store, 2, line_of(order, product))
    assert refused.value.code == "PO_WRONG_STATE"
    assert status(order) == state
    assert line_of(order, product).quantity_received == 0
    assert not StockMovement.objects.exists() and not Lot.objects.exists()


def test_receiving_the_wrong_product_against_a_line_is_refused(buyer, order, store, product, other_product):
    """A package must only count against the order line of its own product."""
    purchasing.send_purchase_order(order.pk, actor=buyer, expected_version=1)
    with pytest.raises(DomainError) as refused:
        receive(buyer, store, 1, line_of(order, product), ndc=OTHER_NDC)
    assert refused.value.code == "WRONG_PRODUCT"
    assert not StockMovement.objects.exists()


def test_a_stale_version_is_refused_and_changes_nothing(buyer, order):
    """Two buyers on one order: the second, acting on a screen that still shows the draft, must be
    told the order changed instead of cancelling an order the supplier already has."""
    purchasing.send_purchase_order(order.pk, actor=buyer, expected_version=1)
    with pytest.raises(DomainError) as refused:
        purchasing.cancel_purchase_order(order.pk, actor=buyer, expected_version=1, reason="not needed")
    assert refused.value.code == "STALE_EDIT" and refused.value.status == 409
    assert status(order) == "sent"
    assert PurchaseOrder.objects.get(pk=order.pk).version == 2


def test_the_api_answers_409_for_a_stale_version_and_a_wrong_state(buyer, order, client_for):
    """API clients rely on the 409 status and the code to reload instead of retrying blindly."""
    client = client_for(buyer)
    url = f"/api/v1/inventory/purchase-orders/{order.pk}"
    sent = client.post(f"{url}/send", {"version": 1}, content_type="application/json")
    assert sent.status_code == 200 and sent.json()["status"] == "sent" and sent.json()["version"] == 2
    stale = client.post(f"{url}/cancel", {"version": 1, "reason": "x"}, content_type="application/json")
    assert stale.status_code == 409 and stale.json()["code"] == "STALE_EDIT"
    again = client.post(f"{url}/send", {"version": 2}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "PO_WRONG_STATE"
    assert status(order) == "sent"


def test_an_order_needs_positive_quantities(buyer, supplier, store, product):
    """An order line of zero packages is a typing error, not an order."""
    with pytest.raises(DomainError) as refused:
        purchasing.create_purchase_order(
            actor=buyer, supplier_id=supplier.pk, location_id=store.pk, lines={product.pk: 0}
        )
    assert refused.value.code == "BAD_QUANTITY"
    assert not PurchaseOrder.objects.exists()


def stock(actor, location, ndc, lot, quantity, expiry_days=200):
    expiry = site_today(location) + dt.timedelta(days=expiry_days)
    package = scanning.from_scan(gs1(ndc, lot, expiry))
    return services.receive_stock(actor=actor, package=package, location_id=location.pk, quantity=quantity).lot


def test_reorder_suggests_products_at_or_below_reorder_point_up_to_par_by_supplier(
    buyer, store, site, product, other_product, supplier, other_supplier, south_store
):
    """The buyer orders from the suggestion; a product missed (or one over-ordered) means a dose
    not made or money on the shelf, so the threshold, the quantity and the grouping must be exact.
    (Clean rooms are restocked from the store, not bought for: ``room_restock``.)"""
    fridge = Location.objects.create(site=site, code="fridge", name="Refrigerator", kind="refrigerator")
    today = site_today(store)
    ParLevel.objects.create(product=product, location=store, par=20, reorder_point=5, supplier=supplier)
    ParLevel.objects.create(product=other_product, location=store, par=8, reorder_point=3, supplier=other_supplier)
    ParLevel.objects.create(product=product, location=fridge, par=6, reorder_point=2, supplier=supplier)
    ParLevel.objects.create(product=other_product, location=fridge, par=10, reorder_point=4, supplier=supplier)
    ParLevel.objects.create(product=product, location=south_store, par=50, reorder_point=40, supplier=supplier)

    stock(buyer, store, TEST_NDC, "A", 5)  # exactly at the reorder point: suggested, 15 up to par
    stock(buyer, store, OTHER_NDC, "B", 4)  # above its reorder point of 3: not suggested
    lot = stock(buyer, fridge, TEST_NDC, "C", 3)  # above 2 ... but quarantined stock does not count
    services.quarantine_lot(lot.pk, actor=buyer, reason="damaged carton")
    stock(buyer, fridge, OTHER_NDC, "D", 9, expiry_days=1)  # expired by the time we look
    suggestions = purchasing.reorder_suggestions(buyer.site_ids(), today + dt.timedelta(days=2))

    assert set(suggestions) == {supplier}, "another site's par levels are not this buyer's to order"
    got = {(s.par_level.product_id, s.par_level.location_id): (s.on_hand, s.quantity) for s in suggestions[supplier]}
    assert got == {
        (product.pk, store.pk): (5, 15),
        (product.pk, fridge.pk): (0, 6),
        (other_product.pk, fridge.pk): (0, 10),
    }


def test_reorder_groups_by_supplier(buyer, store, product, other_product, supplier, other_supplier):
    """One purchase order goes to one supplier, so suggestions must come grouped that way."""
    ParLevel.objects.create(product=product, location=store, par=10, reorder_point=2, supplier=supplier)
    ParLevel.objects.create(product=other_product, location=store, par=12, reorder_point=2, supplier=other_supplier)
    suggestions = purchasing.reorder_suggestions(buyer.site_ids(), site_today(store))
    assert {s: [x.par_level.product_id for x in items] for s, items in suggestions.items()} == {
        supplier: [product.pk],
        other_supplier: [other_product.pk],
    }
    assert [x.quantity for x in suggestions[other_supplier]] == [12]


def test_reorder_shows_usage_over_the_last_30_days_only(buyer, store, clean_room, product, supplier):
    """Usage tells the buyer how fast a product goes; counting old consumption (or transfers, which
    are not usage) would inflate the order."""
    ParLevel.objects.create(product=product, location=store, par=30, reorder_point=10, supplier=supplier)
    lot = stock(buyer, store, TEST_NDC, "U", 20)
    services.consume_stock(lot.pk, actor=buyer, location_id=store.pk, quantity=3, reference="prep-old")
    StockMovement.objects.filter(reference="prep-old").update(at=timezone.now() - dt.timedelta(days=31))
    services.consume_stock(lot.pk, actor=buyer, location_id=store.pk, quantity=4, reference="prep-new")
    services.waste_stock(lot.pk, actor=buyer, location_id=store.pk, quantity=1, reason="vial broken")
    services.transfer_stock(lot.pk, actor=buyer, from_location_id=store.pk, to_location_id=clean_room.pk, quantity=5)
    suggestions = purchasing.reorder_suggestions(buyer.site_ids(), site_today(store))
    (suggestion,) = suggestions[supplier]
    assert suggestion.on_hand == 7 and suggestion.quantity == 23
    assert suggestion.usage == 5
    assert purchasing.reorder_suggestions(buyer.site_ids(), site_today(store), usage_days=60)[supplier][0].usage == 8
