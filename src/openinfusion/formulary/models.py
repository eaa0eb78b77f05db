"""What a drug is and how it may be prepared (Drug), and what is bought and scanned (Product).

Formulary rows are loaded from ``formulary/data/*.yaml`` by ``formulary.importer`` (each fact names
its public source). Every quantity has its unit beside it; nothing is stored as a float.
"""

from __future__ import annotations

from django.db import models

from openinfusion.clinical.units import format_decimal


class Category(models.TextChoices):
    CHEMOTHERAPY = "chemotherapy", "Chemotherapy"
    MONOCLONAL_ANTIBODY = "monoclonal_antibody", "Monoclonal antibody"
    ANTIBIOTIC = "antibiotic", "Antibiotic"
    ANTIVIRAL = "antiviral", "Antiviral"
    ANTIFUNGAL = "antifungal", "Antifungal"
    IRON = "iron", "Iron"
    ANALGESIC = "analgesic", "Analgesic"
    HYDRATION = "hydration", "Hydration"
    ELECTROLYTE = "electrolyte", "Electrolyte"
    NUTRITION = "nutrition", "Nutrition"
    IMMUNOGLOBULIN = "immunoglobulin", "Immunoglobulin"
    BONE = "bone", "Bone health"
    SUPPORTIVE = "supportive", "Supportive care"
    BASE_SOLUTION = "base_solution", "Base solution / diluent"


class DoseBasis(models.TextChoices):
    FLAT = "flat", "Flat dose"
    PER_M2 = "mg/m2", "per m² body surface area"
    PER_KG = "mg/kg", "per kg body weight"
    UNITS_PER_KG = "units/kg", "units per kg"
    AUC = "AUC", "Target AUC (Calvert)"


class ReleasePolicy(models.TextChoices):
    IMMEDIATE = "immediate", "Compound when verified"
    ON_RELEASE = "on_release", "Wait for release (labs, arrival or nurse)"


class Drug(models.Model):
    key = models.SlugField(max_length=60, unique=True, help_text="lowercase generic, e.g. iron-sucrose")
    generic_name = models.CharField(max_length=120)
    tall_man = models.CharField(max_length=120, blank=True, help_text="FDA/ISMP tall-man display, if listed")
    drug_class = models.CharField(max_length=120, blank=True)
    category = models.CharField(max_length=30, choices=Category.choices)
    niosh_group = models.PositiveSmallIntegerField(null=True, blank=True, help_text="NIOSH 2024 list group 1 or 2")
    high_alert = models.BooleanField(default=False, help_text="ISMP high-alert medication")
    routes_allowed = models.JSONField(default=list)
    routes_forbidden = models.JSONField(default=list)
    dose_basis = models.CharField(max_length=10, choices=DoseBasis.choices, default=DoseBasis.FLAT)
    usual_dose_min = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    usual_dose_max = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    usual_dose_unit = models.CharField(max_length=20, blank=True)
    alternate_usual_doses = models.JSONField(
        default=list, blank=True, help_text="[{min, max, unit}] the usual range in another basis (rituximab 1000 mg)"
    )
    max_single_dose = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    max_single_dose_unit = models.CharField(max_length=20, blank=True)
    lifetime_limit = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    lifetime_limit_unit = models.CharField(max_length=20, blank=True)
    rounding_threshold_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    compatible_diluents = models.JSONField(default=list)
    incompatible_diluents = models.JSONField(default=list)
    concentration_min = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    concentration_max = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    concentration_unit = models.CharField(max_length=20, blank=True)
    stability = models.JSONField(default=list, help_text="[{storage, hours, source}] after preparation")
    protect_from_light = models.BooleanField(default=False)
    filter = models.CharField(max_length=120, blank=True)
    infusion_minutes_min = models.PositiveIntegerField(null=True, blank=True)
    infusion_minutes_max = models.PositiveIntegerField(null=True, blank=True)
    renal_adjustment = models.BooleanField(default=False)
    release_policy = models.CharField(max_length=20, choices=ReleasePolicy.choices, default=ReleasePolicy.IMMEDIATE)
    premix_eligible = models.BooleanField(default=False)
    education_leaflet = models.CharField(max_length=60, blank=True)
    sources = models.JSONField(default=list)

    class Meta:
        ordering = ["generic_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name to show wherever a person reads it: tall-man letters where listed."""
        return self.tall_man or self.generic_name

    @property
    def hazardous(self) -> bool:
        return self.niosh_group is not None


class Form(models.TextChoices):
    SOLUTION = "solution", "Solution"
    LYOPHILIZED_POWDER = "lyophilized_powder", "Lyophilised powder"
    POWDER = "powder", "Powder"
    EMULSION = "emulsion", "Emulsion"
    SUSPENSION = "suspension", "Suspension"


class Container(models.TextChoices):
    SINGLE_DOSE_VIAL = "single_dose_vial", "Single-dose vial"
    MULTIPLE_DOSE_VIAL = "multiple_dose_vial", "Multiple-dose vial"
    BAG = "bag", "Bag"
    AMPOULE = "ampoule", "Ampoule"
    PREFILLED_SYRINGE = "prefilled_syringe", "Prefilled syringe"
    BOTTLE = "bottle", "Bottle"


class Storage(models.TextChoices):
    ROOM = "room", "Room temperature"
    REFRIGERATOR = "refrigerator", "Refrigerator 2–8 °C"
    FREEZER = "freezer", "Freezer"


class Product(models.Model):
    """A package as bought and scanned: one NDC, one GTIN-14."""

    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="products")
    ndc11 = models.CharField(max_length=11, unique=True, help_text="11-digit 5-4-2 form, digits only")
    ndc_labelled = models.CharField(max_length=13, help_text="as printed on the package, with hyphens")
    gtin14 = models.CharField(max_length=14, unique=True)
    labeler = models.CharField(max_length=120)
    strength_amount = models.DecimalField(max_digits=12, decimal_places=4)
    strength_unit = models.CharField(max_length=20)
    strength_volume = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    strength_volume_unit = models.CharField(max_length=10, blank=True)
    total_volume_ml = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    form = models.CharField(max_length=30, choices=Form.choices)
    container = models.CharField(max_length=30, choices=Container.choices)
    reconstitution_diluent = models.CharField(max_length=60, blank=True)
    reconstitution_volume_ml = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    specific_gravity = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    storage = models.CharField(max_length=20, choices=Storage.choices, default=Storage.ROOM)
    protect_from_light = models.BooleanField(default=False)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["drug__generic_name", "strength_amount"]

    def __str__(self) -> str:
        return f"{self.drug.display_name} {self.strength_label} ({self.ndc_labelled})"

    @property
    def strength_label(self) -> str:
        amount = f"{format_decimal(self.strength_amount)} {self.strength_unit}"
        if self.strength_volume is None:
            return amount
        return f"{amount}/{format_decimal(self.strength_volume)} {self.strength_volume_unit}"
