"""What every page's header shows (the signed-in person, their roles and their sites) and what
every template may ask: ``{% if can.dispense %}`` — whether the person's roles allow an action, so
a screen shows only the links and forms its reader may use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from openinfusion.accounts.permissions import Action, Role, is_allowed


class Allowed:
    """``can.<action>`` in templates: True when the roles allow ``Action(<action>)``."""

    def __init__(self, roles: set[str]) -> None:
        self.roles = roles

    def __getitem__(self, action: str) -> bool:
        return is_allowed(self.roles, Action(action))


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = user.role_codes()
    if getattr(request, "htmx", False):
        return {"can": Allowed(roles)}  # an htmx answer is a part of a page: it has no header
    return {
        "can": Allowed(roles),
        "shell_roles": [Role(code).label for code in sorted(roles)],
        "shell_sites": list(user.sites.values_list("name", flat=True)),
    }
