"""Privacy across sites in the audit trail (issue 15): every event about a patient or a site's record
carries its site, refusals too, and a person of another site sees none of them — on the report
screen, in the CSV export, in the API list and by id (404).

One dose is carried through the services at North (ordered, verified, compounded, final-checked,
dispensed, handed off, received, a wrong-patient scan refused, checked at the bedside, the pump
programmed, started, vitals, a rate change, a reaction, ended, refused vitals), then South's
pharmacist and quality user look. A static check covers every ``record()`` and ``@audited`` in
the source, so a new audit tag cannot skip its site.
"""

from __future__ import annotations

import ast
import csv
import io
import pathlib
from decimal import Decimal

import pytest
from django.apps import apps
from tests.integration.administration.conftest import (
    approve,
    clean_room,
    dispense,
    formulary,
    hazardous_room,
    nurse,
    order,
    patient,
    prescriber,
    program,
    pump,
    ran_for,
    receive,
    site,
    stock_keeper,
    stocked,
    technician,
)

from openinfusion.audit.models import AuditEvent
from openinfusion.audit.services import record
from openinfusion.errors import DomainError

pytestmark = pytest.mark.django_db

FIXTURES = (clean_room, formulary, hazardous_room, nurse, order, patient, prescriber, pump, receive, site)
FIXTURES += (stock_keeper, stocked, technician)
SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "openinfusion"
DEPLOYMENT_WIDE = ("accounts/", "formulary/importer.py", "orders/library.py", "compounding/recipes.py")
"""Where events belong to no site: people, sign-ins, tokens, the formulary and regimen libraries,
recipes; and inventory lots (a lot is shared by every site's stock)."""


@pytest.fixture
def north_day(order, technician, pharmacist, nurse, pump, stocked):
    """One dose through every administration service at North, with refusals on the way."""
    from openinfusion.administration import services

    preparation = approve(order, technician, pharmacist)
    handed = dispense(preparation, technician, destination="ward", place="Ward 4 bed 2")
    services.record_handoff(handed.pk, actor=technician, temperature_c="5")
    services.receive_dispense(handed.pk, actor=nurse, temperature_c="5")
    with pytest.raises(DomainError, match="WRONG PATIENT"):
        services.bedside_verify(
            actor=nurse, wristband="MRN-9999", label=preparation.barcode, order_id=preparation.order_id
        )
    administration = services.bedside_verify(
        actor=nurse, wristband=order.patient.mrn, label=preparation.barcode, order_id=order.pk
    )
    program(administration, nurse, pump)
    services.start_administration(administration.pk, actor=nurse)
    vitals = {"systolic": 120, "diastolic": 80, "heart_rate": 70, "temperature_c": "36.8", "spo2": 98}
    services.record_vitals(administration.pk, actor=nurse, respiratory_rate=14, **vitals)
    with pytest.raises(DomainError):
        services.record_vitals(administration.pk, actor=nurse, respiratory_rate=14, **{**vitals, "temperature_c": 98})
    rate = Decimal(preparation.plan["rate_ml_h"])
    services.change_rate(administration.pk, actor=nurse, rate_ml_h=rate / 2, reason="flushing")
    services.record_reaction(administration.pk, actor=nurse, grade=1, symptoms="mild flushing")
    ran_for(administration, 240)
    services.end_administration(
        administration.pk,
        actor=nurse,
        volume_infused_ml=Decimal(preparation.plan["final_volume_ml"]),
        waste_disposal="yellow hazardous bin",
    )
    return order.patient


@pytest.fixture
def south_people(make_user, other_site):
    return make_user("south-pharmacist", "pharmacist", sites=("south",)), make_user(
        "south-quality", "quality", sites=("south",)
    )


def _site_owned(entity_type: str) -> bool:
    try:
        model = apps.get_model(entity_type)
    except (LookupError, ValueError):
        return False
    return any(f.name == "site" for f in model._meta.concrete_fields)


def test_every_event_about_a_patient_or_a_sites_record_carries_its_site(north_day, site):
    events = list(AuditEvent.objects.all())
    assert {e.action for e in events} >= {"administration:bedside:verified", "administration:infusion:ended"}
    missing = sorted(
        {
            f"{e.action} ({e.outcome})"
            for e in events
            if e.site_id is None
            and (e.patient_id or _site_owned(e.entity_type) or e.entity_type.startswith("administration."))
        }
    )
    assert missing == []
    refused = [e for e in events if e.outcome == "refused" and e.actor_id is not None]
    assert {e.action for e in refused} >= {"administration:bedside:verify", "administration:infusion:vitals"}
    assert [e.action for e in refused if e.site_id != site.pk] == []


def test_another_sites_people_see_none_of_its_patient_events(north_day, south_people, client_for):
    north = AuditEvent.objects.filter(site__code="north")
    patient_ids = set(north.exclude(patient_id="").values_list("patient_id", flat=True))
    assert patient_ids == {str(north_day.pk)}
    name = str(north_day).split(",")[0]
    for person in south_people:
        client = client_for(person)
        listed = client.get("/api/v1/audit/events?limit=1000").json()
        assert [e["id"] for e in listed if e["site"] not in (None, "south") or e["patient_id"]] == []
        assert not [e for e in listed if name in e["reason"]]
        one_per_action = dict(north.values_list("action", "pk"))
        assert [
            a for a, pk in one_per_action.items() if client.get(f"/api/v1/audit/events/{pk}").status_code != 404
        ] == []
        page = client.get("/audit/?action=administration:").content.decode()
        assert name not in page and north_day.mrn not in page
        assert "No events match" in client.get(f"/audit/?patient={north_day.pk}").content.decode()
    quality = south_people[1]
    export = client_for(quality).get("/audit/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [r["id"] for r in rows if r["site"] not in ("", "south") or r["patient_id"] or name in r["reason"]] == []


def test_the_sites_own_quality_user_still_sees_the_refusal_naming_the_patient(north_day, make_user, client_for):
    quality = make_user("north-quality", "quality")
    listed = client_for(quality).get("/api/v1/audit/events?action=administration:bedside&limit=100").json()
    refused = [e for e in listed if e["outcome"] == "refused"]
    assert refused and refused[0]["site"] == "north" and str(north_day).split(",")[0] in refused[0]["reason"]


def test_site_less_events_are_shown_only_to_admins_and_quality(site, pharmacist, quality, client_for):
    from django.db import transaction

    with transaction.atomic():
        sign_in = record("tests:session:signed_in", actor=pharmacist)
    assert client_for(quality).get(f"/api/v1/audit/events/{sign_in.pk}").status_code == 200
    assert client_for(pharmacist).get(f"/api/v1/audit/events/{sign_in.pk}").status_code == 404


def test_record_refuses_a_patient_or_site_record_event_without_its_site(site, pharmacist):
    from openinfusion.audit.services import SiteMissing

    with pytest.raises(SiteMissing):
        record("tests:dose:changed", actor=pharmacist, patient_id="P-1")
    with pytest.raises(SiteMissing):
        record("tests:site:changed", actor=pharmacist, entity=site.patients.model(site=site, mrn="X"))
    assert record("tests:dose:changed", actor=pharmacist, patient_id="P-1", site=site).site_id == site.pk


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(("audit/", "bench/")) or "/migrations/" in relative:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name:
                found.append((f"{relative}:{node.lineno}", node))
    return found


def test_every_patient_audit_tag_in_the_source_passes_its_site():
    """Every ``record(...)`` with a patient passes ``site=``; every ``@audited`` outside the
    deployment-wide areas names the site its refusals are filed at (``site_of=``)."""
    keywords = {where: {k.arg for k in call.keywords} for where, call in _calls("record")}
    assert [w for w, k in keywords.items() if "patient_id" in k and "site" not in k] == []
    inventory = ("inventory/",)  # stock refusals name lots and rooms, never a patient
    jobs = {"compounding:open_vials:expire"}  # the worker's sweep over every site: refusals name no patient
    audited = {
        where: (ast.literal_eval(call.args[0]), {k.arg for k in call.keywords}) for where, call in _calls("audited")
    }
    assert [
        f"{where} {tag}"
        for where, (tag, k) in audited.items()
        if "site_of" not in k and not where.startswith(DEPLOYMENT_WIDE + inventory) and tag not in jobs
    ] == []
