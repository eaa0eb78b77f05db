from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    name = "openinfusion.administration"
    label = "administration"
    verbose_name = "Administration"
