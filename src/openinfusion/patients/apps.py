from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "openinfusion.patients"
    label = "patients"
    verbose_name = "Patients"
