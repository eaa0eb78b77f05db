from django.apps import AppConfig


class CompoundingConfig(AppConfig):
    name = "openinfusion.compounding"
    label = "compounding"
    verbose_name = "Compounding"

    def ready(self) -> None:
        from openinfusion.compounding.queries import traced_doses
        from openinfusion.compounding.services import cancel_for_order
        from openinfusion.inventory.queries import TRACE_RESOLVERS
        from openinfusion.orders.services import ON_CANCEL

        TRACE_RESOLVERS["preparation"] = traced_doses
        if cancel_for_order not in ON_CANCEL:
            ON_CANCEL.append(cancel_for_order)
