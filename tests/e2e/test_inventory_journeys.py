"""Inventory journeys (issue 4): a technician's scanner receives a lot, the lot shows in stock, the
inventory lead quarantines it and traces it; a scan of an expired lot is refused on the spot."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from tests.clock import site_today
from tests.e2e.test_shell_journeys import sign_in

from openinfusion.clinical.codes import ndc_to_gtin14

VANCOMYCIN_NDC = "68083-596-01"  # a starter product (formulary/data/products.yaml)


def scan_of(ndc: str, lot: str, expiry: dt.date) -> str:
    """What a keyboard-wedge scanner types for a package DataMatrix (<GS> ends the variable lot)."""
    return f"01{ndc_to_gtin14(ndc)}17{expiry:%y%m%d}10{lot}<GS>21SER{lot}"


def test_receive_a_scanned_lot_see_it_in_stock_quarantine_and_trace_it(page):
    expiry = site_today("America/New_York") + dt.timedelta(days=300)
    sign_in(page, "inventory")
    page.goto("/inventory/receive/")
    scan = page.get_by_label("Scan the package's DataMatrix")
    expect(scan).to_be_focused()  # the scanner can fire as soon as the page opens
    page.get_by_label("Location").select_option(label="Pharmacy store (main-pharmacy)")
    page.get_by_label("Packages").fill("5")
    scan.fill(scan_of(VANCOMYCIN_NDC, "E2E-VAN-1", expiry))
    scan.press("Enter")  # the scanner's own Enter submits: no mouse needed
    result = page.locator("#receive-result")
    expect(result).to_contain_text("Received 5")
    expect(result).to_contain_text("E2E-VAN-1")
    expect(scan).to_have_value("")  # ready for the next package
    expect(scan).to_be_focused()

    page.goto("/inventory/")
    row = page.locator("tr", has_text="E2E-VAN-1")
    expect(row).to_contain_text("Pharmacy store")
    expect(row.locator("td.num")).to_have_text("5")
    row.get_by_role("link", name="E2E-VAN-1").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("lot E2E-VAN-1")
    expect(page.locator("table.grid")).to_contain_text("Receive")
    page.get_by_label("Reason or recall reference").fill("Manufacturer notice 2026-11 (demo)")
    page.get_by_role("button", name="Quarantine now").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("quarantined")

    page.goto("/inventory/recall/")
    page.get_by_label("Lot number, or scan a package of the lot").fill("E2E-VAN-1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("lot E2E-VAN-1")
    expect(page.locator("section.card", has_text="On the shelf")).to_contain_text("5 at Pharmacy store")
    expect(page.locator("#trace-consumed")).to_contain_text("None.")

    # A quarantined lot can no longer be received.
    page.goto("/inventory/receive/")
    scan = page.get_by_label("Scan the package's DataMatrix")
    scan.fill(scan_of(VANCOMYCIN_NDC, "E2E-VAN-1", expiry))
    scan.press("Enter")
    expect(page.locator("#receive-result [role=alert]")).to_have_attribute("data-code", "QUARANTINED_LOT")


def test_an_expired_lot_is_refused_at_the_bench(page):
    sign_in(page, "technician")
    page.goto("/inventory/receive/")
    scan = page.get_by_label("Scan the package's DataMatrix")
    scan.fill(scan_of(VANCOMYCIN_NDC, "E2E-OLD-1", site_today("America/New_York") - dt.timedelta(days=2)))
    scan.press("Enter")
    alert = page.locator("#receive-result [role=alert]")
    expect(alert).to_have_attribute("data-code", "EXPIRED_LOT")
    expect(alert).to_contain_text("Not received")
