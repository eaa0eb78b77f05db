"""The infusion centre's day as records: chairs, nurse shifts and appointments, with the plan the
optimiser (``openinfusion.scheduling``) stored on each appointment."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openinfusion.accounts.models import Site
from openinfusion.orders.models import Order
from openinfusion.patients.models import Patient


class ChairKind(models.TextChoices):
    CHAIR = "chair", "Chair"
    BED = "bed", "Bed"


class Chair(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(max_length=20)
    kind = models.CharField(max_length=10, choices=ChairKind.choices, default=ChairKind.CHAIR)
    long_ok = models.BooleanField(default=True, help_text="suitable for infusions over 4 h")
    isolation = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["site", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="chair_code_unique_per_site")]

    def __str__(self) -> str:
        return self.code


class NurseShift(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    nurse = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    label = models.CharField(max_length=60, help_text="as shown on the board, e.g. the nurse's name")
    date = models.DateField()
    start = models.TimeField(help_text="site-local")
    end = models.TimeField(help_text="site-local")
    max_patients = models.PositiveSmallIntegerField(default=4)
    break_start = models.TimeField(null=True, blank=True, help_text="site-local: no one is started during the break")
    break_end = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(break_start__isnull=True, break_end__isnull=True)
                | models.Q(break_end__gt=models.F("break_start")),
                name="shift_break_both_or_neither",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.date} {self.start:%H:%M}-{self.end:%H:%M}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    IN_CHAIR = "in_chair", "In the chair"
    DONE = "done", "Finished"
    CANCELLED = "cancelled", "Cancelled"


class Appointment(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    date = models.DateField()
    earliest = models.TimeField(help_text="site-local: the patient can come from")
    latest = models.TimeField(help_text="site-local: the patient can come until")
    duration_minutes = models.PositiveIntegerField()
    needs_labs = models.BooleanField(default=False)
    premix_ok = models.BooleanField(
        default=False, help_text="the dose may be made before the patient arrives (labs resulted, visit confirmed)"
    )
    priority = models.PositiveSmallIntegerField(default=1)
    add_on = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    planned_arrival = models.DateTimeField(null=True, blank=True, help_text="the time the patient is told to come")
    planned_start = models.DateTimeField(null=True, blank=True)
    chair = models.ForeignKey(Chair, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    nurse = models.ForeignKey(NurseShift, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    planned_prep_start = models.DateTimeField(null=True, blank=True)
    planned_prep_room = models.CharField(max_length=40, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="seated and infusion started")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="left the chair")
    dose_ready_not_before = models.DateTimeField(
        null=True, blank=True, help_text="the pharmacy's word that the dose is delayed until then"
    )

    class Meta:
        ordering = ["date", "planned_start", "earliest", "id"]
        indexes = [models.Index(fields=["site", "date", "status"])]

    def __str__(self) -> str:
        return f"A{self.pk} {self.patient.mrn} {self.date}"


class ChairOutage(models.Model):
    """A chair out of service for a while (a broken recliner, a spill, cleaning after isolation)."""

    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="outages")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="outage_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.chair.code} out {self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M}"


class DayPlan(models.Model):
    """The last plan of a site's day, with the first-come-first-served baseline's metrics."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    planned_at = models.DateTimeField()
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=20)
    metrics = models.JSONField(default=dict)
    baseline = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "date"], name="one_plan_per_site_day")]

    def __str__(self) -> str:
        return f"plan {self.date} ({self.status})"
