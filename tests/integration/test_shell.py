"""The web shell and health check."""

from __future__ import annotations

import pytest
from django.test import Client

from openinfusion.accounts.permissions import Role
from openinfusion.web.home import TASKS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(Role))
def test_each_role_home_lists_what_that_role_does(role, make_user, client_for):
    user = make_user(f"only-{role.value}", role.value, first_name="Kim")
    body = client_for(user).get("/").content.decode()
    assert f'data-role="{role.value}"' in body
    for task in TASKS[role]:
        assert task.title in body
    others = [r for r in Role if r is not role]
    assert not any(f'data-role="{r.value}"' in body for r in others)


def test_the_header_shows_user_role_and_site(pharmacist, client_for):
    body = client_for(pharmacist).get("/").content.decode()
    assert "Marcus Okafor" in body and "Pharmacist" in body and "North Infusion Pharmacy" in body


def test_healthz_reports_app_and_database(db):
    body = Client().get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok"


def test_htmx_is_served_from_the_package_not_a_cdn(pharmacist, client_for):
    body = client_for(pharmacist).get("/").content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js"' in body
    assert "unpkg" not in body and "cdn" not in body


def test_openapi_document_lists_the_operations(db):
    document = Client().get("/api/v1/openapi.json").json()
    operation_ids = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {"get_me", "list_users", "create_token", "verify_audit_chain"} <= operation_ids
