"""What every page's header shows: the signed-in person, their roles and their sites."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from openinfusion.accounts.permissions import Role


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "htmx", False):
        return {}  # an htmx answer is a part of a page: it has no header
    return {
        "shell_roles": [Role(code).label for code in sorted(user.role_codes())],
        "shell_sites": list(user.sites.values_list("name", flat=True)),
    }
