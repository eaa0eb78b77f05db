from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "openinfusion.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
