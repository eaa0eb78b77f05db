"""The ``openinfusion`` command: createsite, createuser, demo, check, migrate, and defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from openinfusion.accounts.models import Site, User
from openinfusion.cli import main
from openinfusion.patients.models import Patient

CLI = str(Path(sys.executable).with_name("openinfusion"))


@pytest.mark.django_db
def test_createsite_and_createuser_make_a_working_login(capsys, monkeypatch):
    assert main(["createsite", "--code", "east", "--name", "East Infusion", "--kind", "infusion_center", "--json"]) == 0
    monkeypatch.setenv("OPENINFUSION_NEW_PASSWORD", "a-long-enough-pass")
    capsys.readouterr()
    code = main(["createuser", "rn1", "--role", "nurse", "--role", "scheduler", "--site", "east", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["roles"] == ["nurse", "scheduler"]
    user = User.objects.get(username="rn1")
    assert user.check_password("a-long-enough-pass")
    assert set(user.role_codes()) == {"nurse", "scheduler"}


@pytest.mark.django_db
def test_createuser_refuses_an_unknown_site_with_a_json_error(capsys, monkeypatch):
    monkeypatch.setenv("OPENINFUSION_NEW_PASSWORD", "a-long-enough-pass")
    assert main(["createuser", "rn1", "--role", "nurse", "--site", "nowhere", "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "UNKNOWN_SITE" and "nowhere" in error["message"]
    assert not User.objects.filter(username="rn1").exists()


@pytest.mark.django_db
def test_demo_creates_a_user_for_every_role_and_is_idempotent(capsys):
    assert main(["demo", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["demo", "--json"]) == 0
    assert User.objects.count() == len(first["logins"])
    roles = {r for login in first["logins"] for r in login["roles"]}
    assert roles == {
        "prescriber",
        "pharmacist",
        "technician",
        "nurse",
        "scheduler",
        "inventory",
        "biomed",
        "quality",
        "admin",
    }
    assert Site.objects.count() == 3
    names = list(Patient.objects.values_list("family_name", "given_name"))
    assert len(names) == len(set(names)) > 30  # no two demo patients share a name
    codes = {code["text"] for code in first["codes"]}
    assert any(text.startswith("01") and "<GS>21" in text for text in codes)  # packages to type in
    assert {p.mrn for p in Patient.objects.order_by("mrn")[:2]} <= codes  # and wristbands


@pytest.mark.django_db
def test_check_reports_configuration_database_and_chain(capsys):
    main(["demo", "--json"])
    capsys.readouterr()
    assert main(["check", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["configuration"] == "ok" and out["audit_chain"]["intact"]


def test_without_configuration_the_app_makes_its_data_directory_sqlite_and_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENINFUSION_", "DJANGO_"))}
    env["OPENINFUSION_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run([CLI, "migrate", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"database": "sqlite", "migrated": True}
    assert (tmp_path / "data" / "openinfusion.sqlite3").exists()
    key = (tmp_path / "data" / "secret_key").read_text()
    assert len(key) >= 50
    assert oct((tmp_path / "data" / "secret_key").stat().st_mode)[-3:] == "600"
    probe = (
        "from django.conf import settings; "
        "print(settings.DEBUG, settings.SECRET_KEY == open(settings.DATA_DIR / 'secret_key').read())"
    )
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='openinfusion.settings'; django.setup(); {probe}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.stdout.split() == ["False", "True"]


def test_settings_come_from_environment_variables(tmp_path):
    env = {
        **os.environ,
        "OPENINFUSION_DATA_DIR": str(tmp_path),
        "OPENINFUSION_SECRET_KEY": "from-env",
        "OPENINFUSION_TIME_ZONE": "America/Chicago",
        "OPENINFUSION_DEBUG": "true",
        "OPENINFUSION_SESSION_IDLE_MINUTES": "10",
        "OPENINFUSION_DATABASE_URL": "postgresql://u@db.example:5432/oi",
    }
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='openinfusion.settings'; django.setup(); "
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(s.SECRET_KEY, s.TIME_ZONE, s.DEBUG, s.SESSION_COOKIE_AGE, d['ENGINE'].rsplit('.', 1)[1], d['HOST'])"
    )
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert shown.stdout.split() == ["from-env", "America/Chicago", "True", "600", "postgresql", "db.example"]
