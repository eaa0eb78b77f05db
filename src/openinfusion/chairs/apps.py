from django.apps import AppConfig


class ChairsConfig(AppConfig):
    name = "openinfusion.chairs"
    label = "chairs"
    verbose_name = "Chairs and day schedule"
