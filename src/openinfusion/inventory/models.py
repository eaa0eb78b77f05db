"""Locations, lots, the stock ledger, par levels, suppliers, purchase orders and counts.

Stock is a ledger: every movement is an appended ``StockMovement``; ``StockBalance`` caches the
on-hand quantity per lot and location and is changed only in the same transaction as the movement
that explains it. Quantities are whole packages (vials, bags); a database constraint keeps every
balance at zero or above.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from openinfusion.concurrency import VersionedModel
from openinfusion.formulary.models import Product, Storage


class LocationKind(models.TextChoices):
    STORE = "store", "Pharmacy store"
    CLEAN_ROOM = "clean_room", "Clean room (non-hazardous)"
    HAZARDOUS_BUFFER = "hazardous_buffer", "Hazardous buffer room"
    REFRIGERATOR = "refrigerator", "Refrigerator"
    SATELLITE = "satellite", "Infusion center satellite"
    VAN = "van", "Home-infusion van"


# Rooms that doses are made in or given from: restocked from the site's other locations (the
# store), not bought into; their par levels feed the restock list, not purchasing.
ROOM_KINDS = (LocationKind.CLEAN_ROOM, LocationKind.HAZARDOUS_BUFFER, LocationKind.SATELLITE)


class Location(models.Model):
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="locations")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=30, choices=LocationKind.choices)
    storage = models.CharField(max_length=20, choices=Storage.choices, default=Storage.ROOM)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="location_code_unique_per_site")]

    def __str__(self) -> str:
        return self.name


class LotStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    QUARANTINED = "quarantined", "Quarantined"
    RECALLED = "recalled", "Recalled"
    EXPIRED = "expired", "Expired"  # shown, never stored: derived from the expiry date


class Lot(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=40)
    expiry = models.DateField()
    status = models.CharField(max_length=20, choices=LotStatus.choices, default=LotStatus.AVAILABLE)
    status_reason = models.TextField(blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["expiry", "lot_number"]
        constraints = [models.UniqueConstraint(fields=["product", "lot_number"], name="lot_unique_per_product")]
        indexes = [models.Index(fields=["lot_number"])]

    def __str__(self) -> str:
        return f"{self.product.drug.display_name} lot {self.lot_number} exp {self.expiry:%Y-%m-%d}"

    def effective_status(self, today: dt.date) -> str:
        """Quarantine and recall win; otherwise a lot past its expiry date is expired."""
        if self.status != LotStatus.AVAILABLE:
            return self.status
        return LotStatus.EXPIRED if self.expiry < today else LotStatus.AVAILABLE


class StockBalance(models.Model):
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="balances")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="balances")
    quantity = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lot", "location"], name="one_balance_per_lot_and_location"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="stock_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.lot} at {self.location}: {self.quantity}"


class MovementKind(models.TextChoices):
    RECEIVE = "receive", "Received"
    TRANSFER_OUT = "transfer_out", "Transferred out"
    TRANSFER_IN = "transfer_in", "Transferred in"
    CONSUME = "consume", "Consumed into a preparation"
    WASTE = "waste", "Wasted"
    RETURN = "return", "Returned to stock"
    ADJUST = "adjust", "Adjusted after count"


class StockMovement(models.Model):
    """One appended line of the ledger. Never changed: a correction is another movement."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.IntegerField(help_text="signed: + into the location, - out of it")
    balance_after = models.IntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    reference = models.CharField(max_length=80, blank=True, help_text="preparation, order or PO line it belongs to")
    manual_entry = models.BooleanField(default=False, help_text="entered by hand: the barcode could not be scanned")
    serial_numbers = models.JSONField(default=list, blank=True)
    purchase_order_line = models.ForeignKey(
        "PurchaseOrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="receipts"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["lot", "kind"]),
            models.Index(fields=["location", "at"]),
            models.Index(fields=["kind", "at"]),
            models.Index(fields=["reference"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} of {self.lot}"


class Supplier(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    lead_time_days = models.PositiveSmallIntegerField(default=2)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ParLevel(models.Model):
    """How much of a product a location keeps (par) and when to reorder (reorder point)."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="par_levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="par_levels")
    par = models.PositiveIntegerField()
    reorder_point = models.PositiveIntegerField()
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="par_levels")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="one_par_level_per_product_location"),
            models.CheckConstraint(condition=models.Q(reorder_point__lte=models.F("par")), name="reorder_below_par"),
        ]

    def __str__(self) -> str:
        return f"{self.product} at {self.location}: par {self.par}, reorder at {self.reorder_point}"


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    PARTLY_RECEIVED = "partly_received", "Partly received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseOrder(VersionedModel):
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="purchase_orders")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"PO-{self.pk:05d} {self.supplier}"


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"], name="one_line_per_product"),
            models.CheckConstraint(
                condition=models.Q(quantity_received__lte=models.F("quantity_ordered")), name="no_over_receipt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.quantity_received}/{self.quantity_ordered}"


class CycleCount(models.Model):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="counts")
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    counted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"count of {self.location} at {self.counted_at:%Y-%m-%d %H:%M}"


class CycleCountLine(models.Model):
    count = models.ForeignKey(CycleCount, on_delete=models.PROTECT, related_name="lines")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField()
    counted = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.lot}: expected {self.expected}, counted {self.counted}"
