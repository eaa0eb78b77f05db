from django.apps import AppConfig


class CompoundingConfig(AppConfig):
    name = "openinfusion.compounding"
    label = "compounding"
    verbose_name = "Compounding"

    def ready(self) -> None:
        from openinfusion.compounding.queries import traced_doses
        from openinfusion.inventory.queries import TRACE_RESOLVERS

        TRACE_RESOLVERS["preparation"] = traced_doses
