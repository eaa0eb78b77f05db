from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "openinfusion.audit"
    label = "audit"
    verbose_name = "Audit trail"
