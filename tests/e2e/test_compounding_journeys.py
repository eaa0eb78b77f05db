"""Compounding journey (issue 6): a technician prepares the demo oxaliplatin dose step by step with
scans and weights (a wrong-drug scan is refused), a second pharmacist approves it with a
signature, and the label comes out as a real PDF."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from playwright.sync_api import Page, expect
from tests.e2e.test_shell_journeys import sign_in

from openinfusion.clinical.codes import ndc_to_gtin14
from openinfusion.demo import DEMO_PASSWORD

CARBOPLATIN_NDC = "61703-339-18"  # a starter carboplatin vial: the wrong drug for this dose


def scan_of(gtin: str, lot: str, expiry: str, serial: str) -> str:
    return f"01{gtin}17{dt.date.fromisoformat(expiry):%y%m%d}10{lot}<GS>21{serial}"


def scan_suggested(page: Page, serial: str) -> None:
    pick = page.locator("#suggested .pick").first
    scan = page.get_by_label("Scan the package DataMatrix")
    expect(scan).to_be_focused()
    scan.fill(
        scan_of(
            pick.get_attribute("data-gtin"), pick.get_attribute("data-lot"), pick.get_attribute("data-expiry"), serial
        )
    )
    scan.press("Enter")


def weigh(page: Page) -> None:
    hint = page.locator(".step-now .hint").inner_text()  # "Expect 36.21 mL × specific gravity 1 (±5 %)."
    volume = Decimal(hint.split("Expect ")[1].split(" mL")[0])
    gravity = Decimal(hint.split("specific gravity ")[1].split(" ")[0])
    tare = Decimal("11.250")
    page.locator("input[name=tare_g]").fill(str(tare))
    page.locator("input[name=gross_g]").fill(str(tare + volume * gravity))
    page.get_by_role("button", name="Record weight").click()


def test_a_technician_prepares_oxaliplatin_and_a_pharmacist_releases_the_label(page, browser, app_url):
    sign_in(page, "technician")
    page.goto("/compounding/?room=hazardous")
    page.locator("#work-queue tr", has_text="OXALIplatin").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("OXALIplatin")
    barcode = page.get_by_role("heading", level=1).inner_text().split()[0]
    page.get_by_role("button", name="Start preparation").click()

    # The wrong drug is refused, kept as an intercepted error, and the step stays where it was.
    first_step = page.locator(".step-now h2").inner_text()
    scan = page.get_by_label("Scan the package DataMatrix")
    scan.fill(scan_of(ndc_to_gtin14(CARBOPLATIN_NDC), "WRONG1", "2030-01-31", "X1"))
    scan.press("Enter")
    expect(page.locator("p.alert[role=alert]")).to_contain_text("WRONG_PRODUCT")
    expect(page.locator('#intercepted li[data-code="WRONG_PRODUCT"]')).to_be_visible()
    expect(page.locator(".step-now h2")).to_have_text(first_step)

    for n in range(12):  # every step of the plan, one at a time, as the screen asks
        title = page.locator(".step-now h2").inner_text()
        if title == "Every step is done":
            break
        if "Weigh" in title:
            weigh(page)
        else:
            scan_suggested(page, f"E2E{n}")
        expect(page.locator("p.ok")).to_contain_text("Step recorded")
    page.get_by_role("button", name="Complete — send to final check").click()
    expect(page.locator("p.ok[role=status]")).to_contain_text("sent to the pharmacist's final check")

    checker = browser.new_context(base_url=app_url).new_page()
    sign_in(checker, "pharmacist2")
    checker.goto("/compounding/checks/")
    checker.get_by_role("link", name=barcode).click()
    expect(checker.locator("#steps-done")).to_contain_text("lot")
    expect(checker.locator('#intercepted li[data-code="WRONG_PRODUCT"]')).to_be_visible()
    checker.get_by_label("Your password").fill(DEMO_PASSWORD)
    checker.get_by_role("button", name="Approve and release the label").click()
    expect(checker.locator("#label-preview")).to_contain_text("OXALIplatin")
    expect(checker.locator("#label-preview")).to_contain_text("HAZARDOUS DRUG")

    pdf = checker.request.get(checker.locator("#label-pdf").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
