from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "openinfusion.accounts"
    label = "accounts"
    verbose_name = "People, roles and sites"
