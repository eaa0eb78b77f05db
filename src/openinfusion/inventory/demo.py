"""Demo stock: locations at every site, suppliers, par levels, lots of every starter product (some
near expiry, one expired, one quarantined) and open purchase orders. Received through the real
services, so the ledger and the audit trail look as they would in use."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from openinfusion.accounts.models import Site, User
from openinfusion.audit.services import record
from openinfusion.formulary.models import Product
from openinfusion.inventory import purchasing, scanning, services
from openinfusion.inventory.ledger import post_movement
from openinfusion.inventory.models import Location, Lot, MovementKind, ParLevel, StockBalance, Supplier

LOCATIONS = {
    "main-pharmacy": [
        ("store", "Pharmacy store", "store", "room"),
        ("fridge", "Pharmacy refrigerator", "refrigerator", "refrigerator"),
        ("hd-buffer", "Hazardous buffer room", "hazardous_buffer", "room"),
        ("clean-room", "Non-hazardous clean room", "clean_room", "room"),
    ],
    "infusion-center": [("satellite", "Infusion center satellite", "satellite", "room")],
    "home-infusion": [
        ("store", "Home-infusion store", "store", "room"),
        ("van-1", "Delivery van 1", "van", "refrigerator"),
    ],
}
ROOM_PAR_PRODUCTS = 12  # the clean rooms keep 4 packages of the first products; the restock list tops them up
SUPPLIERS = [
    ("northeast-medical", "Northeast Medical Supply (demo)", 1),
    ("lakeshore", "Lakeshore Pharma Distribution (demo)", 2),
]


def load_inventory_demo(seed: int = 7) -> None:
    if Location.objects.exists() or not Product.objects.exists():
        return
    rng = random.Random(seed)  # noqa: S311 - demo quantities, not security
    clerk = User.objects.get(username="inventory")
    today = timezone.localdate()
    with transaction.atomic():
        locations = {
            (site.code, code): Location.objects.create(site=site, code=code, name=name, kind=kind, storage=storage)
            for site in Site.objects.filter(code__in=LOCATIONS)
            for code, name, kind, storage in LOCATIONS[site.code]
        }
        suppliers = [Supplier.objects.create(code=c, name=n, lead_time_days=d) for c, n, d in SUPPLIERS]
    store = locations[("main-pharmacy", "store")]
    products = list(Product.objects.filter(active=True).select_related("drug").order_by("pk"))
    for index, product in enumerate(products):
        shelf = locations[("main-pharmacy", "fridge")] if product.storage == "refrigerator" else store
        for n in range(1 + index % 2):
            expiry = today + dt.timedelta(days=rng.choice([20, 45, 75, 200, 320, 480]) + 30 * n)
            _receive(
                clerk,
                product,
                shelf,
                f"D{product.pk:03d}{chr(65 + n)}{rng.randint(100, 999)}",
                expiry,
                rng.randint(4, 30),
            )
        par = rng.randint(10, 40)
        ParLevel.objects.create(
            product=product,
            location=shelf,
            par=par,
            reorder_point=par // 3 + index % 5,
            supplier=suppliers[index % 2],
        )
    for index, product in enumerate(p for p in products if p.storage != "refrigerator"):
        if index >= ROOM_PAR_PRODUCTS:
            break
        room = locations[("main-pharmacy", "hd-buffer" if product.drug.hazardous else "clean-room")]
        ParLevel.objects.create(product=product, location=room, par=4, reorder_point=2, supplier=suppliers[0])
    _spread(clerk, locations)
    _expired_lot(clerk, products[0], store, today)
    held = Lot.objects.order_by("pk")[3]
    services.quarantine_lot(held.pk, actor=clerk, reason="Carton arrived crushed; awaiting manufacturer reply")
    _purchase_orders(clerk, suppliers, store, products)


def _receive(clerk: User, product: Product, location: Location, lot: str, expiry: dt.date, quantity: int) -> Lot:
    package = scanning.ScannedPackage(gtin14=product.gtin14, lot=lot, expiry=expiry, serial=f"S{lot}")
    return services.receive_stock(actor=clerk, package=package, location_id=location.pk, quantity=quantity).lot


def _spread(clerk: User, locations: dict[tuple[str, str], Location]) -> None:
    """Move some stock to the clean rooms and the satellite, as a working day would."""
    targets = [
        locations[("main-pharmacy", "hd-buffer")],
        locations[("main-pharmacy", "clean-room")],
        locations[("infusion-center", "satellite")],
    ]
    for n, balance in enumerate(StockBalance.objects.filter(quantity__gte=6).select_related("lot", "location")[:24]):
        target = targets[n % 3]
        services.transfer_stock(
            balance.lot_id,
            actor=clerk,
            from_location_id=balance.location_id,
            to_location_id=target.pk,
            quantity=2,
            reason="restock for today",
        )


def _expired_lot(clerk: User, product: Product, store: Location, today: dt.date) -> None:
    """A lot that expired on the shelf last week (received months ago, before the demo began)."""
    with transaction.atomic():
        lot = Lot.objects.create(
            product=product,
            lot_number="EXP-DEMO-1",
            expiry=today - dt.timedelta(days=7),
            received_at=timezone.now() - dt.timedelta(days=200),
        )
        post_movement(lot, store, MovementKind.RECEIVE, 3, actor=clerk, reason="received before it expired (demo)")
        record(
            "inventory:stock:received",
            actor=clerk,
            entity=lot,
            site=store.site,
            after={"lot": lot.lot_number, "quantity": 3, "demo": "expired on the shelf"},
        )


def _purchase_orders(clerk: User, suppliers: list[Supplier], store: Location, products: list[Product]) -> None:
    purchasing.create_purchase_order(
        actor=clerk, supplier_id=suppliers[0].pk, location_id=store.pk, lines={p.pk: 10 for p in products[:3]}
    )
    sent = purchasing.create_purchase_order(
        actor=clerk, supplier_id=suppliers[1].pk, location_id=store.pk, lines={p.pk: 6 for p in products[3:6]}
    )
    purchasing.send_purchase_order(sent.pk, actor=clerk, expected_version=sent.version)
    partly = purchasing.create_purchase_order(
        actor=clerk, supplier_id=suppliers[0].pk, location_id=store.pk, lines={p.pk: 8 for p in products[6:8]}
    )
    purchasing.send_purchase_order(partly.pk, actor=clerk, expected_version=partly.version)
    line = partly.lines.order_by("pk").first()
    assert line is not None
    package = scanning.ScannedPackage(
        gtin14=line.product.gtin14, lot="PO-DEMO-1", expiry=timezone.localdate() + dt.timedelta(days=400), serial="SPO1"
    )
    services.receive_stock(
        actor=clerk, package=package, location_id=store.pk, quantity=4, purchase_order_line_id=line.pk
    )
