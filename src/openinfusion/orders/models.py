"""Regimens (the library), treatment plans (a patient on a regimen) and orders (one dose event).

An order's legal status changes are data (``TRANSITIONS``), checked in one place by the services.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from openinfusion.accounts.models import Signature, Site
from openinfusion.clinical.body import BsaFormula, body_surface_area
from openinfusion.clinical.units import Quantity, display_unit, format_decimal
from openinfusion.concurrency import VersionedModel
from openinfusion.formulary.models import Drug
from openinfusion.patients.models import Patient


class Regimen(models.Model):
    """One library regimen, as loaded from ``orders/data/regimens.yaml`` (validated by ``library``)."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=30)
    cycle_days = models.PositiveSmallIntegerField()
    default_cycles = models.PositiveSmallIntegerField(null=True, blank=True)
    indications = models.JSONField(default=list, help_text="[{code, text}] ICD-10")
    hold_parameters = models.JSONField(default=list, help_text="[{lab, op, value, unit}]")
    required_labs = models.JSONField(default=list)
    lab_max_age_days = models.PositiveSmallIntegerField(default=3)
    emetogenic_risk = models.CharField(max_length=20, blank=True)
    days = models.JSONField(default=list, help_text="[{day, drugs: [...]}]")
    source = models.CharField(max_length=500)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def treatment_days(self) -> list[int]:
        return [int(day["day"]) for day in self.days]


class WeightBasisChoice(models.TextChoices):
    ACTUAL = "actual", "Actual weight"
    IDEAL = "ideal", "Ideal weight"
    ADJUSTED = "adjusted", "Adjusted weight"
    AUTO = "auto", "Adjusted if BMI ≥ 25, else actual"


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class TreatmentPlan(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    regimen = models.ForeignKey(Regimen, on_delete=models.PROTECT, related_name="plans")
    start_date = models.DateField()
    cycles = models.PositiveSmallIntegerField()
    bsa_formula = models.CharField(max_length=20, default="mosteller")
    weight_basis = models.CharField(max_length=10, choices=WeightBasisChoice.choices, default="actual")
    plan_weight_kg = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    plan_height_cm = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    indication_code = models.CharField(max_length=10)
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-start_date"]

    def __str__(self) -> str:
        return f"{self.regimen} × {self.cycles} from {self.start_date:%Y-%m-%d}"

    @property
    def plan_bsa_m2(self) -> Decimal | None:
        """The BSA the plan's doses were first calculated from (its height and weight, its formula)."""
        if self.plan_height_cm is None or self.plan_weight_kg is None:
            return None
        return body_surface_area(
            Quantity(self.plan_height_cm, "cm"), Quantity(self.plan_weight_kg, "kg"), BsaFormula(self.bsa_formula)
        ).m2


class DoseModification(models.Model):
    """A percent reduction of one drug from a cycle on, carried forward until changed."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="modifications")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="+")
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    from_cycle = models.PositiveSmallIntegerField()
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["from_cycle", "at"]

    def __str__(self) -> str:
        return f"{self.drug.display_name} −{self.percent.normalize():f} % from cycle {self.from_cycle}: {self.reason}"


# The routes a prescriber picks from on the screens (the formulary's routes_allowed/forbidden and
# decision support judge each drug's route).
ROUTES = ("IV", "IV push", "SC", "IM")


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    VERIFIED = "verified", "Verified"
    RETURNED = "returned", "Returned to prescriber"
    ON_HOLD = "on_hold", "On hold"
    PREPARING = "preparing", "Being prepared"
    PREPARED = "prepared", "Prepared — awaiting final check"
    CHECKED = "checked", "Checked — ready to dispense"
    DISPENSED = "dispensed", "Dispensed"
    ADMINISTERING = "administering", "Infusing"
    ADMINISTERED = "administered", "Administered"
    CANCELLED = "cancelled", "Cancelled"


TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.SUBMITTED, OrderStatus.CANCELLED}),
    OrderStatus.SUBMITTED: frozenset(
        {OrderStatus.VERIFIED, OrderStatus.RETURNED, OrderStatus.ON_HOLD, OrderStatus.CANCELLED}
    ),
    OrderStatus.RETURNED: frozenset({OrderStatus.SUBMITTED, OrderStatus.CANCELLED}),
    OrderStatus.ON_HOLD: frozenset(
        {OrderStatus.SUBMITTED, OrderStatus.VERIFIED, OrderStatus.RETURNED, OrderStatus.CANCELLED}
    ),
    OrderStatus.VERIFIED: frozenset({OrderStatus.ON_HOLD, OrderStatus.PREPARING, OrderStatus.CANCELLED}),
    OrderStatus.PREPARING: frozenset({OrderStatus.PREPARED, OrderStatus.VERIFIED, OrderStatus.CANCELLED}),
    OrderStatus.PREPARED: frozenset({OrderStatus.CHECKED, OrderStatus.VERIFIED, OrderStatus.CANCELLED}),
    OrderStatus.CHECKED: frozenset({OrderStatus.DISPENSED, OrderStatus.CANCELLED}),
    OrderStatus.DISPENSED: frozenset(
        {OrderStatus.ADMINISTERING, OrderStatus.CHECKED, OrderStatus.VERIFIED, OrderStatus.CANCELLED}
    ),
    OrderStatus.ADMINISTERING: frozenset({OrderStatus.ADMINISTERED}),
    OrderStatus.ADMINISTERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
"""Compounding moves verified → preparing → prepared → checked (a rejected preparation sends the
order back to verified for a new one); administration moves checked → dispensed → administering →
administered (a returned dose goes back to checked). Once infusing, an order is no longer cancelled:
it is ended, with the amount actually given."""

ACTIVE_STATUSES = (
    OrderStatus.DISPENSED,
    OrderStatus.ADMINISTERING,
    OrderStatus.PREPARING,
    OrderStatus.PREPARED,
    OrderStatus.CHECKED,
    OrderStatus.DRAFT,
    OrderStatus.SUBMITTED,
    OrderStatus.RETURNED,
    OrderStatus.ON_HOLD,
    OrderStatus.VERIFIED,
)


class Order(VersionedModel):
    """One dose of one drug for one patient at a planned time."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="orders")
    plan = models.ForeignKey(TreatmentPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    cycle = models.PositiveSmallIntegerField(null=True, blank=True)
    day = models.PositiveSmallIntegerField(null=True, blank=True)
    sequence = models.PositiveSmallIntegerField(default=1)
    role = models.CharField(max_length=20, default="treatment")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="orders")
    dose = models.DecimalField(max_digits=12, decimal_places=4)
    dose_unit = models.CharField(max_length=20)
    basis_value = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    basis_unit = models.CharField(max_length=20, blank=True)
    reduction_pct = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    max_dose = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    max_dose_unit = models.CharField(max_length=20, blank=True)
    calculated_dose = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    calculation_inputs = models.JSONField(default=dict, blank=True)
    route = models.CharField(max_length=20)
    diluent = models.ForeignKey(Drug, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    volume_ml = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    planned_start = models.DateTimeField()
    priority = models.PositiveSmallIntegerField(default=3, help_text="1 = stat … 5 = routine")
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    indication_code = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    status_reason = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="from the regimen line or the prescriber")
    created_at = models.DateTimeField()
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verification = models.ForeignKey(Signature, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    given_dose = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, help_text="what was administered, in dose_unit"
    )

    class Meta:
        ordering = ["planned_start", "priority", "sequence", "id"]
        indexes = [
            models.Index(fields=["status", "planned_start"]),
            models.Index(fields=["patient", "drug", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.drug.display_name} {self.dose_text} {self.route}"

    @property
    def dose_quantity(self) -> Quantity:
        return Quantity(self.dose, self.dose_unit)

    @property
    def basis(self) -> Quantity | None:
        return None if self.basis_value is None else Quantity(self.basis_value, self.basis_unit)

    @property
    def dose_text(self) -> str:
        return f"{format_decimal(self.dose)} {display_unit(self.dose_unit)}"

    @property
    def basis_text(self) -> str:
        return "" if self.basis_value is None else f"{format_decimal(self.basis_value)} {display_unit(self.basis_unit)}"


class Override(models.Model):
    """A pharmacist's reason for accepting a warning at verification."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="overrides")
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    order_version = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.code} overridden by {self.by}: {self.reason}"


class ExceptionKind(models.TextChoices):
    DESENSITISATION = "desensitisation_protocol", "Desensitisation protocol"
    PRESCRIBER_NOTE = "prescriber_note", "Prescriber's note (benefit outweighs the risk)"


class AllergyException(models.Model):
    """The prescriber's documented decision to give a drug despite a severe allergy to it or its group.

    A severe allergy match is a hard stop at verification; only this record, written by a prescriber
    (not an override reason typed by the verifying pharmacist), lowers it to a warning on this order."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="allergy_exceptions")
    allergy = models.ForeignKey("patients.Allergy", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=ExceptionKind.choices)
    note = models.TextField(help_text="the protocol's name and steps, or why the benefit outweighs the risk")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["order", "allergy"], name="one_exception_per_allergy")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.note}"

    @property
    def text(self) -> str:
        return f"{self.get_kind_display()} ({self.note}), documented by {self.by}"
