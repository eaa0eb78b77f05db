"""From the pharmacy to the patient: the dispense and its hand-offs, the pump, the bedside check,
the infusion record (program, rate changes, vitals, reactions, end), near misses, education."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openinfusion.accounts.models import Site
from openinfusion.administration.rules import BedsideWarning
from openinfusion.compounding.models import Preparation
from openinfusion.orders.models import Order
from openinfusion.patients.models import Patient

USER = settings.AUTH_USER_MODEL


class Pump(models.Model):
    """An infusion pump, by serial; the equipment issue adds its maintenance and gates its use."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="pumps")
    serial = models.CharField(max_length=40, unique=True)
    model = models.CharField(max_length=80)
    ambulatory = models.BooleanField(default=False, help_text="worn by a home-infusion patient")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["serial"]

    def __str__(self) -> str:
        return f"{self.model} {self.serial}"


class Destination(models.TextChoices):
    CHAIR = "chair", "Infusion center chair"
    WARD = "ward", "Ward and bed"
    HOME = "home", "Home delivery"


class DispenseStatus(models.TextChoices):
    DISPENSED = "dispensed", "Dispensed"
    IN_TRANSIT = "in_transit", "With the courier"
    RECEIVED = "received", "Received at destination"
    RETURNED = "returned", "Returned to pharmacy"
    WASTED = "wasted", "Wasted"
    ADMINISTERED = "administered", "Administered"


OPEN_DISPENSE = ("dispensed", "in_transit", "received", "administered")


class Dispense(models.Model):
    """A checked preparation sent to where it is given. At most one open dispense per preparation
    (a database constraint): a returned dose may be dispensed again, a dose is never sent twice."""

    preparation = models.ForeignKey(Preparation, on_delete=models.PROTECT, related_name="dispenses")
    destination = models.CharField(max_length=10, choices=Destination.choices)
    place = models.CharField(max_length=120, help_text="chair 12 / 4 West bed 7 / the home address")
    cold_chain = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=DispenseStatus.choices, default=DispenseStatus.DISPENSED)
    dispensed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    dispensed_at = models.DateTimeField()
    closed_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["preparation"], condition=models.Q(status__in=OPEN_DISPENSE), name="one_open_dispense"
            )
        ]

    def __str__(self) -> str:
        return f"{self.preparation.barcode} → {self.get_destination_display()} {self.place}"


class HandoffKind(models.TextChoices):
    PHARMACY_OUT = "pharmacy_out", "Left the pharmacy"
    COURIER = "courier", "Taken by the courier"
    RECEIVED = "received", "Received at destination"
    RETURNED = "returned", "Returned to pharmacy"


class Handoff(models.Model):
    dispense = models.ForeignKey(Dispense, on_delete=models.PROTECT, related_name="handoffs")
    kind = models.CharField(max_length=20, choices=HandoffKind.choices)
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    temperature_c = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.by} at {self.at:%H:%M}"


class AdministrationStatus(models.TextChoices):
    VERIFIED = "verified", "Checked at the bedside"
    INFUSING = "infusing", "Infusing"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class Administration(models.Model):
    dispense = models.OneToOneField(Dispense, on_delete=models.PROTECT, related_name="administration")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="administrations")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="administrations")
    nurse = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=AdministrationStatus.choices, default=AdministrationStatus.VERIFIED
    )
    verified_at = models.DateTimeField()
    pump = models.ForeignKey(Pump, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rate_ml_h = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    volume_ml = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    volume_infused_ml = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    amount_given = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    partial = models.BooleanField(default=False)
    end_reason = models.TextField(blank=True)
    waste_disposal = models.CharField(max_length=40, blank=True)

    # Not stored: set by the bedside check when the scan found this record already open, and the
    # warnings the nurse must see before starting (a BUD before the planned end).
    reopened = False
    warnings: tuple[BedsideWarning, ...] = ()

    def __str__(self) -> str:
        return f"{self.order} — {self.get_status_display()}"


class RateChange(models.Model):
    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="rate_changes")
    rate_ml_h = models.DecimalField(max_digits=8, decimal_places=2)
    reason = models.TextField()
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.rate_ml_h} mL/h at {self.at:%H:%M}"


class Vitals(models.Model):
    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="vitals")
    systolic = models.PositiveSmallIntegerField()
    diastolic = models.PositiveSmallIntegerField()
    heart_rate = models.PositiveSmallIntegerField()
    temperature_c = models.DecimalField(max_digits=4, decimal_places=1)
    spo2 = models.PositiveSmallIntegerField()
    respiratory_rate = models.PositiveSmallIntegerField()
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "vitals"

    def __str__(self) -> str:
        return f"BP {self.systolic}/{self.diastolic} HR {self.heart_rate} T {self.temperature_c} SpO2 {self.spo2}"


class Reaction(models.Model):
    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="reactions")
    grade = models.PositiveSmallIntegerField(help_text="CTCAE v5 grade 1–5")
    symptoms = models.TextField()
    actions = models.TextField(blank=True)
    medicines_given = models.TextField(blank=True)
    outcome = models.TextField(blank=True)
    extravasation = models.BooleanField(default=False)
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"grade {self.grade} reaction: {self.symptoms}"


class NearMiss(models.Model):
    """A bedside mismatch that was stopped: kept for quality review."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=40)
    message = models.TextField()
    scanned = models.JSONField(default=dict)
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "near misses"

    def __str__(self) -> str:
        return f"{self.code} at {self.at:%Y-%m-%d %H:%M}"


class EducationRecord(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="education")
    leaflet = models.CharField(max_length=60)
    recipient = models.CharField(max_length=20, choices=[("patient", "Patient"), ("caregiver", "Caregiver")])
    topics = models.JSONField(default=list)
    teach_back = models.BooleanField(default=False)
    skills = models.JSONField(default=list, help_text="home infusion: skills the caregiver demonstrated")
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.leaflet} to {self.recipient}"
