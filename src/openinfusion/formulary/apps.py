from django.apps import AppConfig


class FormularyConfig(AppConfig):
    name = "openinfusion.formulary"
    label = "formulary"
    verbose_name = "Formulary"
