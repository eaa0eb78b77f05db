"""The infusion record: the pump programmed as prescribed (±5 %), started, vitals in °C, a
reaction graded 1–5, rate changes and pauses, and the end with what was really given — a partial
dose needs its reason, and the next order's lifetime totals count what was given."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.integration.administration.conftest import (
    DOXORUBICIN,
    at_bedside,
    dispense,
    post,
    program,
    refused_events,
    verified_order,
)

from openinfusion.administration import services
from openinfusion.administration.models import Administration, Dispense, Pump, RateChange, Reaction, Vitals
from openinfusion.audit.models import AuditEvent
from openinfusion.errors import DomainError
from openinfusion.orders import facts, rules
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/administration"
GOOD_VITALS = {
    "systolic": 124,
    "diastolic": 78,
    "heart_rate": 76,
    "temperature_c": "36.8",
    "spo2": 98,
    "respiratory_rate": 14,
}


def refused(code: str, run) -> DomainError:
    with pytest.raises(DomainError) as error:
        run()
    assert error.value.code == code, error.value.message
    return error.value


def fresh(administration) -> Administration:
    return Administration.objects.get(pk=administration.pk)


# --- the pump ----------------------------------------------------------------------------------------


def test_a_pump_programmed_off_the_prescription_is_refused_then_programmed_right(
    checked, nurse, technician, pump, other_site
):
    administration = at_bedside(checked, nurse, technician)
    rate, volume = Decimal(checked.plan["rate_ml_h"]), Decimal(checked.plan["final_volume_ml"])
    assert (rate, volume) == (Decimal("140.3"), Decimal("280.6"))

    refused("PUMP_NOT_PROGRAMMED", lambda: services.start_administration(administration.pk, actor=nurse))
    error = refused("RATE_MISMATCH", lambda: program(administration, nurse, pump, rate=Decimal("14.03")))
    assert "140.3 mL/h" in error.message
    refused("RATE_MISMATCH", lambda: program(administration, nurse, pump, rate=rate * Decimal("1.06")))
    refused("RATE_MISMATCH", lambda: program(administration, nurse, pump, volume=Decimal(250)))
    refused(
        "UNKNOWN_PUMP",
        lambda: services.record_pump_program(
            administration.pk, actor=nurse, pump_serial="PMP-0000", rate_ml_h=rate, volume_ml=volume
        ),
    )
    elsewhere = Pump.objects.create(site=other_site, serial="PMP-SOUTH", model="Sapphire infusion pump")
    refused(  # another site's pump is not this nurse's to program
        "UNKNOWN_PUMP",
        lambda: services.record_pump_program(
            administration.pk, actor=nurse, pump_serial=elsewhere.serial, rate_ml_h=rate, volume_ml=volume
        ),
    )
    unchanged = fresh(administration)
    assert (unchanged.pump_id, unchanged.rate_ml_h, unchanged.volume_ml, unchanged.status) == (
        None,
        None,
        None,
        "verified",
    )
    assert [r.split(":")[0].split()[0] for r in refused_events("administration:infusion:program")] == [
        "RATE_MISMATCH",
        "RATE_MISMATCH",
        "RATE_MISMATCH",
        "UNKNOWN_PUMP",
        "UNKNOWN_PUMP",
    ]

    within = program(administration, nurse, pump, rate=rate * Decimal("1.04"))  # inside ±5 %
    assert (within.pump, within.volume_ml) == (pump, volume)
    assert AuditEvent.objects.filter(action="administration:infusion:programmed").count() == 1
    assert services.start_administration(administration.pk, actor=nurse).status == "infusing"
    refused("WRONG_STATE", lambda: program(administration, nurse, pump))


# --- a whole infusion through the API ---------------------------------------------------------------


def test_a_whole_infusion_with_a_reaction_and_a_slower_rate(checked, nurse, technician, pump, client_for, clock):
    dispense(checked, technician)
    client = client_for(nurse)
    verified = post(
        client,
        f"{BASE}/administrations",
        {"wristband": "MRN-2001", "label": checked.barcode, "order_id": checked.order_id},
    )
    assert verified.status_code == 201, verified.content
    at = f"{BASE}/administrations/{verified.json()['id']}"
    rate, volume = checked.plan["rate_ml_h"], checked.plan["final_volume_ml"]

    programmed = post(client, f"{at}/pump", {"pump_serial": pump.serial, "rate_ml_h": rate, "volume_ml": volume})
    assert programmed.status_code == 200 and programmed.json()["pump"] == "PMP-1001"
    started = post(client, f"{at}/start")
    assert started.status_code == 200 and started.json()["status"] == "infusing"
    assert started.json()["started_at"]
    assert Order.objects.get(pk=checked.order_id).status == "administering"

    fahrenheit = post(client, f"{at}/vitals", {**GOOD_VITALS, "temperature_c": "98.6"})
    assert fahrenheit.status_code == 422 and fahrenheit.json()["code"] == "IMPLAUSIBLE_VITALS"
    assert "°F" in fahrenheit.json()["message"]
    low_pressure = post(client, f"{at}/vitals", {**GOOD_VITALS, "systolic": 12})
    assert low_pressure.json()["code"] == "IMPLAUSIBLE_VITALS"
    assert not Vitals.objects.exists()
    assert post(client, f"{at}/vitals", GOOD_VITALS).status_code == 200
    assert Vitals.objects.get().temperature_c == Decimal("36.8")

    grade_6 = post(client, f"{at}/reactions", {"grade": 6, "symptoms": "flushing"})
    assert grade_6.status_code == 422 and grade_6.json()["code"] == "INVALID_INPUT"
    reaction = post(
        client,
        f"{at}/reactions",
        {
            "grade": 2,
            "symptoms": "flushing, chest tightness",
            "actions": "infusion paused, then slowed to half rate",
            "medicines_given": "diphenhydramine 25 mg IV",
            "outcome": "resolved in 15 minutes",
        },
    )
    assert reaction.status_code == 200, reaction.content
    assert Reaction.objects.get().grade == 2

    no_reason = post(client, f"{at}/rate", {"rate_ml_h": "0", "reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "REASON_REQUIRED"
    paused = post(client, f"{at}/rate", {"rate_ml_h": "0", "reason": "grade 2 reaction: pause"})
    assert paused.json()["status"] == "paused" and Decimal(paused.json()["rate_ml_h"]) == Decimal(rate)
    slower = post(client, f"{at}/rate", {"rate_ml_h": "70", "reason": "restart at half rate after the reaction"})
    assert slower.json()["status"] == "infusing" and Decimal(slower.json()["rate_ml_h"]) == Decimal(70)
    assert list(RateChange.objects.values_list("rate_ml_h", flat=True)) == [Decimal(0), Decimal(70)]

    at_once = post(client, f"{at}/end", {"volume_infused_ml": volume, "waste_disposal": "yellow hazardous bin"})
    assert at_once.status_code == 422 and at_once.json()["code"] == "END_TIME_IMPLAUSIBLE"
    assert "Give the time the infusion really ended" in at_once.json()["message"]
    clock.shift(dt.timedelta(hours=4))  # the bag runs its course at the slower rate
    client = client_for(nurse)  # four hours on, the idle session has ended: the nurse signs in again
    no_disposal = post(client, f"{at}/end", {"volume_infused_ml": volume})
    assert no_disposal.status_code == 422 and no_disposal.json()["code"] == "DISPOSAL_REQUIRED"
    too_much = post(client, f"{at}/end", {"volume_infused_ml": "400", "waste_disposal": "yellow hazardous bin"})
    assert too_much.json()["code"] == "INVALID_INPUT"
    assert Order.objects.get(pk=checked.order_id).status == "administering"
    ended = post(client, f"{at}/end", {"volume_infused_ml": volume, "waste_disposal": "yellow hazardous bin"})
    assert ended.status_code == 200, ended.content
    body = ended.json()
    assert (body["status"], body["partial"], Decimal(body["amount_given"])) == ("ended", False, Decimal(153))
    assert body["ended_at"]

    order = Order.objects.get(pk=checked.order_id)
    assert (order.status, order.given_dose) == ("administered", Decimal(153))
    assert Dispense.objects.get(preparation=checked).status == "administered"
    assert Administration.objects.get().waste_disposal == "yellow hazardous bin"
    assert post(client, f"{at}/vitals", GOOD_VITALS).json()["code"] == "WRONG_STATE"
    assert post(client, f"{at}/rate", {"rate_ml_h": "10", "reason": "again"}).json()["code"] == "WRONG_STATE"
    assert post(client, f"{at}/end", {"volume_infused_ml": "1"}).json()["code"] == "WRONG_STATE"
    again = post(
        client,
        f"{BASE}/administrations",
        {"wristband": "MRN-2001", "label": checked.barcode, "order_id": checked.order_id},
    )
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_ADMINISTERED"
    for action in (
        "administration:infusion:started",
        "administration:infusion:vitals_recorded",
        "administration:infusion:reaction_recorded",
        "administration:infusion:ended",
    ):
        assert AuditEvent.objects.filter(action=action).count() == 1, action
    assert AuditEvent.objects.filter(action="administration:infusion:rate_changed").count() == 2


def test_a_dose_given_in_full_within_95_percent_is_not_partial(
    checked_room_temperature, nurse, technician, pump, clock
):
    administration = at_bedside(checked_room_temperature, nurse, technician)
    program(administration, nurse, pump)
    services.start_administration(administration.pk, actor=nurse)
    clock.shift(dt.timedelta(hours=2))
    ended = services.end_administration(
        administration.pk, actor=nurse, volume_infused_ml=Decimal(270), waste_disposal="hazardous bin"
    )  # 270 of 280 mL
    assert (ended.partial, ended.amount_given) == (False, Decimal("289.29"))
    assert Order.objects.get(pk=checked_room_temperature.order_id).given_dose == Decimal("289.29")


def test_an_end_time_must_lie_between_start_and_now_and_fit_the_pump_rate(
    checked_room_temperature, nurse, technician, pump, clock
):
    """A bag of V mL at R mL/h cannot finish in less than V / (R × 1.05) h: an end in the same
    minute as the start with the full volume is a slip of the clock, and the nurse is asked for
    the real time; the real time, typed afterwards, is kept."""
    preparation = checked_room_temperature
    administration = at_bedside(preparation, nurse, technician)
    program(administration, nurse, pump)
    services.start_administration(administration.pk, actor=nurse)
    clock.shift(dt.timedelta(hours=3))
    started = fresh(administration).started_at
    volume, minutes = Decimal(preparation.plan["final_volume_ml"]), int(preparation.plan["duration_minutes"])

    def end(at: dt.datetime):
        return lambda: services.end_administration(
            administration.pk, actor=nurse, volume_infused_ml=volume, waste_disposal="bin", ended_at=at
        )

    for wrong in (
        started - dt.timedelta(minutes=1),
        started + dt.timedelta(hours=4),
        started + dt.timedelta(minutes=1),
    ):
        error = refused("END_TIME_IMPLAUSIBLE", end(wrong))
        assert "Give the time the infusion really ended" in error.message
    assert fresh(administration).status == "infusing"
    error = refused("INVALID_INPUT", end(started.replace(tzinfo=None) + dt.timedelta(minutes=minutes)))
    assert "with its zone" in error.message
    reasons = refused_events("administration:infusion:end")
    assert [r.split(":")[0] for r in reasons] == ["END_TIME_IMPLAUSIBLE"] * 3 + ["INVALID_INPUT"]
    real = started + dt.timedelta(minutes=minutes)
    ended = end(real)()
    assert (ended.status, ended.ended_at, ended.partial) == ("ended", real, False)


# --- a partial dose and the lifetime total ----------------------------------------------------------


@pytest.fixture
def doxorubicin(make_checked, receive, hazardous_room):
    """Doxorubicin 60 mg/m² × 1.80 m² = 108 mg in NaCl 250 mL over 15 min (lifetime limit 450 mg/m²)."""
    for n, ndc in enumerate(DOXORUBICIN):
        receive(ndc, f"DX-{n}", hazardous_room, quantity=4)
    return make_checked(drug="doxorubicin", dose="60 mg/m2", diluent="sodium-chloride-0.9", duration_minutes=15)


def test_a_partial_dose_needs_a_reason_and_counts_as_given(
    doxorubicin, nurse, technician, pump, patient, prescriber, pharmacist, clock
):
    assert doxorubicin.order.dose == Decimal(108)
    administration = at_bedside(doxorubicin, nurse, technician)
    program(administration, nurse, pump)
    services.start_administration(administration.pk, actor=nurse)
    clock.shift(dt.timedelta(minutes=10))
    half = Decimal(doxorubicin.plan["final_volume_ml"]) / 2

    refused(
        "REASON_REQUIRED",
        lambda: services.end_administration(
            administration.pk, actor=nurse, volume_infused_ml=half, waste_disposal="hazardous bin"
        ),
    )
    assert fresh(administration).status == "infusing"
    assert Order.objects.get(pk=doxorubicin.order_id).given_dose is None

    ended = services.end_administration(
        administration.pk,
        actor=nurse,
        volume_infused_ml=half,
        reason="extravasation suspected: stopped",
        waste_disposal="yellow hazardous bin",
    )
    assert (ended.partial, ended.amount_given, ended.end_reason) == (
        True,
        Decimal(54),
        "extravasation suspected: stopped",
    )
    order = Order.objects.get(pk=doxorubicin.order_id)
    assert (order.status, order.given_dose) == ("administered", Decimal(54))
    assert "partial dose" in order.status_reason

    # the next cycle: the lifetime total counts the 54 mg given (30 mg/m²), not the 108 mg ordered
    following = verified_order(patient, prescriber, pharmacist, drug="doxorubicin", dose="60 mg/m2", diluent=None)
    order_facts = facts.order_facts(following)
    total = rules.cumulative_total(order_facts, rules.check(order_facts).calculation)
    assert total is not None
    assert (total.before.value, total.next_dose.value, total.after.value, total.limit.value) == (
        Decimal(30),
        Decimal(60),
        Decimal(90),
        Decimal(450),
    )


# --- separation of duties and sites ------------------------------------------------------------------


def test_a_technician_cannot_run_an_infusion(checked, nurse, technician, pump, client_for):
    administration = at_bedside(checked, nurse, technician)
    client = client_for(technician)
    at = f"{BASE}/administrations/{administration.pk}"
    plan = checked.plan
    assert (
        post(client, f"{at}/pump", {"pump_serial": pump.serial, "rate_ml_h": plan["rate_ml_h"], "volume_ml": "1"})
    ).status_code == 403
    for path, body in (("start", {}), ("vitals", GOOD_VITALS), ("end", {"volume_infused_ml": "1"})):
        assert post(client, f"{at}/{path}", body).status_code == 403, path
    assert fresh(administration).status == "verified"


def test_another_sites_infusion_is_not_found(checked, nurse, technician, pump, make_user, other_site, client_for):
    administration = at_bedside(checked, nurse, technician)
    program(administration, nurse, pump)
    south = client_for(make_user("south-nurse", "nurse", sites=("south",)))
    at = f"{BASE}/administrations/{administration.pk}"
    plan = checked.plan
    for path, body in (
        ("pump", {"pump_serial": pump.serial, "rate_ml_h": plan["rate_ml_h"], "volume_ml": plan["final_volume_ml"]}),
        ("start", {}),
        ("vitals", GOOD_VITALS),
        ("reactions", {"grade": 1, "symptoms": "itch"}),
        ("rate", {"rate_ml_h": "10", "reason": "slow"}),
        ("end", {"volume_infused_ml": "1", "reason": "stop", "waste_disposal": "bin"}),
    ):
        response = post(south, f"{at}/{path}", body)
        assert response.status_code == 404, (path, response.content)
        assert response.json()["code"] == "UNKNOWN_ADMINISTRATION"
    unchanged = fresh(administration)
    assert (unchanged.status, unchanged.started_at) == ("verified", None)
    assert not Vitals.objects.exists() and not Reaction.objects.exists()
