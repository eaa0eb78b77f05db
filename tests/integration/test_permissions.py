"""Deny by default; every route declares its action; every action × role is checked over HTTP
(OWASP ASVS 4.0.3 4.1.1, 4.1.5, 4.2.1; 21 CFR 11.10(g))."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from openinfusion.accounts.permissions import PERMISSIONS, Action, Role
from openinfusion.api import api
from openinfusion.audit.models import AuditEvent

# The checked-in expectation, written independently of PERMISSIONS: a change to who may do what
# must change this table too.
EXPECTED: dict[str, str] = {
    "public": "prescriber pharmacist technician nurse scheduler inventory biomed quality admin",
    "signed_in": "prescriber pharmacist technician nurse scheduler inventory biomed quality admin",
    "view_audit": "pharmacist quality admin",
    "export_audit": "quality admin",
    "verify_audit_chain": "quality admin",
    "manage_users": "admin",
    "use_admin_site": "admin",
    "view_formulary": "prescriber pharmacist technician nurse scheduler inventory biomed quality admin",
    "manage_formulary": "pharmacist admin",
    "view_stock": "pharmacist technician inventory nurse scheduler quality admin",
    "receive_stock": "technician inventory pharmacist",
    "move_stock": "technician inventory pharmacist",
    "waste_stock": "technician inventory pharmacist",
    "adjust_stock": "inventory pharmacist",
    "quarantine_lot": "inventory pharmacist quality",
    "trace_lot": "inventory pharmacist quality",
    "manage_purchasing": "inventory pharmacist",
    "view_patients": "prescriber pharmacist technician nurse scheduler quality",
    "manage_patients": "prescriber pharmacist nurse scheduler",
    "record_observations": "prescriber pharmacist nurse",
    "view_orders": "prescriber pharmacist technician nurse scheduler quality",
    "write_orders": "prescriber",
    "verify_orders": "pharmacist",
    "cancel_orders": "prescriber pharmacist",
    "view_preparations": "pharmacist technician nurse quality",
    "plan_preparations": "pharmacist technician",
    "release_to_compound": "pharmacist nurse",
    "compound": "technician pharmacist",
    "final_check": "pharmacist",
    "print_labels": "pharmacist technician nurse",
    "dispense": "pharmacist technician",
    "handoff": "pharmacist technician nurse",
    "administer": "nurse",
    "view_chair_board": "nurse pharmacist technician scheduler quality",
    "educate": "nurse pharmacist",
    "view_schedule": "scheduler nurse pharmacist technician",
    "manage_schedule": "scheduler",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    action: Action


def _sample_path(pattern: str) -> str:
    """Fill path converters with an id no record has, so allowed calls answer 404, not 403."""
    path = re.sub(r"<(?:\w+:)?\w+>", "999999", pattern)
    return re.sub(r"\{\w+\}", "999999", path)


API_DOCS = {"openapi-json", "openapi-view", "api-root"}


def _web_routes(
    resolver: URLResolver, prefix: str = "", app: str | None = None
) -> Iterator[tuple[str, object, str | None]]:
    """Every URL pattern with its view, except the API operations and the admin site, which
    declare their actions their own way (checked below)."""
    app = resolver.namespace or app
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _web_routes(entry, prefix + str(entry.pattern), app)
        elif isinstance(entry, URLPattern):
            if app == "admin" or (app == "api" and entry.name not in API_DOCS):
                continue
            yield prefix + str(entry.pattern), entry.callback, app


def _api_operations() -> Iterator[tuple[str, str, object]]:
    for router in api._get_bound_routers():
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    full = "/".join(part.strip("/") for part in ("/api/v1", router.prefix, path) if part.strip("/"))
                    yield method, "/" + full, operation


def declared_routes() -> list[Route]:
    routes: list[Route] = []
    for pattern, callback, _ in _web_routes(get_resolver()):
        for method in callback.openinfusion_methods:
            routes.append(Route(method, "/" + _sample_path(pattern), callback.openinfusion_action))
    for method, path, operation in _api_operations():
        action = operation.auth_callbacks[0].action
        routes.append(Route(method, _sample_path(path), action))
    routes.append(Route("GET", "/admin/", Action.USE_ADMIN_SITE))
    return routes


def test_every_web_view_declares_its_action():
    undeclared = [
        pattern
        for pattern, callback, _ in _web_routes(get_resolver())
        if not isinstance(getattr(callback, "openinfusion_action", None), Action)
    ]
    assert undeclared == []


def test_every_api_operation_declares_its_action_and_an_operation_id():
    missing = []
    for method, path, operation in _api_operations():
        callbacks = operation.auth_callbacks
        if not callbacks or not all(isinstance(getattr(c, "action", None), Action) for c in callbacks):
            missing.append(f"{method} {path}")
        if not operation.operation_id:
            missing.append(f"{method} {path} (no operation_id)")
    assert missing == []


def test_the_admin_site_is_gated_by_the_admin_action():
    from openinfusion.web.admin import admin_site

    assert "has_permission" in type(admin_site).__dict__


def test_the_permission_table_matches_the_checked_in_matrix():
    actual = {action.value: " ".join(sorted(r.value for r in roles)) for action, roles in PERMISSIONS.items()}
    expected = {action: " ".join(sorted(roles.split())) for action, roles in EXPECTED.items()}
    assert actual == expected
    assert set(PERMISSIONS) == set(Action), "every action has a row"


ROUTES = declared_routes()


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_role_matrix_over_http(role, make_user):
    """For every declared route and this role: refused (403, audited) exactly when the table says so."""
    user = make_user(f"only-{role.value}", role.value)
    client = Client()
    client.force_login(user)
    from openinfusion.accounts.middleware import SESSION_STARTED_KEY

    session = client.session
    session[SESSION_STARTED_KEY] = __import__("time").time()
    session.save()
    wrong = []
    for route in ROUTES:
        if route.path == "/logout/":
            continue  # signing out would end the session the next routes use; covered in test_sign_in
        response = client.generic(route.method, route.path, data="{}", content_type="application/json")
        allowed = role in PERMISSIONS[route.action]
        refused = response.status_code == 403 or (route.path == "/admin/" and response.status_code == 302)
        if allowed == refused:
            wrong.append(f"{route.method} {route.path} [{route.action}] -> {response.status_code}")
    assert wrong == []


@pytest.mark.django_db
def test_anonymous_callers_get_401_from_the_api_and_a_sign_in_page_from_screens(db):
    client = Client()
    for route in ROUTES:
        if route.action is Action.PUBLIC or route.method != "GET":
            continue
        response = client.get(route.path)
        if route.path.startswith("/api/"):
            assert response.status_code == 401, route
        else:
            assert response.status_code == 302 and "/login/" in response.headers["Location"], route


@pytest.mark.django_db
def test_a_refused_action_is_audited(technician, client_for):
    assert client_for(technician).get("/audit/").status_code == 403
    event = AuditEvent.objects.get(action="accounts:access:view_audit")
    assert event.outcome == "refused" and event.actor == technician


@pytest.mark.django_db
def test_a_technician_cannot_open_the_admin(technician, admin, client_for):
    assert client_for(technician).get("/admin/").status_code == 302
    assert client_for(admin).get("/admin/").status_code == 200


def test_public_routes_are_only_sign_in_health_and_api_docs():
    public = sorted({r.path for r in ROUTES if r.action is Action.PUBLIC})
    assert public == ["/api/v1/", "/api/v1/docs", "/api/v1/openapi.json", "/api/v1/version", "/healthz", "/login/"]
