"""Django admin, open to the admin role only, and never deleting anything."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from openinfusion.accounts.permissions import Action, is_allowed


def _is_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and is_allowed(user.role_codes(), Action.USE_ADMIN_SITE))


class OpenInfusionAdminSite(admin.AdminSite):
    site_header = "OpenInfusion administration"
    site_title = "OpenInfusion admin"
    index_title = "Administration"

    def has_permission(self, request: HttpRequest) -> bool:
        return _is_admin(request)


class RoleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Admins may view and change; nobody deletes (corrections are new records)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(RoleAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin_site = OpenInfusionAdminSite(name="admin")
