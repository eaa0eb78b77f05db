from django.apps import AppConfig


class CompoundingConfig(AppConfig):
    name = "openinfusion.compounding"
    label = "compounding"
    verbose_name = "Compounding"
