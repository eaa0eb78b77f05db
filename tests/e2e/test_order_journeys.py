"""Order journeys (issue 5): the prescriber starts mFOLFOX6 for a new referral and submits cycle 1;
the pharmacist verifies one order with an override and signature, and returns one with a hard stop."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from tests.e2e.test_shell_journeys import sign_in

from openinfusion.demo import DEMO_PASSWORD

NEW_REFERRAL = "MRN40060"  # orders/demo.py: colon cancer, measured, no plan yet
OVER_THE_CAP = "vinCRIStine 2.8 mg"  # orders/demo.py: submitted above the 2 mg maximum single dose


def open_chart(page: Page, mrn: str) -> None:
    page.goto("/patients/")
    page.get_by_label("Name or MRN").fill(mrn)
    page.keyboard.press("Enter")
    page.locator("table.grid tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(mrn)


def test_the_prescriber_starts_folfox_and_submits_cycle_one(page):
    sign_in(page, "prescriber")
    open_chart(page, NEW_REFERRAL)
    expect(page.locator(".trends svg.trend")).to_have_count(3)  # ANC, platelets, creatinine trends
    plan = page.locator("#start-plan")
    plan.get_by_label("Regimen").select_option(label="mFOLFOX6 (modified FOLFOX6)")
    plan.get_by_role("spinbutton", name="Cycles").fill("2")
    plan.get_by_role("button", name="Start plan").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("mFOLFOX6")
    cycle = page.locator('section.cycle[data-cycle="1"]')
    oxaliplatin = cycle.locator("tr", has_text="OXALIplatin")
    expect(oxaliplatin).to_contain_text("85 mg/m²")
    expect(oxaliplatin).to_contain_text("Draft")
    dose = oxaliplatin.locator("td.num").inner_text()
    assert re.fullmatch(r"\d+(\.\d+)? mg", dose), dose
    cycle.get_by_role("button", name="Submit cycle 1 drafts for verification").click()
    expect(page.locator("p.ok")).to_contain_text("orders sent to the pharmacist")
    expect(page.locator('section.cycle[data-cycle="1"] .status-submitted').first).to_be_visible()
    expect(page.locator('section.cycle[data-cycle="1"] .status-draft')).to_have_count(0)
    expect(page.locator('section.cycle[data-cycle="2"] .status-draft').first).to_be_visible()


def test_the_pharmacist_verifies_with_an_override_and_returns_a_hard_stop(page):
    sign_in(page, "pharmacist")
    page.goto("/orders/verify/")
    rows = page.locator("table.grid tbody tr")
    expect(rows.first).to_be_visible()

    # Return the order over the maximum single dose: a hard stop offers no verify form.
    page.locator("tr", has_text=OVER_THE_CAP).get_by_role("link").first.click()
    expect(page.locator('#findings .finding.hard_stop[data-code="DOSE_ABOVE_MAX"]')).to_be_visible()
    expect(page.get_by_role("button", name="Verify and sign")).to_have_count(0)
    page.get_by_label("Return to prescriber because").fill("Above the 2 mg vincristine cap: cap at 2 mg.")
    page.get_by_role("button", name="Return").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Verification queue")
    expect(page.locator("tr", has_text=OVER_THE_CAP)).to_have_count(0)

    # Verify the first order that carries a warning, giving the override reason and signing.
    for index in range(rows.count()):
        page.goto("/orders/verify/")
        page.locator("table.grid tbody tr").nth(index).get_by_role("link").first.click()
        warnings = page.locator("#findings .finding.warning")
        if warnings.count() and not page.locator("#findings .finding.hard_stop").count():
            break
    else:
        raise AssertionError("the demo queue has no order with only warnings")
    order_heading = page.get_by_role("heading", level=1).inner_text()
    codes = [warnings.nth(i).get_attribute("data-code") for i in range(warnings.count())]
    page.get_by_role("button", name="Verify and sign").click()  # no reasons yet: the browser refuses
    expect(page.get_by_label(f"Reason to accept {codes[0]}")).to_be_focused()
    for code in codes:
        page.get_by_label(f"Reason to accept {code}").fill("Discussed with the prescriber; proceed.")
    page.get_by_label("Your password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Verify and sign").click()
    expect(page.locator("p.ok")).to_contain_text("verified and signed")

    number = order_heading.split()[0].lstrip("#")
    page.goto(f"/orders/{number}/")
    expect(page.locator("h1 .status-verified")).to_be_visible()
    expect(page.locator("#findings")).to_contain_text("Discussed with the prescriber; proceed.")


def test_a_wrong_password_verifies_nothing(page):
    sign_in(page, "pharmacist2")
    page.goto("/orders/verify/")
    count = page.locator("table.grid tbody tr").count()
    for index in range(count):
        page.goto("/orders/verify/")
        page.locator("table.grid tbody tr").nth(index).get_by_role("link").first.click()
        if page.get_by_role("button", name="Verify and sign").count():
            break
    else:
        raise AssertionError("the demo queue has no order that can be verified")
    for field in page.locator("#verify input[name^=override-]").all():
        field.fill("Reviewed.")
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Verify and sign").click()
    expect(page.locator("#refusal")).to_have_attribute("data-code", "WRONG_PASSWORD")
    expect(page.locator("h1 .status-submitted, h1 .status-on_hold")).to_be_visible()
