"""A new dose from the prescriber's order to the patient's vein through the screens alone (issue 13),
with nothing staged for it: the prescriber records a diagnosis and orders iron sucrose for a time
today; the pharmacist verifies it; the scheduler books the visit, which shows the order; the
technician plans the preparation, moves the vials and the bag from the store into the clean room
from the preparation screen and types the packages in (no scanner); a second pharmacist checks
it; the technician dispenses it to a chair; the nurse signs for it on the chair board, scans at the
bedside, leaves the page and comes back through the board, programs the pump, starts, and ends it
at a believable time. Every page each person opens answers 200."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect
from tests.e2e.test_administration_journeys import RAN_FOR
from tests.e2e.test_shell_journeys import sign_in

from openinfusion.demo import DEMO_PASSWORD

MRN = "MRN40060"  # the demo's new referral: no order, no visit yet


def as_person(browser, app_url: str, username: str) -> tuple[Page, list[tuple[int, str]]]:
    """A browser of this person, recording the status of every page it opens."""
    page = browser.new_context(base_url=app_url).new_page()
    seen: list[tuple[int, str]] = []
    page.on("response", lambda r: seen.append((r.status, r.url)) if r.request.resource_type == "document" else None)
    sign_in(page, username)
    return page, seen


def only_ok(seen: list[tuple[int, str]]) -> None:
    """Every page opened answered 200 (a form's redirect counts as the page it leads to)."""
    assert [(s, u) for s, u in seen if s not in (200, 302)] == []


def test_a_new_dose_goes_from_the_order_to_the_vein_through_the_screens(browser, app_url, app_shell):
    # --- the prescriber: a diagnosis, then a single-drug order for later today -------------------
    prescriber, seen_prescriber = as_person(browser, app_url, "prescriber")
    prescriber.goto(f"/patients/?q={MRN}")
    prescriber.locator("tr", has_text=MRN).get_by_role("link").first.click()
    prescriber.get_by_text("Record a diagnosis").click()
    prescriber.get_by_label("ICD-10 code").fill("D50.9")
    prescriber.get_by_label("Diagnosis", exact=True).fill("Iron deficiency anaemia")
    prescriber.get_by_role("button", name="Record diagnosis").click()
    expect(prescriber.locator("#diagnoses")).to_contain_text("D50.9")
    order_form = prescriber.locator("#single-order")
    order_form.get_by_label("Drug").select_option("iron-sucrose")
    order_form.get_by_label("Dose or basis").fill("200 mg")
    order_form.get_by_label("Route").select_option("IV")
    order_form.get_by_label("Diluent").select_option("sodium-chloride-0.9")
    order_form.get_by_label("Volume mL").fill("100")
    order_form.get_by_label("Over minutes").fill("30")
    due = order_form.get_by_label("Time").input_value()  # the next full hour on the site's clock
    order_form.get_by_label("Indication").fill("D50.9")
    order_form.get_by_role("button", name="Write order").click()
    expect(prescriber.locator("p.ok[role=status]")).to_contain_text("sent to the pharmacist")
    heading = prescriber.get_by_role("heading", level=1).inner_text()  # "#123 IRON sucrose 200 mg IV"
    order_id = heading.split()[0].lstrip("#")
    expect(prescriber.locator("dd", has_text=due)).to_be_visible()  # planned at that time, site clock
    only_ok(seen_prescriber)

    # --- the pharmacist verifies it -------------------------------------------------------------
    pharmacist, seen_pharmacist = as_person(browser, app_url, "pharmacist")
    pharmacist.goto(f"/orders/{order_id}/")
    for reason in pharmacist.locator("#verify input[id^=override-]").all():
        reason.fill("Reviewed: iron studies on file.")
    pharmacist.get_by_label("Your password").fill(DEMO_PASSWORD)
    pharmacist.get_by_role("button", name="Verify and sign").click()
    expect(pharmacist.locator("p.ok[role=status]")).to_contain_text("verified and signed")
    only_ok(seen_pharmacist)

    # --- the scheduler books the visit; it shows the order ---------------------------------------
    scheduler, seen_scheduler = as_person(browser, app_url, "scheduler")
    scheduler.goto("/schedule/")
    scheduler.get_by_text("Book a window directly").click()
    book = scheduler.locator("#book-add-on")
    book.get_by_label("Patient MRN").fill(MRN)
    book.get_by_label("Minutes in chair").fill("60")
    hour = int(due.split(":")[0])
    book.get_by_label("Can come from").fill(f"{hour - 1:02d}:30")
    book.get_by_label("until").fill(f"{hour:02d}:30")
    book.get_by_role("button", name="Book and re-plan").click()
    expect(scheduler.locator("p.ok[role=status]")).to_contain_text(f"Booked {MRN}")
    expect(scheduler.locator(f"#appointments tr[data-mrn={MRN}]")).to_contain_text("iron sucrose")
    only_ok(seen_scheduler)

    # --- the technician: plan, bring the packages into the room, prepare with typed entries -------
    technician, seen_technician = as_person(browser, app_url, "technician")
    technician.goto("/compounding/")
    row = technician.locator("#to-plan tr", has_text=MRN)
    while not row.count():  # the order may be on a later page of orders to plan
        technician.get_by_role("link", name="Later orders to plan").click()
        row = technician.locator("#to-plan tr", has_text=MRN)
    row.get_by_role("button", name="Plan preparation").click()  # opens the planned preparation
    expect(technician.locator("p.ok[role=status]")).to_contain_text("Planned")
    barcode = technician.get_by_role("heading", level=1).inner_text().split()[0]
    bring = technician.locator("#bring-to-room")
    expect(bring).to_contain_text("from Pharmacy store")  # the vials and the bag are in the store
    while bring.count():  # each lot the screen says to bring, moved with its button
        bring.get_by_role("button").first.click()
        expect(technician.locator("p.ok[role=status]").first).to_contain_text("Moved")
    if technician.get_by_role("button", name="Release to compound").count():
        technician.get_by_label("Released because").fill("patient arrived")
        technician.get_by_role("button", name="Release to compound").click()
    technician.get_by_role("button", name="Start preparation").click()
    for _ in range(12):  # every step of the plan, as the screen asks
        title = technician.locator(".step-now h2").inner_text()
        if title == "Every step is done":
            break
        if "Weigh" in title:
            hint = technician.locator(".step-now .hint").inner_text()
            volume = Decimal(hint.split("Expect ")[1].split(" mL")[0])
            gravity = Decimal(hint.split("specific gravity ")[1].split(" ")[0])
            technician.locator("input[name=tare_g]").fill("11.250")
            technician.locator("input[name=gross_g]").fill(str(Decimal("11.250") + volume * gravity))
            technician.get_by_role("button", name="Record weight").click()
        else:
            pick = technician.locator("#suggested .pick").first
            technician.get_by_text("Type the package in instead").click()
            typed = technician.locator("#type-package")
            typed.get_by_label("NDC or GTIN").fill(pick.get_attribute("data-gtin"))
            typed.get_by_label("Lot").fill(pick.get_attribute("data-lot"))
            typed.get_by_label("Expiry").fill(pick.get_attribute("data-expiry"))
            typed.get_by_role("button", name="Record the package").click()
        expect(technician.locator("p.ok[role=status]")).to_contain_text("Step recorded")
    technician.get_by_role("button", name="Complete — send to final check").click()
    expect(technician.locator("p.ok[role=status]")).to_contain_text("final check")

    # --- a second pharmacist checks it ----------------------------------------------------------
    checker, seen_checker = as_person(browser, app_url, "pharmacist2")
    checker.goto("/compounding/checks/")
    checker.get_by_role("link", name=barcode).click()
    checker.get_by_label("Your password").fill(DEMO_PASSWORD)
    checker.get_by_role("button", name="Approve and release the label").click()
    expect(checker.locator("p.ok[role=status]")).to_be_visible()
    only_ok(seen_checker)

    # --- the technician dispenses it to a chair --------------------------------------------------
    technician.goto("/administration/dispensing/")
    ready = technician.locator("tr", has_text=barcode)
    ready.get_by_label("Where").select_option("chair")
    ready.get_by_label("Which").fill("Chair 12")
    ready.get_by_role("button", name="Dispense").click()
    expect(technician.locator("p.ok[role=status]")).to_contain_text("Dispensed")
    only_ok(seen_technician)

    # --- the nurse: receipt, bedside, away and back, pump, start, end ----------------------------
    nurse, seen_nurse = as_person(browser, app_url, "nurse")
    nurse.goto("/administration/")
    dose = nurse.locator(f"#chair-board tr[data-order='{order_id}']")
    dose.get_by_role("button", name="Received").click()
    dose = nurse.locator(f"#chair-board tr[data-order='{order_id}']")
    expect(dose).to_contain_text("received")
    dose.get_by_role("link", name="Bedside scan").click()
    nurse.get_by_label("1. Scan the patient's wristband").fill(MRN)
    nurse.get_by_label("2. Scan the bag's label").fill(barcode)
    nurse.get_by_role("button", name="Check the five rights").click()
    expect(nurse.locator("p.ok[role=status]")).to_contain_text("Five rights checked")
    nurse.goto("/administration/")  # called away before starting
    nurse.locator(f"#chair-board tr[data-order='{order_id}']").get_by_role("link", name="Infusion record").click()
    hint = nurse.locator("p.muted", has_text="mL/h").inner_text()
    volume = hint.split("Bag ")[1].split(" mL")[0]
    rate = hint.split(" at ")[1].split(" mL/h")[0]
    nurse.get_by_label("Rate (mL/h)").fill(rate)
    nurse.get_by_label("Volume to be infused (mL)").fill(volume)
    nurse.get_by_role("button", name="Record the program").click()
    nurse.get_by_role("button", name="Start the infusion").click()
    expect(nurse.get_by_role("heading", level=1)).to_contain_text("Infusing")
    nurse.get_by_role("button", name="End the infusion").click()  # at once: not believable
    expect(nurse.locator("p.alert[role=alert]")).to_contain_text("END_TIME_IMPLAUSIBLE")
    administration = nurse.url.rstrip("/").split("/")[-1]
    app_shell(RAN_FOR.format(pk=int(administration), minutes=40))  # the bag has run its 30 minutes
    nurse.get_by_role("button", name="End the infusion").click()
    expect(nurse.locator("#ended")).to_contain_text("given")
    nurse.goto("/administration/")
    expect(nurse.locator(f"#chair-board tr[data-order='{order_id}']")).to_have_attribute("data-stage", "done")
    only_ok(seen_nurse)
