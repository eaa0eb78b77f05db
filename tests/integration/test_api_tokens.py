"""Bearer tokens for machine clients: hashed at rest, scoped to a user, expiring, revocable (ASVS 4.0.3 3.5)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from openinfusion.accounts.models import ApiToken
from openinfusion.accounts.services import TOKEN_LIFETIME, create_api_token
from openinfusion.errors import DomainError

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
    refused = browser.post("/api/v1/tokens", {"name": "u"}, content_type="application/json")
    assert refused.status_code in (401, 403)  # a session without its CSRF token is no caller at all
    assert not ApiToken.objects.filter(name="u").exists()


def test_a_token_expires_after_the_default_lifetime_and_is_then_refused_with_a_clear_message(pharmacist, client_for):
    raw = client_for(pharmacist).post("/api/v1/tokens", {"name": "pump gateway"}, content_type="application/json")
    raw = raw.json()["token"]
    token = ApiToken.objects.get()
    assert token.expires_at - token.created_at == pytest.approx(TOKEN_LIFETIME, abs=dt.timedelta(seconds=5))
    assert dt.timedelta(days=90) == TOKEN_LIFETIME
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = Client().get("/api/v1/me", **bearer(raw))
    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_EXPIRED"
    assert "expired" in response.json()["message"] and "pump gateway" in response.json()["message"]


def test_a_token_lifetime_is_chosen_at_creation_within_a_year(pharmacist):
    token, _ = create_api_token(actor=pharmacist, name="nightly report", lifetime=dt.timedelta(days=7))
    assert token.expires_at - timezone.now() <= dt.timedelta(days=7)
    with pytest.raises(DomainError) as refused:
        create_api_token(actor=pharmacist, name="forever", lifetime=dt.timedelta(days=3650))
    assert refused.value.code == "TOKEN_LIFETIME"


def test_the_users_page_lists_their_tokens_with_expiry_and_last_use(pharmacist, technician, client_for):
    _, raw = create_api_token(actor=pharmacist, name="label printer")
    create_api_token(actor=technician, name="someone else's")
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 200
    token = ApiToken.objects.get(name="label printer")
    assert token.last_used_at is not None
    page = client_for(pharmacist).get("/users/me")
    assert page.status_code == 200
    html = page.content.decode()
    assert "label printer" in html and "someone else" not in html
    assert f"{token.expires_at:%Y-%m-%d}" in html and f"{token.last_used_at:%Y-%m-%d}" in html


def test_a_user_revokes_their_token_from_their_page(pharmacist, client_for):
    token, raw = create_api_token(actor=pharmacist, name="old script")
    assert client_for(pharmacist).post(f"/users/me/tokens/{token.pk}/revoke").status_code == 302
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401
