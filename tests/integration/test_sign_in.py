"""Signing in and out, lockout after repeated failures, session expiry (HIPAA 164.312(a)(2)(iii);
OWASP ASVS 4.0.3 2.2.1, 3.3.1, 3.3.2)."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher
from django.test import Client, override_settings
from tests.conftest import PASSWORD

from openinfusion.accounts.middleware import SESSION_STARTED_KEY
from openinfusion.accounts.models import User
from openinfusion.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_passwords_are_stored_as_argon2_hashes(pharmacist):
    assert identify_hasher(pharmacist.password).algorithm == "argon2"
    assert PASSWORD not in pharmacist.password


def test_right_password_signs_in_and_is_audited(pharmacist):
    client = Client()
    response = sign_in(client, "pharmacist", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="accounts:session:signed_in", actor=pharmacist).count() == 1


def test_wrong_password_is_refused_with_a_clear_message_and_audited(pharmacist):
    response = sign_in(Client(), "pharmacist", "not-the-password")
    assert response.status_code == 401
    assert b"Wrong username or password." in response.content
    event = AuditEvent.objects.get(action="accounts:session:sign_in_failed")
    assert event.outcome == "refused" and event.actor_username == "pharmacist"
    assert "not-the-password" not in str(event.before) + str(event.after) + event.reason


def test_unknown_username_gets_the_same_message_and_is_audited(db):
    response = sign_in(Client(), "nobody", "whatever-password")
    assert response.status_code == 401
    assert b"Wrong username or password." in response.content
    assert AuditEvent.objects.filter(action="accounts:session:sign_in_failed", actor_username="nobody").exists()


def hashes_during(action) -> int:
    """How many Argon2 hashes ``action`` computed (a hash checked or made)."""
    calls = {"count": 0}

    def counting(method):
        def counted(self, *args):
            calls["count"] += 1
            return method(self, *args)

        return counted

    with (
        mock.patch.object(Argon2PasswordHasher, "encode", counting(Argon2PasswordHasher.encode)),
        mock.patch.object(Argon2PasswordHasher, "verify", counting(Argon2PasswordHasher.verify)),
    ):
        action()
    return calls["count"]


def test_an_unknown_username_costs_a_password_hash_like_a_known_one(pharmacist, make_user):
    User.objects.filter(pk=make_user("retired", "nurse").pk).update(is_active=False)
    known = hashes_during(lambda: sign_in(Client(), "pharmacist", "not-the-password"))
    assert known == 1
    assert hashes_during(lambda: sign_in(Client(), "nobody", "not-the-password")) == known
    assert hashes_during(lambda: sign_in(Client(), "retired", "not-the-password")) == known


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_account_locks_after_repeated_failures_even_for_the_right_password(pharmacist):
    client = Client()
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):  # one address alone never locks an account
        assert sign_in(client, "pharmacist", "wrong-password", address).status_code == 401
    response = sign_in(client, "pharmacist", PASSWORD, "10.0.0.3")
    assert response.status_code == 401
    assert b"locked" in response.content
    pharmacist.refresh_from_db()
    assert pharmacist.locked_until is not None
    assert AuditEvent.objects.filter(reason="ACCOUNT_LOCKED").count() == 1


def test_an_admin_can_unlock_a_locked_account(pharmacist, admin, client_for):
    with override_settings(LOGIN_FAILURE_LIMIT=2):
        for _ in range(2):
            sign_in(Client(), "pharmacist", "wrong-password")
    response = client_for(admin).post(f"/api/v1/users/{pharmacist.pk}/unlock")
    assert response.status_code == 200
    assert sign_in(Client(), "pharmacist", PASSWORD).status_code == 302


def test_deactivated_user_cannot_sign_in(pharmacist, admin, client_for):
    response = client_for(admin).post(
        f"/api/v1/users/{pharmacist.pk}/deactivate",
        {"reason": "left the organisation", "version": pharmacist.version},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert sign_in(Client(), "pharmacist", PASSWORD).status_code == 401


def test_sign_out_ends_the_session_and_a_replayed_cookie_is_refused(pharmacist, client_for):
    client = client_for(pharmacist)
    cookie = client.cookies["sessionid"].value
    assert client.post("/logout/").status_code == 302
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get("/api/v1/me").status_code == 401
    assert AuditEvent.objects.filter(action="accounts:session:signed_out", actor=pharmacist).exists()


def test_a_new_session_id_is_issued_at_every_sign_in(pharmacist):
    client = Client()
    client.get("/login/")
    sign_in(client, "pharmacist", PASSWORD)
    first = client.cookies["sessionid"].value
    sign_in(client, "pharmacist", PASSWORD)
    assert client.cookies["sessionid"].value != first


def test_session_expires_after_the_idle_limit(pharmacist, client_for, settings, clock):
    import datetime as dt

    client = client_for(pharmacist)
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    clock.shift(dt.timedelta(minutes=20))
    assert client.get("/api/v1/me").status_code == 200  # active: the idle clock restarts
    clock.shift(dt.timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200
    clock.shift(dt.timedelta(minutes=31))
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/").status_code == 302


def test_session_ends_after_the_absolute_limit_even_when_active(pharmacist, client_for):
    client = client_for(pharmacist)
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - 13 * 3600
    session.save()
    assert client.get("/api/v1/me").status_code == 401


def test_session_cookie_is_http_only(pharmacist):
    client = Client()
    sign_in(client, "pharmacist", PASSWORD)
    assert client.cookies["sessionid"]["httponly"]


def test_open_redirect_after_sign_in_is_refused(pharmacist):
    response = Client().post(
        "/login/", {"username": "pharmacist", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"


@override_settings(LOGIN_FAILURE_LIMIT=5)
def test_one_address_cannot_lock_an_account_by_itself(pharmacist):
    responses = [sign_in(Client(), "pharmacist", "wrong-password", "203.0.113.9") for _ in range(5)]
    assert [b"Wrong username" in r.content for r in responses] == [True] * 4 + [False]
    assert b"Too many failed sign-ins from this computer" in responses[-1].content
    pharmacist.refresh_from_db()
    assert pharmacist.locked_until is None and pharmacist.failed_logins == 4
    assert sign_in(Client(), "pharmacist", PASSWORD, "203.0.113.9").status_code == 401
    assert sign_in(Client(), "pharmacist", PASSWORD, "10.1.1.1").status_code == 302
    assert AuditEvent.objects.filter(reason="SIGN_IN_THROTTLED").count() == 2


@override_settings(LOGIN_ADDRESS_FAILURE_LIMIT=3)
def test_an_address_guessing_across_accounts_is_refused_unchecked(pharmacist):
    for username in ("alice", "bob", "carol"):
        sign_in(Client(), username, "wrong-password", "198.51.100.7")
    assert hashes_during(lambda: sign_in(Client(), "pharmacist", PASSWORD, "198.51.100.7")) == 0
    pharmacist.refresh_from_db()
    assert pharmacist.failed_logins == 0
    assert sign_in(Client(), "pharmacist", PASSWORD, "198.51.100.8").status_code == 302
