"""Bearer tokens for machine clients: hashed at rest, scoped to a user, revocable (ASVS 4.0.3 3.5)."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from openinfusion.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_is_shown_once_and_stored_only_as_a_hash(pharmacist, client_for):
    response = client_for(pharmacist).post("/api/v1/tokens", {"name": "label printer"}, content_type="application/json")
    assert response.status_code == 201
    raw = response.json()["token"]
    stored = ApiToken.objects.get()
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert "token" not in client_for(pharmacist).get("/api/v1/tokens").json()[0]


def test_a_token_acts_as_its_user_with_that_users_roles(pharmacist, client_for):
    raw = (
        client_for(pharmacist)
        .post("/api/v1/tokens", {"name": "script"}, content_type="application/json")
        .json()["token"]
    )
    me = Client().get("/api/v1/me", **bearer(raw))
    assert me.status_code == 200 and me.json()["username"] == "pharmacist"
    assert Client().get("/api/v1/users", **bearer(raw)).status_code == 403


def test_a_revoked_token_is_refused(pharmacist, client_for):
    client = client_for(pharmacist)
    created = client.post("/api/v1/tokens", {"name": "script"}, content_type="application/json").json()
    assert client.post(f"/api/v1/tokens/{created['id']}/revoke").status_code == 200
    response = Client().get("/api/v1/me", **bearer(created["token"]))
    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_a_token_of_a_deactivated_user_is_refused(pharmacist, admin, client_for):
    raw = client_for(pharmacist).post("/api/v1/tokens", {"name": "s"}, content_type="application/json").json()["token"]
    client_for(admin).post(
        f"/api/v1/users/{pharmacist.pk}/deactivate",
        {"reason": "left", "version": pharmacist.version},
        content_type="application/json",
    )
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401


def test_an_unknown_token_is_refused(db):
    assert Client().get("/api/v1/me", **bearer("oi_made-up")).status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(pharmacist, technician, client_for):
    created = client_for(pharmacist).post("/api/v1/tokens", {"name": "s"}, content_type="application/json").json()
    response = client_for(technician).post(f"/api/v1/tokens/{created['id']}/revoke")
    assert response.status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_bearer_clients_need_no_csrf_token_but_browser_sessions_do(pharmacist, client_for):
    raw = client_for(pharmacist).post("/api/v1/tokens", {"name": "s"}, content_type="application/json").json()["token"]
    machine = Client(enforce_csrf_checks=True)
    assert (
        machine.post("/api/v1/tokens", {"name": "t"}, content_type="application/json", **bearer(raw)).status_code == 201
    )
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(pharmacist)
    assert browser.post("/api/v1/tokens", {"name": "u"}, content_type="application/json").status_code == 403
