"""The administrator's People screen: add a person with roles at a site, change roles, unlock an
account locked after failed sign-ins (the lock-out message gives the time on the site's clock),
deactivate; every change audited; a refusal keeps what was typed; only administrators see it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from openinfusion.accounts.models import User
from openinfusion.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW = {
    "first_name": "Nia",
    "last_name": "Okoro",
    "username": "nokoro",
    "password": "infusion-nurse-2027",
    "roles": ["nurse"],
    "sites": ["north"],
}


def test_an_admin_adds_a_person_and_changes_their_roles(admin, client_for):
    client = client_for(admin)
    page = client.get("/users/").content.decode()
    assert 'id="add-person"' in page and 'data-user="admin"' in page
    response = client.post("/users/add", NEW)
    assert response.status_code == 302, response.content.decode()[:800]
    person = User.objects.get(username="nokoro")
    assert person.role_codes() == {"nurse"} and person.printed_name == "Nia Okoro"
    assert AuditEvent.objects.filter(action="accounts:user:created", actor=admin, entity_id=str(person.pk)).exists()

    client.post(f"/users/{person.pk}/roles", {"roles": ["nurse", "scheduler"], "version": person.version})
    assert User.objects.get(pk=person.pk).role_codes() == {"nurse", "scheduler"}
    stale = client.post(f"/users/{person.pk}/roles", {"roles": ["pharmacist"], "version": person.version}, follow=True)
    assert "Not changed" in stale.content.decode()  # someone saved in between: nothing overwritten
    assert User.objects.get(pk=person.pk).role_codes() == {"nurse", "scheduler"}


def test_a_refused_person_is_not_added_and_the_form_keeps_what_was_typed(admin, client_for):
    response = client_for(admin).post("/users/add", NEW | {"password": "short"})
    page = response.content.decode()
    assert response.status_code == 422
    assert 'data-code="WEAK_PASSWORD"' in page and 'value="nokoro"' in page and 'value="Okoro"' in page
    assert not User.objects.filter(username="nokoro").exists()


@pytest.fixture
def nurse(make_user):
    return make_user("nurse", "nurse")


def test_a_locked_account_says_until_when_on_the_site_clock_and_the_admin_unlocks_it(admin, nurse, client_for):
    for attempt in range(settings.LOGIN_FAILURE_LIMIT):  # from two addresses: one alone cannot lock anyone
        Client(REMOTE_ADDR=f"10.0.0.{attempt % 2 + 1}").post("/login/", {"username": "nurse", "password": "wrong"})
    locked = Client(REMOTE_ADDR="10.0.0.3").post("/login/", {"username": "nurse", "password": "wrong"}).content.decode()
    until = User.objects.get(pk=nurse.pk).locked_until
    assert until is not None
    assert f"Try again after {nurse.home_site().clock(until)}" in locked  # e.g. 2026-06-09 10:45 EDT
    client = client_for(admin)
    assert "locked until" in client.get("/users/").content.decode()
    client.post(f"/users/{nurse.pk}/unlock")
    assert User.objects.get(pk=nurse.pk).locked_until is None
    assert AuditEvent.objects.filter(action="accounts:user:unlocked", actor=admin).count() == 1


def test_an_admin_deactivates_with_a_reason_and_never_themselves(admin, nurse, client_for):
    client = client_for(admin)
    no_reason = client.post(f"/users/{nurse.pk}/deactivate", {"version": nurse.version, "reason": ""}, follow=True)
    assert "Say why" in no_reason.content.decode() and User.objects.get(pk=nurse.pk).is_active
    client.post(f"/users/{nurse.pk}/deactivate", {"version": nurse.version, "reason": "left the service"})
    assert not User.objects.get(pk=nurse.pk).is_active
    self_off = client.post(f"/users/{admin.pk}/deactivate", {"version": admin.version, "reason": "x"}, follow=True)
    assert "cannot deactivate your own account" in self_off.content.decode()
    assert User.objects.get(pk=admin.pk).is_active


@pytest.mark.parametrize("role", ["pharmacist", "nurse", "quality"])
def test_only_administrators_manage_people(make_user, client_for, role):
    someone = make_user(f"a-{role}", role)
    client = client_for(someone)
    assert client.get("/users/").status_code == 403
    assert client.post("/users/add", NEW).status_code == 403
    assert not User.objects.filter(username="nokoro").exists()
