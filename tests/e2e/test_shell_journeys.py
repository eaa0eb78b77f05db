"""First journeys: every demo role signs in and sees its own home; a technician cannot open the
admin; a wrong password is refused with a message."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from openinfusion.accounts.permissions import Role
from openinfusion.demo import DEMO_PASSWORD
from openinfusion.web.home import TASKS

DEMO_LOGIN = {role: role.value for role in Role}


def sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")  # keyboard-first: no mouse needed
    if password == DEMO_PASSWORD:
        page.wait_for_url(lambda url: urlparse(url).path == "/")


@pytest.mark.parametrize("role", list(Role))
def test_each_demo_role_signs_in_and_sees_its_home(page, role):
    sign_in(page, DEMO_LOGIN[role])
    section = page.locator(f'section[data-role="{role.value}"]')
    assert section.is_visible()
    assert section.get_by_role("heading").inner_text() == role.label
    for task in TASKS[role]:
        assert task.title in section.inner_text()
    assert page.locator("section.role").count() == 1
    assert role.label in page.locator("header .roles").inner_text()


def test_a_technician_cannot_open_the_admin(page):
    sign_in(page, "technician")
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    assert "Site administration" not in page.content()


def test_an_admin_adds_a_person_with_a_role_and_opens_the_admin_site(page):
    sign_in(page, "admin")
    page.get_by_role("link", name="People and roles").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("People")
    form = page.locator("#add-person")
    form.get_by_label("First name").fill("Nia")
    form.get_by_label("Last name").fill("Okoro")
    form.get_by_label("Username").fill("nokoro")
    form.get_by_label("Password").fill("infusion-nurse-2027")
    form.get_by_label("Nurse", exact=True).check()
    form.locator("input[name=sites]").first.check()
    form.get_by_role("button", name="Add").click()
    expect(page.locator("p.ok")).to_contain_text("Added Nia Okoro (nokoro)")
    expect(page.locator("#people tr[data-user=nokoro]")).to_contain_text("active")
    page.get_by_role("link", name="OpenInfusion").click()
    page.get_by_role("link", name="Admin site").click()
    assert page.get_by_role("heading", name="Administration").is_visible()


def test_a_wrong_password_shows_a_clear_message(page):
    sign_in(page, "nurse", "not-the-password")
    expect(page.locator("#sign-in-error")).to_have_text("Wrong username or password.")


def test_quality_checks_the_audit_chain_from_the_report(page):
    sign_in(page, "quality")
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_role("button", name="Check the chain").click()
    expect(page.locator("#chain")).to_contain_text("Chain intact")
    page.get_by_label("User").fill("quality")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**user=quality**")
    expect(page.locator("#events")).to_contain_text("accounts:session:signed_in")


def test_sign_out_returns_to_sign_in(page):
    sign_in(page, "pharmacist")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    page.goto("/")
    assert "/login/" in page.url
