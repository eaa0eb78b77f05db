from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "openinfusion.inventory"
    label = "inventory"
    verbose_name = "Inventory"
