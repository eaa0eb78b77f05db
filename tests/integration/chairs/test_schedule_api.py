"""The schedule over the JSON API: read the day, plan it, ask for best slots, book, record events;
refusals come back as problem details and change nothing; other sites' days answer 404."""

from __future__ import annotations

import datetime as dt

from tests.integration.chairs.conftest import visit

BASE = "/api/v1/schedule"


def test_plan_offer_book_and_arrive_over_the_api(centre, day, patients, scheduler, client_for):
    for p in patients[1:]:
        visit(centre, p, day, earliest=dt.time(8), latest=dt.time(10), minutes=90)
    api = client_for(scheduler)
    planned = api.post(f"{BASE}/days/{centre.code}/{day}/plan?time_limit=1")
    assert planned.status_code == 200, planned.content
    body = planned.json()
    assert body["status"] in {"OPTIMAL", "FEASIBLE", "HINT"} and len(body["appointments"]) == 5
    assert all(a["planned_start"] and a["chair"] and a["planned_arrival"] for a in body["appointments"])
    assert body["baseline"]["mean_wait"] is not None

    offers = api.get(
        f"{BASE}/days/{centre.code}/{day}/offers",
        {"earliest": "10:00", "latest": "14:00", "duration_minutes": 60},
    )
    assert offers.status_code == 200 and offers.json()
    best = offers.json()[0]
    booking = {
        "site": centre.code,
        "mrn": patients[0].mrn,
        "date": day.isoformat(),
        "earliest": best["arrival"],
        "latest": best["arrival"],
        "duration_minutes": 60,
    }
    booked = api.post(f"{BASE}/appointments", booking, content_type="application/json")
    assert booked.status_code == 201, booked.content
    assert booked.json()["add_on"] and booked.json()["chair"]

    twice = api.post(f"{BASE}/appointments", booking, content_type="application/json")
    assert twice.status_code == 409 and twice.json()["code"] == "ALREADY_BOOKED"  # a double click books once

    appointment_id = body["appointments"][0]["id"]
    early = api.post(f"{BASE}/appointments/{appointment_id}/arrive")  # the visit is tomorrow
    assert early.status_code == 409 and early.json()["code"] == "NOT_TODAY"
    assert api.get(f"{BASE}/days/{centre.code}/{day}").json()["appointments"][0]["status"] == "booked"


def test_a_move_that_cannot_fit_is_refused_over_the_api_and_nothing_moves(centre, day, patient, scheduler, client_for):
    from openinfusion.chairs.services import plan_day

    a = visit(centre, patient, day)
    plan_day(centre.pk, day, actor=scheduler, time_limit=1)
    a.refresh_from_db()
    refused = client_for(scheduler).post(
        f"{BASE}/appointments/{a.pk}/move", {"earliest": "20:00", "latest": "21:00"}, content_type="application/json"
    )
    assert refused.status_code == 409 and refused.json()["code"] == "NO_FEASIBLE_PLAN"
    before = (a.earliest, a.planned_start)
    a.refresh_from_db()
    assert (a.earliest, a.planned_start) == before


def test_other_sites_days_are_not_found_and_nurses_cannot_book(centre, day, other_site, make_user, nurse, client_for):
    south = client_for(make_user("south-scheduler", "scheduler", sites=("south",)))
    assert south.get(f"{BASE}/days/{centre.code}/{day}").status_code == 404
    assert client_for(nurse).get(f"{BASE}/days/{centre.code}/{day}").status_code == 200
    form = {"site": centre.code, "mrn": "x", "date": day.isoformat(), "earliest": "09:00", "latest": "10:00"}
    response = client_for(nurse).post(
        f"{BASE}/appointments", {**form, "duration_minutes": 30}, content_type="application/json"
    )
    assert response.status_code == 403
