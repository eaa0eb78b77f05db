from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "openinfusion.accounts"
    label = "accounts"
    verbose_name = "People, roles and sites"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from openinfusion.accounts.middleware import remember_zone

        user_logged_in.connect(remember_zone, dispatch_uid="openinfusion-remember-zone")
