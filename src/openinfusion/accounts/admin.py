"""Admin screens for sites and people. Users are changed through the services so every change
is audited; the admin shows them and links to the audited actions."""

from __future__ import annotations

from openinfusion.accounts.models import ApiToken, Signature, Site, User
from openinfusion.web.admin import ReadOnlyAdmin, RoleAdmin, admin_site


class SiteAdmin(RoleAdmin):
    list_display = ("code", "name", "kind", "time_zone")


class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "first_name", "last_name", "is_active", "locked_until")
    list_filter = ("is_active", "roles", "sites")
    search_fields = ("username", "first_name", "last_name")
    exclude = ("password",)


class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)


class SignatureAdmin(ReadOnlyAdmin):
    list_display = ("signed_at", "printed_name", "meaning", "entity_type", "entity_id")


admin_site.register(Site, SiteAdmin)
admin_site.register(User, UserAdmin)
admin_site.register(ApiToken, ApiTokenAdmin)
admin_site.register(Signature, SignatureAdmin)
