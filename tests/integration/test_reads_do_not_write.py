"""A plain read writes nothing: the session is renewed at most once a minute and a token's use is
recorded at most once a minute, so 40 people refreshing boards do not queue behind each other's
writes (SQLite has one writer; PostgreSQL pays a WAL flush per write)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openinfusion.accounts.models import ApiToken

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def writes(client: Client, path: str, **headers: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path, **headers).status_code == 200
    return [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]


@pytest.mark.parametrize("path", ["/", "/api/v1/me", "/formulary/"])
def test_a_signed_in_read_writes_nothing_within_the_minute_and_renews_the_session_after_it(
    pharmacist, client_for, clock, path
):
    client = client_for(pharmacist)
    clock.shift(dt.timedelta(seconds=61))
    renewed = writes(client, path)
    assert renewed and all("django_session" in sql for sql in renewed)  # the idle clock restarts
    assert writes(client, path) == []
    clock.shift(dt.timedelta(seconds=30))
    assert writes(client, path) == []
    clock.shift(dt.timedelta(seconds=31))
    assert writes(client, path) != []


def test_a_token_read_records_its_use_at_most_once_a_minute(pharmacist, client_for, clock):
    raw = client_for(pharmacist).post("/api/v1/tokens", {"name": "board"}, content_type="application/json").json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw['token']}"}
    machine = Client()
    first = writes(machine, "/api/v1/me", **bearer)
    assert len(first) == 1 and "accounts_apitoken" in first[0]
    used_at = ApiToken.objects.get().last_used_at
    clock.shift(dt.timedelta(seconds=20))
    assert writes(machine, "/api/v1/me", **bearer) == []
    assert ApiToken.objects.get().last_used_at == used_at
    clock.shift(dt.timedelta(seconds=41))
    assert len(writes(machine, "/api/v1/me", **bearer)) == 1
    assert ApiToken.objects.get().last_used_at > used_at


def test_the_first_reads_after_signing_in_write_nothing(pharmacist, client_for, clock):
    client = client_for(pharmacist)  # signing in saved the session: its idle clock starts there
    assert writes(client, "/") == []
    clock.shift(dt.timedelta(seconds=30))
    assert writes(client, "/formulary/") == []
    clock.shift(dt.timedelta(seconds=31))
    assert writes(client, "/") != []


def test_idle_sign_out_still_comes_after_the_idle_window(pharmacist, client_for, clock, settings):
    client = client_for(pharmacist)
    clock.shift(dt.timedelta(seconds=61))
    assert writes(client, "/") != []  # renewed: the idle window starts again here
    clock.shift(dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES, seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
