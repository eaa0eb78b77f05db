from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "openinfusion.web"
    label = "web"
    verbose_name = "Web shell"
