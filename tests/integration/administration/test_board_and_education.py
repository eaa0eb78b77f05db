"""The chair board shows each of today's doses at its stage (verified → compounding → ready →
dispensed → infusing → done) and flags the late ones; the education leaflet is printed for the
patient by name, and what was taught is recorded (home-infusion skills from a closed list)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from tests.integration.administration.conftest import (
    SOON,
    at_bedside,
    dispense,
    post,
    program,
    ran_for,
    verified_order,
)
from tests.integration.compounding.conftest import D5W_250, OXALIPLATIN_100

from openinfusion.administration import services
from openinfusion.administration.models import EducationRecord
from openinfusion.audit.models import AuditEvent
from openinfusion.compounding import services as compounding

pytestmark = pytest.mark.django_db

BASE = "/api/v1/administration"


def board(client, *orders) -> dict[int, dict]:
    """The board rows of these orders, asked for on each day (the site's calendar) they are planned."""
    rows: dict[int, dict] = {}
    for day in {o.planned_start.astimezone(o.patient.site.zone).date() for o in orders}:
        response = client.get(f"{BASE}/chair-board", {"day": day.isoformat()})
        assert response.status_code == 200, response.content
        rows |= {row["order_id"]: row for row in response.json()}
    return rows


def test_the_chair_board_follows_each_dose_along_its_path(
    patient, prescriber, pharmacist, technician, nurse, pump, make_checked, receive, hazardous_room, client_for
):
    receive(OXALIPLATIN_100, "OX-100-B", hazardous_room, quantity=8)
    receive(D5W_250, "D5-250-B", hazardous_room, quantity=4)
    waiting = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(hours=1))
    late = verified_order(patient, prescriber, pharmacist, starts_in=-dt.timedelta(minutes=20))
    mixing = verified_order(patient, prescriber, pharmacist, starts_in=SOON)
    compounding.start_preparation(compounding.plan_preparation(mixing.pk, actor=pharmacist).pk, actor=technician)
    ready = make_checked()
    sent = make_checked()
    dispense(sent, technician, "chair", "Chair 05")
    infusing = make_checked()
    running = at_bedside(infusing, nurse, technician)
    program(running, nurse, pump)
    services.start_administration(running.pk, actor=nurse)
    given = make_checked(starts_in=-dt.timedelta(minutes=10))
    finished = at_bedside(given, nurse, technician)
    program(finished, nurse, pump)
    services.start_administration(finished.pk, actor=nurse)
    ran_for(finished, 150)
    services.end_administration(
        finished.pk, actor=nurse, volume_infused_ml=Decimal("280.6"), waste_disposal="yellow hazardous bin"
    )

    orders = [waiting, late, mixing, ready.order, sent.order, infusing.order, given.order]
    rows = board(client_for(nurse), *orders)
    seen = {o.pk: (rows[o.pk]["stage"], rows[o.pk]["delayed"]) for o in orders}
    assert seen == {
        waiting.pk: ("verified", False),
        late.pk: ("verified", True),
        mixing.pk: ("compounding", False),
        ready.order_id: ("ready", False),
        sent.order_id: ("dispensed", False),
        infusing.order_id: ("infusing", False),
        given.order_id: ("done", False),  # started late but given: not delayed
    }
    assert rows[sent.order_id]["place"] == "Chair 05"
    assert rows[waiting.pk]["place"] == "not yet placed"
    assert rows[ready.order_id]["patient"].startswith("HUGHES")
    assert not any(row["waits_for_release"] for row in rows.values())
    screen = client_for(nurse).get("/administration/").content.decode()
    for record in (running, finished):  # every dose under way or given links to its infusion record
        assert f'href="/administration/infusions/{record.pk}/"' in screen
    sent_row = screen[screen.index(f'data-order="{sent.order_id}"') :].split("</tr>")[0]
    # dispensed, not yet scanned: the bedside scan of this dose
    assert f'href="/administration/bedside/?order={sent.order_id}"' in sent_row
    dispensed = sent.dispenses.get()
    assert f'action="/administration/dispenses/{dispensed.pk}/receive"' in sent_row  # the nurse signs for it here
    body = {"board": "1"} | ({"temperature_c": "5"} if dispensed.cold_chain else {})
    answer = client_for(nurse).post(f"/administration/dispenses/{dispensed.pk}/receive", body)
    assert answer.status_code == 302 and answer["Location"] == "/administration/"
    screen = client_for(nurse).get("/administration/").content.decode()
    sent_row = screen[screen.index(f'data-order="{sent.order_id}"') :].split("</tr>")[0]
    assert "received" in sent_row and "/receive" not in sent_row
    assert AuditEvent.objects.filter(action="administration:dispense:received", actor=nurse).count() == 1


def test_the_board_only_shows_the_viewers_sites(order, make_user, other_site, client_for, prescriber):
    south = client_for(make_user("south-nurse", "nurse", sites=("south",)))
    assert order.pk not in board(south, order)
    assert client_for(prescriber).get(f"{BASE}/chair-board").status_code == 403


# --- education ----------------------------------------------------------------------------------------


def test_the_education_leaflet_is_printed_for_the_patient(order, patient, nurse, client_for):
    response = client_for(nurse).get(f"{BASE}/patients/{patient.pk}/education.pdf")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Grace Hughes" in text
    assert "oxaliplatin" in text.lower()


def test_an_unknown_leaflet_or_another_sites_patient_is_not_found(
    order, patient, nurse, make_user, other_site, client_for
):
    unknown = client_for(nurse).get(f"{BASE}/patients/{patient.pk}/education.pdf", {"leaflet": "no-such-leaflet"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "UNKNOWN_LEAFLET"
    south = client_for(make_user("south-nurse", "nurse", sites=("south",)))
    assert south.get(f"{BASE}/patients/{patient.pk}/education.pdf").status_code == 404


def test_teaching_is_recorded_with_its_teach_back_and_skills(patient, nurse, technician, client_for):
    client = client_for(nurse)
    path = f"{BASE}/patients/{patient.pk}/education"
    taught = {
        "leaflet": "oxaliplatin",
        "recipient": "caregiver",
        "topics": ["cold sensitivity", "when to call"],
        "teach_back": True,
    }
    juggling = post(client, path, {**taught, "skills": ["flush the line", "juggling"]})
    assert juggling.status_code == 422 and juggling.json()["code"] == "INVALID_INPUT"
    no_topics = post(client, path, {**taught, "topics": ["  "]})
    assert no_topics.status_code == 422
    nobody = post(client, path, {**taught, "recipient": "neighbour"})
    assert nobody.status_code == 422
    unknown = post(client, path, {**taught, "leaflet": "no-such-leaflet"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "UNKNOWN_LEAFLET"
    assert not EducationRecord.objects.exists()

    shown = ["connect and disconnect", "flush the line", "respond to pump alarms"]
    response = post(client, path, {**taught, "skills": shown})
    assert response.status_code == 201, response.content
    assert (response.json()["recipient"], response.json()["teach_back"], response.json()["skills"]) == (
        "caregiver",
        True,
        shown,
    )
    entry = EducationRecord.objects.get()
    assert (entry.by, entry.topics) == (nurse, ["cold sensitivity", "when to call"])
    assert AuditEvent.objects.filter(action="administration:education:recorded", patient_id=patient.pk).count() == 1
    assert post(client_for(technician), path, {**taught, "skills": shown}).status_code == 403
    assert EducationRecord.objects.count() == 1
