"""Administration journey (issues 7 and 14): at the chair the nurse chooses the dose being given,
scans a wrong wristband (refused), then the right one and the bag, programs the pump, records
vitals and a grade 2 reaction with a rate change, ends the infusion; the chair board shows it done;
the education leaflet opens as a PDF."""

from __future__ import annotations

import time

from playwright.sync_api import expect
from tests.e2e.test_shell_journeys import sign_in

RAN_FOR = """
import datetime as dt
from django.db.models import F
from openinfusion.administration.models import Administration
Administration.objects.filter(pk={pk}).update(started_at=F("started_at") - dt.timedelta(minutes={minutes}))
"""


def test_a_nurse_gives_a_dose_at_the_chair_from_scan_to_end(page, app_shell):
    sign_in(page, "nurse")
    page.goto("/administration/")
    expect(page.locator("#chair-board tr[data-stage=dispensed]").first).to_be_visible()
    # the dose due now (doses due hours ago stay on the board, outside the bedside time window)
    waiting = min(
        page.locator("#chair-board tr[data-stage=dispensed]").all(),
        key=lambda row: abs(int(row.get_attribute("data-due")) - time.time()),
    )
    mrn, label = waiting.get_attribute("data-mrn"), waiting.get_attribute("data-label")
    order_id = waiting.get_attribute("data-order")
    someone_else = page.locator(f"#chair-board tr[data-mrn]:not([data-mrn='{mrn}'])").first.get_attribute("data-mrn")

    page.locator("nav.subnav").get_by_role("link", name="Bedside scan").click()
    # the bedside asks which dose is being given before any scan (issue 14)
    page.locator(f"#choose-dose tr[data-order='{order_id}']").get_by_role("link", name="Give this dose").click()
    expect(page.locator("#chosen-dose")).to_have_attribute("data-order", order_id)
    wristband = page.get_by_label("1. Scan the patient's wristband")
    expect(wristband).to_be_focused()
    wristband.fill(someone_else)
    wristband.press("Enter")  # the scanner's Enter moves to the label box
    bag = page.get_by_label("2. Scan the bag's label")
    expect(bag).to_be_focused()
    bag.fill(label)
    bag.press("Enter")
    expect(page.locator("#bedside-refusal")).to_have_attribute("data-code", "WRONG_PATIENT")

    page.get_by_label("1. Scan the patient's wristband").fill(mrn)
    page.get_by_label("2. Scan the bag's label").fill(label)
    page.get_by_role("button", name="Check the five rights").click()
    expect(page.locator("p.ok")).to_contain_text("Five rights checked")

    hint = page.locator("p.muted", has_text="mL/h").inner_text()  # "Bag 54 mL at 216 mL/h over 15 min · OIP-…"
    volume = hint.split("Bag ")[1].split(" mL")[0]
    rate = hint.split(" at ")[1].split(" mL/h")[0]
    page.get_by_label("Rate (mL/h)").fill(str(float(rate) * 2))  # a programming slip
    page.get_by_label("Volume to be infused (mL)").fill(volume)
    page.get_by_role("button", name="Record the program").click()
    expect(page.locator("p.alert[role=alert]")).to_contain_text("RATE_MISMATCH")
    page.get_by_label("Rate (mL/h)").fill(rate)
    page.get_by_label("Volume to be infused (mL)").fill(volume)
    page.get_by_role("button", name="Record the program").click()
    page.get_by_role("button", name="Start the infusion").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Infusing")

    for name, value in (
        ("Systolic", "122"),
        ("Diastolic", "76"),
        ("Heart rate", "80"),
        ("Temp °C", "36.9"),
        ("SpO2 %", "98"),
        ("Resp. rate", "15"),
    ):
        page.get_by_label(name).fill(value)
    page.get_by_role("button", name="Record vitals").click()
    page.get_by_label("CTCAE grade").select_option("2")
    page.get_by_label("Symptoms").fill("flushing, chest tightness")
    page.get_by_label("Actions").fill("infusion slowed, diphenhydramine given")
    page.get_by_role("button", name="Record reaction").click()
    page.get_by_label("New rate (mL/h, 0 pauses)").fill(str(float(rate) / 2))
    page.get_by_label("Why").fill("grade 2 reaction: half rate")
    page.get_by_role("button", name="Change rate").click()
    expect(page.locator("#record")).to_contain_text("grade 2: flushing")
    expect(page.locator("#record")).to_contain_text("grade 2 reaction: half rate")

    page.get_by_role("button", name="End the infusion").click()  # a minute after the start: refused
    expect(page.locator("p.alert[role=alert]")).to_contain_text("END_TIME_IMPLAUSIBLE")
    expect(page.locator("p.alert[role=alert]")).to_contain_text("Give the time the infusion really ended")
    administration = page.url.rstrip("/").split("/")[-1]
    app_shell(RAN_FOR.format(pk=int(administration), minutes=60))  # the nurse comes back an hour later
    page.get_by_role("button", name="End the infusion").click()
    expect(page.locator("#ended")).to_contain_text("given")

    page.goto("/administration/")
    expect(page.locator(f"#chair-board tr[data-order='{order_id}']")).to_have_attribute("data-stage", "done")

    leaflet = page.request.get(
        page.locator(f"#chair-board tr[data-order='{order_id}'] a", has_text="Leaflet").get_attribute("href")
    )
    assert leaflet.ok and leaflet.headers["content-type"] == "application/pdf"
    assert leaflet.body().startswith(b"%PDF")
