"""The patient and what is known about them: diagnoses, allergies, measurements and labs.

Measurements and labs are never edited: a correction is a new row whose ``corrects`` points at the
row it replaces, and ``current()`` leaves replaced rows out.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import QuerySet

from openinfusion.accounts.models import Site
from openinfusion.clinical.units import Quantity, format_decimal


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"


class CareSetting(models.TextChoices):
    INFUSION_CENTER = "infusion_center", "Infusion center"
    INPATIENT = "inpatient", "Inpatient ward"
    HOME = "home", "Home infusion"


class Pregnancy(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NOT_PREGNANT = "not_pregnant", "Not pregnant"
    PREGNANT = "pregnant", "Pregnant"
    UNKNOWN = "unknown", "Unknown"


class Patient(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=30)
    family_name = models.CharField(max_length=80)
    given_name = models.CharField(max_length=80)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    care_setting = models.CharField(max_length=20, choices=CareSetting.choices, default=CareSetting.INFUSION_CENTER)
    ward = models.CharField(max_length=40, blank=True)
    bed = models.CharField(max_length=20, blank=True)
    home_address = models.CharField(max_length=300, blank=True)
    pregnancy = models.CharField(max_length=20, choices=Pregnancy.choices, default=Pregnancy.UNKNOWN)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [models.UniqueConstraint(fields=["site", "mrn"], name="mrn_unique_per_site")]

    def __str__(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name} ({self.mrn})"

    def age_on(self, day: dt.date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)


class Diagnosis(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diagnoses")
    code = models.CharField("ICD-10 code", max_length=10)
    text = models.CharField(max_length=200)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"
    ANAPHYLAXIS = "anaphylaxis", "Anaphylaxis"


class Allergy(models.Model):
    """An allergy or intolerance to a drug (formulary key) or a drug class (free text, e.g. 'platinum')."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    substance = models.CharField(max_length=80, help_text="drug key (e.g. carboplatin) or class (e.g. platinum)")
    is_class = models.BooleanField(default=False)
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=20, choices=Severity.choices)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name_plural = "allergies"

    def __str__(self) -> str:
        return f"{self.substance} ({self.get_severity_display()}: {self.reaction})"


class MeasurementKind(models.TextChoices):
    HEIGHT = "height", "Height"
    WEIGHT = "weight", "Weight"


class Lab(models.TextChoices):
    """Lab tests with the units each may be recorded in (the first is the one shown)."""

    ANC = "anc", "ANC"
    PLATELETS = "platelets", "Platelets"
    HEMOGLOBIN = "hemoglobin", "Hemoglobin"
    WBC = "wbc", "WBC"
    SCR = "scr", "Serum creatinine"
    BILIRUBIN = "bilirubin", "Total bilirubin"
    AST = "ast", "AST"
    ALT = "alt", "ALT"


LAB_UNITS: dict[str, tuple[str, ...]] = {
    Lab.ANC: ("10^9/L",),
    Lab.PLATELETS: ("10^9/L",),
    Lab.WBC: ("10^9/L",),
    Lab.HEMOGLOBIN: ("g/dL", "g/L"),
    Lab.SCR: ("mg/dL", "umol/L"),
    Lab.BILIRUBIN: ("mg/dL", "umol/L"),
    Lab.AST: ("units/L",),
    Lab.ALT: ("units/L",),
}


class CurrentQuerySet(QuerySet):  # type: ignore[type-arg]
    def current(self) -> CurrentQuerySet:
        """Rows no later row corrects."""
        return self.filter(corrected_by__isnull=True)


class Observation(models.Model):
    """What measurements and labs share: a value with its unit, when, who, and what it corrects."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="%(class)ss")
    value = models.DecimalField(max_digits=12, decimal_places=4)
    unit = models.CharField(max_length=20)
    taken_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    note = models.CharField(max_length=200, blank=True)

    objects = CurrentQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-taken_at", "-id"]


class Measurement(Observation):
    kind = models.CharField(max_length=10, choices=MeasurementKind.choices)

    class Meta(Observation.Meta):
        indexes = [models.Index(fields=["patient", "kind", "taken_at"])]

    def __str__(self) -> str:
        """Shown to two decimals (kept to eight), with the value as typed when it was converted."""
        entered = f" ({self.note})" if self.note.startswith("entered as") else ""
        return f"{self.get_kind_display()} {format_decimal(round(self.value, 2))} {self.unit}{entered}"

    @property
    def quantity(self) -> Quantity:
        return Quantity(self.value, self.unit)


class LabResult(Observation):
    test = models.CharField(max_length=20, choices=Lab.choices)
    source = models.CharField(max_length=80, blank=True, help_text="laboratory or interface the result came from")

    class Meta(Observation.Meta):
        indexes = [models.Index(fields=["patient", "test", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.get_test_display()} {format_decimal(self.value)} {self.unit}"
