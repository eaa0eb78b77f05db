"""Scheduling journey (issue 8): on tomorrow's board the scheduler asks for the best slots for an
add-on, books the cheapest, and sees the board re-planned with it; then a chair goes out of service
and its visits move to other chairs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from tests.e2e.test_shell_journeys import sign_in


def test_a_scheduler_books_an_add_on_from_the_best_slots_and_the_board_replans(page):
    tomorrow = dt.datetime.now(ZoneInfo("America/New_York")).date() + dt.timedelta(days=1)
    sign_in(page, "scheduler")
    page.goto("/schedule/?site=infusion-center")  # today: patients with doses, some not booked tomorrow
    today = {row.get_attribute("data-mrn") for row in page.locator("#appointments tbody tr[data-mrn]").all()}
    page.goto(f"/schedule/?site=infusion-center&date={tomorrow.isoformat()}")
    boxes = page.locator("#gantt g.appt-box")
    expect(boxes).to_have_count(10)
    for picture in ("#occupancy", "#nurse-load", "#pharmacy"):
        expect(page.locator(picture)).to_be_visible()
    booked = {row.get_attribute("data-mrn") for row in page.locator("#appointments tbody tr[data-mrn]").all()}
    mrn = sorted(today - booked)[0]  # the patient has no visit tomorrow yet

    form = page.locator("#find-slots")
    form.get_by_label("Patient MRN").fill(mrn)
    form.get_by_label("Minutes in chair").fill("90")
    form.get_by_label("Can come from").fill("09:00")
    form.get_by_label("until").fill("14:00")
    form.get_by_role("button", name="Find the best slots").click()
    offers = page.locator("#offers tr.offer")
    expect(offers.first).to_be_visible()
    come_at = offers.first.locator("td").first.inner_text()
    offers.first.get_by_role("button").click()

    expect(page.locator("p.ok")).to_contain_text(f"Booked {mrn}")
    expect(page.locator("p.ok")).to_contain_text("re-planned")
    expect(boxes).to_have_count(11)
    added = page.locator("#appointments tbody tr", has_text="(add-on)")
    expect(added).to_have_count(1)
    expect(added.locator("td").first).to_have_text(come_at)  # the time offered is the time booked

    chair = page.locator("#appointments tbody tr").first.locator("td").nth(2).inner_text()
    out = page.locator("#chair-out")
    out.get_by_label("Chair").select_option(chair)
    out.get_by_label("from").fill("07:00")
    out.get_by_label("until").fill("19:00")
    out.get_by_label("Why").fill("recliner broken")
    out.get_by_role("button", name="Take out and re-plan").click()
    expect(page.locator("p.ok")).to_contain_text(f"Chair {chair} is out of service")
    expect(page.locator("#gantt rect.outage")).to_have_count(1)
    expect(page.locator("#appointments tbody tr td:nth-child(3)", has_text=chair)).to_have_count(0)
