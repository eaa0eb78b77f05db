"""Preparations and everything recorded while making one: the plan, each step with its scans and
weighings, intercepted errors, photos; open vials; compounding qualifications; master recipes."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openinfusion.accounts.models import Signature, Site
from openinfusion.concurrency import VersionedModel
from openinfusion.formulary.models import Drug, Product
from openinfusion.inventory.models import Location, Lot
from openinfusion.orders.models import Order


class QualificationKind(models.TextChoices):
    STERILE = "sterile", "Sterile compounding (USP <797>)"
    HAZARDOUS = "hazardous", "Hazardous drug handling (USP <800>)"


class Qualification(models.Model):
    """A person's current competency to compound; the quality issue adds the assessments behind it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="qualifications")
    kind = models.CharField(max_length=20, choices=QualificationKind.choices)
    valid_until = models.DateField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-valid_until"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_kind_display()} until {self.valid_until:%Y-%m-%d}"


class RecipeStatus(models.TextChoices):
    DRAFT = "draft", "Awaiting approval"
    APPROVED = "approved", "Approved"
    SUPERSEDED = "superseded", "Superseded"


class Recipe(models.Model):
    """A master formulation record for a drug: the steps a preparation follows, versioned; a
    change is a new version that a pharmacist approves, and the old one is kept as superseded."""

    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="recipes")
    version = models.PositiveIntegerField()
    instructions = models.JSONField(default=list, help_text="extra steps/notes shown to the technician")
    status = models.CharField(max_length=20, choices=RecipeStatus.choices, default=RecipeStatus.DRAFT)
    change_reason = models.TextField()
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["drug", "-version"]
        constraints = [models.UniqueConstraint(fields=["drug", "version"], name="one_recipe_version_per_drug")]

    def __str__(self) -> str:
        return f"{self.drug.display_name} recipe v{self.version} ({self.get_status_display()})"


class PreparationStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "Being prepared"
    AWAITING_CHECK = "awaiting_check", "Awaiting final check"
    APPROVED = "approved", "Checked — label released"
    REJECTED = "rejected", "Rejected and wasted"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (PreparationStatus.PLANNED, PreparationStatus.IN_PROGRESS, PreparationStatus.AWAITING_CHECK)
"""A preparation in one of these is making its order's dose: the order needs no other."""


class Preparation(VersionedModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="preparations")
    room = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    recipe = models.ForeignKey(Recipe, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plan = models.JSONField(help_text="components, volumes, bag, BUD limits, handling and the steps")
    status = models.CharField(max_length=20, choices=PreparationStatus.choices, default=PreparationStatus.PLANNED)
    needed_by = models.DateTimeField()
    needs_release = models.BooleanField(default=False)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_reason = models.TextField(blank=True)
    planned_at = models.DateTimeField()
    planned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bud = models.DateTimeField(null=True, blank=True, help_text="set when compounding completes")
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    final_check = models.ForeignKey(Signature, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rejection_reason = models.TextField(blank=True)
    bag_number = models.PositiveSmallIntegerField(default=1)
    bag_count = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["needed_by", "id"]
        indexes = [models.Index(fields=["status", "needed_by"])]

    def __str__(self) -> str:
        return f"Preparation {self.barcode} — {self.order.drug.display_name} {self.order.dose_text}"

    @property
    def barcode(self) -> str:
        """What the label's DataMatrix carries and the nurse scans."""
        return f"OIP-{self.pk:06d}"

    @property
    def released(self) -> bool:
        return not self.needs_release or self.released_at is not None


class StepRecord(models.Model):
    """One completed step of a preparation, in order; the plan says what each index must be."""

    preparation = models.ForeignKey(Preparation, on_delete=models.PROTECT, related_name="steps")
    index = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=30)
    data = models.JSONField(default=dict)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["preparation", "index"]
        constraints = [models.UniqueConstraint(fields=["preparation", "index"], name="one_record_per_step")]

    def __str__(self) -> str:
        return f"step {self.index + 1} {self.kind}"

    @property
    def title(self) -> str:
        """What the step was, in the words the technician read on the screen."""
        steps = self.preparation.plan.get("steps", [])
        return str(steps[self.index]["title"]) if self.index < len(steps) else self.kind.replace("_", " ")


class Scan(models.Model):
    step = models.OneToOneField(StepRecord, on_delete=models.PROTECT, related_name="scan")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="scans")
    serial = models.CharField(max_length=40, blank=True)
    open_vial = models.ForeignKey("OpenVial", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.product} lot {self.lot.lot_number}"


class Weighing(models.Model):
    step = models.OneToOneField(StepRecord, on_delete=models.PROTECT, related_name="weighing")
    scale = models.CharField(max_length=40)
    tare_g = models.DecimalField(max_digits=9, decimal_places=3)
    gross_g = models.DecimalField(max_digits=9, decimal_places=3)
    specific_gravity = models.DecimalField(max_digits=6, decimal_places=4)
    expected_ml = models.DecimalField(max_digits=9, decimal_places=3)
    measured_ml = models.DecimalField(max_digits=9, decimal_places=3)
    deviation_pct = models.DecimalField(max_digits=7, decimal_places=2)
    tolerance_pct = models.DecimalField(max_digits=5, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.measured_ml} mL ({self.deviation_pct:+} %)"


class InterceptedError(models.Model):
    """A failed check at a step: kept for quality review even though the step was redone."""

    preparation = models.ForeignKey(Preparation, on_delete=models.PROTECT, related_name="intercepted_errors")
    step_index = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.code} at step {self.step_index + 1}"


class Photo(models.Model):
    preparation = models.ForeignKey(Preparation, on_delete=models.PROTECT, related_name="photos")
    step_index = models.PositiveSmallIntegerField()
    image = models.FileField(upload_to="preparation-photos/%Y/%m/")
    content_type = models.CharField(max_length=40)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"photo at step {self.step_index + 1}"


class OpenVialStatus(models.TextChoices):
    OPEN = "open", "Open"
    USED_UP = "used_up", "Used up"
    WASTED = "wasted", "Wasted"


class OpenVial(models.Model):
    """A punctured vial kept for the next dose of the same drug, until its in-use limit."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="open_vials")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="open_vials")
    opened_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    remaining_ml = models.DecimalField(max_digits=9, decimal_places=3)
    opened_for = models.ForeignKey(Preparation, on_delete=models.PROTECT, related_name="opened_vials")
    status = models.CharField(max_length=20, choices=OpenVialStatus.choices, default=OpenVialStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["expires_at"]

    def __str__(self) -> str:
        until = f"{self.expires_at:%Y-%m-%d %H:%M}"
        return f"open {self.product} lot {self.lot.lot_number}: {self.remaining_ml} mL until {until}"
