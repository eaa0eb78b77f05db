from openinfusion.audit.models import AuditEvent
from openinfusion.web.admin import ReadOnlyAdmin, admin_site


class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "at", "actor_username", "action", "outcome", "entity_type", "entity_id")
    list_filter = ("outcome",)
    search_fields = ("action", "actor_username", "entity_id", "patient_id")


admin_site.register(AuditEvent, AuditEventAdmin)
