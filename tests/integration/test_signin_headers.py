"""Response headers (issue 15; OWASP ASVS 4.0.3 8.2.1, 14.4.5, 3.4.1): signed-in pages are not stored,
no Server banner, HSTS and secure cookies over HTTPS."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_signed_in_pages_are_never_stored(pharmacist, client_for):
    response = client_for(pharmacist).get("/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_sign_in_redirect_and_sign_out_are_not_stored_either(pharmacist):
    response = Client().post("/login/", {"username": "pharmacist", "password": PASSWORD})
    assert "no-store" in response["Cache-Control"]


def test_no_server_banner(pharmacist, client_for):
    assert "Server" not in client_for(pharmacist).get("/")


def test_over_https_hsts_is_sent_and_every_cookie_is_secure(pharmacist):
    client = Client()
    page = client.get("/login/", secure=True)
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    response = client.post("/login/", {"username": "pharmacist", "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert all(cookie["secure"] for cookie in response.cookies.values())


def test_over_plain_http_there_is_no_hsts(db):
    assert "Strict-Transport-Security" not in Client().get("/login/")
