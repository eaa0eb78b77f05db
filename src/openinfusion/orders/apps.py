from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "openinfusion.orders"
    label = "orders"
    verbose_name = "Orders"
