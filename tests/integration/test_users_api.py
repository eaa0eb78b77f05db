"""Managing people through the API: site scoping (404, not 403), optimistic concurrency, clear errors."""

from __future__ import annotations

import pytest

from openinfusion.accounts.models import User
from openinfusion.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_admin_creates_a_user_with_roles_and_it_is_audited(admin, client_for):
    response = client_for(admin).post(
        "/api/v1/users",
        {"username": "nina", "password": "a-long-enough-pass", "roles": ["nurse"], "sites": ["north"]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["roles"] == ["nurse"]
    event = AuditEvent.objects.get(action="accounts:user:created", entity_id=str(response.json()["id"]))
    assert event.actor == admin and event.after["roles"] == ["nurse"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"roles": ["wizard"]}, "UNKNOWN_ROLE"),
        ({"roles": []}, "NO_ROLE"),
        ({"sites": ["nowhere"]}, "UNKNOWN_SITE"),
        ({"password": "short"}, "WEAK_PASSWORD"),
        ({"username": "admin"}, "USERNAME_TAKEN"),
    ],
)
def test_bad_user_input_is_refused_with_a_code_and_changes_nothing(admin, client_for, payload, code):
    body = {"username": "nina", "password": "a-long-enough-pass", "roles": ["nurse"], "sites": ["north"], **payload}
    before = User.objects.count()
    response = client_for(admin).post("/api/v1/users", body, content_type="application/json")
    assert response.status_code in {409, 422}
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert User.objects.count() == before
    assert AuditEvent.objects.filter(action="accounts:user:create", outcome="refused").count() == 1


def test_malformed_json_gets_a_validation_error_naming_the_field(admin, client_for):
    response = client_for(admin).post("/api/v1/users", {"username": "x"}, content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert "password" in body["message"]


def test_admin_cannot_add_people_to_a_site_they_do_not_belong_to(admin, other_site, client_for):
    response = client_for(admin).post(
        "/api/v1/users",
        {"username": "nina", "password": "a-long-enough-pass", "roles": ["nurse"], "sites": ["south"]},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "FOREIGN_SITE"


def test_a_user_of_another_site_is_answered_404_not_403(admin, other_site_admin, client_for):
    client = client_for(other_site_admin)
    response = client.put(
        f"/api/v1/users/{admin.pk}/roles", {"roles": ["nurse"], "version": 1}, content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert "admin" not in [u["username"] for u in client.get("/api/v1/users").json()]


def test_a_stale_role_change_is_refused_with_409_and_changes_nothing(admin, pharmacist, client_for):
    client = client_for(admin)
    first = client.put(
        f"/api/v1/users/{pharmacist.pk}/roles",
        {"roles": ["pharmacist", "quality"], "version": 1},
        content_type="application/json",
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = client.put(
        f"/api/v1/users/{pharmacist.pk}/roles", {"roles": ["technician"], "version": 1}, content_type="application/json"
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "STALE_EDIT"
    assert "changed by someone else" in stale.json()["message"]
    assert sorted(pharmacist.roles.values_list("code", flat=True)) == ["pharmacist", "quality"]


def test_an_admin_cannot_deactivate_themselves(admin, client_for):
    response = client_for(admin).post(
        f"/api/v1/users/{admin.pk}/deactivate", {"reason": "oops", "version": 1}, content_type="application/json"
    )
    assert response.status_code == 403 and response.json()["code"] == "SELF_DEACTIVATE"


def test_deactivation_needs_a_reason(admin, pharmacist, client_for):
    response = client_for(admin).post(
        f"/api/v1/users/{pharmacist.pk}/deactivate", {"reason": " ", "version": 1}, content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["code"] == "REASON_REQUIRED"


def test_responses_never_contain_password_hashes(admin, client_for):
    body = client_for(admin).get("/api/v1/users").content.decode()
    assert "argon2" not in body and "password" not in body
