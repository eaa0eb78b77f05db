"""The bedside holes of issue 14, each a hard stop kept as a near miss (or, for a BUD that ends
before the infusion could, a visible warning): a rate changed after the check, an infusion without a
prescribed rate or without a pump program, a bag started after its beyond-use time, the other of
two bags due at once, and a verified order or a checked preparation changed after its signature.
Each is checked through the service, the API and the nurse's screens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.administration.conftest import (
    DOXORUBICIN,
    SOON,
    approve,
    at_bedside,
    dispense,
    post,
    program,
    refused_events,
)
from tests.integration.compounding.conftest import PASSWORD

from openinfusion.administration import services
from openinfusion.administration.models import Administration, Dispense, NearMiss, RateChange
from openinfusion.audit.models import AuditEvent
from openinfusion.compounding.models import Preparation, StepRecord
from openinfusion.errors import DomainError
from openinfusion.formulary.models import Drug
from openinfusion.orders import services as orders
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/administration"
CARBOPLATIN = {"drug": "carboplatin", "dose": "300 mg"}
"""Carboplatin 300 mg in D5W 250 mL (280 mL): room temperature, so its BUD is 8 h after it is made."""
NEAR_BUD = dt.timedelta(hours=7, minutes=45)
"""Due 15 minutes before the carboplatin bag's BUD: a 30-minute infusion would end after it."""


def state() -> dict[str, Any]:
    """What a refusal must leave as it was (a near miss and a refused audit event aside)."""
    return {
        "administrations": sorted(
            Administration.objects.values_list("pk", "status", "pump_id", "rate_ml_h", "started_at")
        ),
        "rate_changes": RateChange.objects.count(),
        "dispenses": sorted(Dispense.objects.values_list("pk", "status")),
        "orders": sorted(Order.objects.values_list("pk", "status", "version")),
        "events": AuditEvent.objects.exclude(outcome="refused").count(),
    }


def refused_as_near_miss(code: str, run: Callable[[], object], action: str) -> DomainError:
    """``run`` is refused with ``code``, changes nothing and leaves one near miss and one refused event."""
    before, misses = state(), NearMiss.objects.count()
    with pytest.raises(DomainError) as error:
        run()
    assert error.value.code == code, error.value.message
    assert state() == before
    assert NearMiss.objects.count() == misses + 1
    miss = NearMiss.objects.order_by("-pk").first()
    assert miss is not None and (miss.code, miss.message) == (code, error.value.message)
    assert refused_events(action)[-1].startswith(code)
    return error.value


def running(preparation: Preparation, nurse, technician, pump) -> Administration:
    administration = at_bedside(preparation, nurse, technician)
    program(administration, nurse, pump)
    return services.start_administration(administration.pk, actor=nurse)


def fresh(administration: Administration) -> Administration:
    return Administration.objects.get(pk=administration.pk)


def screen(client, administration: Administration, **form: str):
    """Post a form of the infusion record screen and follow it back to the screen."""
    return client.post(f"/administration/infusions/{administration.pk}/", form, follow=True)


# --- 1. a rate changed after the check ---------------------------------------------------------------


def test_a_rate_changed_tenfold_after_the_start_is_a_hard_stop_kept_as_a_near_miss(checked, nurse, technician, pump):
    administration = running(checked, nurse, technician, pump)
    assert checked.plan["rate_ml_h"] == "140.3"

    error = refused_as_near_miss(
        "RATE_MISMATCH",
        lambda: services.change_rate(administration.pk, actor=nurse, rate_ml_h=Decimal("1403"), reason="catch up"),
        "administration:infusion:rate",
    )
    assert "1403 mL/h" in error.message and "140.3 mL/h" in error.message
    assert (fresh(administration).rate_ml_h, fresh(administration).status) == (Decimal("140.3"), "infusing")


@pytest.mark.parametrize(
    ("rate", "allowed"),
    [
        ("1403", False),  # 10×
        ("147.4", False),  # just above +5 %
        ("147.3", True),  # +5 %
        ("133.3", True),  # −5 %
        ("70", True),  # half rate after a reaction
        ("66.6", False),  # below half the rate −5 %: a slip of a digit, not a slow-down
        ("14.03", False),  # 10× slower
        ("0", True),  # a pause
    ],
)
def test_every_rate_change_is_checked_against_the_prescription(checked, nurse, technician, pump, rate, allowed):
    administration = running(checked, nurse, technician, pump)

    def change() -> object:
        return services.change_rate(administration.pk, actor=nurse, rate_ml_h=Decimal(rate), reason="titration step")

    if allowed:
        change()
        assert RateChange.objects.get().rate_ml_h == Decimal(rate)
    else:
        refused_as_near_miss("RATE_MISMATCH", change, "administration:infusion:rate")


def test_a_resume_after_a_pause_is_checked_too(checked, nurse, technician, pump):
    administration = running(checked, nurse, technician, pump)
    services.change_rate(administration.pk, actor=nurse, rate_ml_h=Decimal(0), reason="grade 1 reaction: pause")
    refused_as_near_miss(
        "RATE_MISMATCH",
        lambda: services.change_rate(administration.pk, actor=nurse, rate_ml_h=Decimal(1403), reason="resume"),
        "administration:infusion:rate",
    )
    assert fresh(administration).status == "paused"


def test_the_api_refuses_a_tenfold_rate_change(checked, nurse, technician, pump, client_for):
    administration = running(checked, nurse, technician, pump)
    client = client_for(nurse)  # signing in is audited too
    before = state()
    response = post(client, f"{BASE}/administrations/{administration.pk}/rate", {"rate_ml_h": "1403", "reason": "x"})
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "RATE_MISMATCH" and "140.3 mL/h" in response.json()["message"]
    assert state() == before and NearMiss.objects.get().code == "RATE_MISMATCH"


def test_the_infusion_screen_refuses_a_tenfold_rate_change(checked, nurse, technician, pump, client_for):
    administration = running(checked, nurse, technician, pump)
    client = client_for(nurse)
    before = state()
    page = screen(client, administration, kind="rate", rate_ml_h="1403", reason="catch up")
    assert page.status_code == 200
    assert "RATE_MISMATCH" in page.content.decode() and "140.3 mL/h" in page.content.decode()
    assert state() == before and NearMiss.objects.get().code == "RATE_MISMATCH"


# --- 2. no prescribed rate, no check -----------------------------------------------------------------


def test_an_order_without_a_duration_is_checked_against_the_formularys_standard_time(
    make_checked, carboplatin_stock, nurse, technician, pump
):
    """Carboplatin runs over 15–60 min (formulary): a 280 mL bag at 280–1120 mL/h, ±5 %."""
    preparation = make_checked(**CARBOPLATIN, duration_minutes=None)
    assert preparation.plan["rate_ml_h"] is None and preparation.plan["final_volume_ml"] == "280"
    administration = at_bedside(preparation, nurse, technician)

    program_action = "administration:infusion:program"
    error = refused_as_near_miss(
        "RATE_MISMATCH", lambda: program(administration, nurse, pump, rate=Decimal(2650)), program_action
    )
    assert "280–1120 mL/h" in error.message and "15–60 min" in error.message
    refused_as_near_miss(
        "RATE_MISMATCH", lambda: program(administration, nurse, pump, rate=Decimal(250)), program_action
    )
    assert program(administration, nurse, pump, rate=Decimal(600)).rate_ml_h == Decimal(600)
    started = services.start_administration(administration.pk, actor=nurse)
    refused_as_near_miss(  # the rate change is held to the same standard
        "RATE_MISMATCH",
        lambda: services.change_rate(started.pk, actor=nurse, rate_ml_h=Decimal(1500), reason="faster"),
        "administration:infusion:rate",
    )


def test_without_a_duration_or_a_standard_time_the_pump_is_not_programmed_nor_the_infusion_started(
    make_checked, nurse, technician, pump
):
    preparation = make_checked(duration_minutes=None)
    Drug.objects.filter(key="oxaliplatin").update(infusion_minutes_min=None, infusion_minutes_max=None)
    administration = at_bedside(preparation, nurse, technician)

    error = refused_as_near_miss(
        "NO_PRESCRIBED_RATE",
        lambda: program(administration, nurse, pump, rate=Decimal(2650)),
        "administration:infusion:program",
    )
    assert "duration" in error.message and "prescriber" in error.message
    refused_as_near_miss(
        "PUMP_NOT_PROGRAMMED",
        lambda: services.start_administration(administration.pk, actor=nurse),
        "administration:infusion:start",
    )


def test_an_infusion_never_starts_without_a_pump_program(make_checked, nurse, technician, client_for):
    """Without a duration the plan has no rate, and the infusion used to start without any program."""
    preparation = make_checked(duration_minutes=None)
    administration = at_bedside(preparation, nurse, technician)
    refused_as_near_miss(
        "PUMP_NOT_PROGRAMMED",
        lambda: services.start_administration(administration.pk, actor=nurse),
        "administration:infusion:start",
    )
    client = client_for(nurse)
    response = post(client, f"{BASE}/administrations/{administration.pk}/start")
    assert response.status_code == 409 and response.json()["code"] == "PUMP_NOT_PROGRAMMED"
    page = screen(client, administration, kind="start")
    assert "PUMP_NOT_PROGRAMMED" in page.content.decode()
    assert fresh(administration).status == "verified"


def test_the_api_and_the_screen_hold_a_pump_without_a_prescribed_rate_to_the_standard(
    make_checked, carboplatin_stock, nurse, technician, pump, client_for
):
    preparation = make_checked(**CARBOPLATIN, duration_minutes=None)
    administration = at_bedside(preparation, nurse, technician)
    client = client_for(nurse)
    response = post(
        client,
        f"{BASE}/administrations/{administration.pk}/pump",
        {"pump_serial": pump.serial, "rate_ml_h": "2650", "volume_ml": "280"},
    )
    assert response.status_code == 409 and response.json()["code"] == "RATE_MISMATCH"
    page = screen(client, administration, kind="pump", pump=pump.serial, rate_ml_h="2650", volume_ml="280")
    assert "RATE_MISMATCH" in page.content.decode()
    assert fresh(administration).pump_id is None


# --- 3. the beyond-use time at the start -------------------------------------------------------------


def test_a_bag_scanned_before_its_bud_is_not_started_after_it(
    make_checked, carboplatin_stock, nurse, technician, pump, clock
):
    preparation = make_checked(**CARBOPLATIN, duration_minutes=30, starts_in=NEAR_BUD)
    clock.shift(NEAR_BUD)  # due now, 15 minutes before the BUD
    administration = at_bedside(preparation, nurse, technician)
    program(administration, nurse, pump)
    clock.shift(dt.timedelta(minutes=20))  # called away: the BUD passes before the start

    error = refused_as_near_miss(
        "BUD_EXPIRED",
        lambda: services.start_administration(administration.pk, actor=nurse),
        "administration:infusion:start",
    )
    assert "return it to the pharmacy" in error.message
    assert Order.objects.get(pk=preparation.order_id).status == "dispensed"


def test_the_scan_warns_when_the_bud_falls_before_the_planned_end(
    make_checked, carboplatin_stock, nurse, technician, clock
):
    preparation = make_checked(**CARBOPLATIN, duration_minutes=30, starts_in=NEAR_BUD)
    clock.shift(NEAR_BUD)
    administration = at_bedside(preparation, nurse, technician)
    assert administration.status == "verified"  # a warning, not a refusal
    assert [w.code for w in administration.warnings] == ["BUD_BEFORE_END"]
    message = administration.warnings[0].message
    site = preparation.site
    assert site.clock(preparation.bud) in message and "before the planned end" in message
    event = AuditEvent.objects.get(action="administration:bedside:verified")
    assert event.after is not None and event.after["warnings"] == ["BUD_BEFORE_END"]


def test_a_bag_that_outlasts_its_infusion_has_no_warning(checked, nurse, technician):
    assert at_bedside(checked, nurse, technician).warnings == ()


def test_the_api_and_the_screens_show_the_bud_warning_and_refuse_the_late_start(
    make_checked, carboplatin_stock, nurse, technician, pump, client_for, clock
):
    preparation = make_checked(**CARBOPLATIN, duration_minutes=30, starts_in=NEAR_BUD)
    other = make_checked(**CARBOPLATIN, duration_minutes=30, starts_in=NEAR_BUD)
    dispense(preparation, technician)
    dispense(other, technician, place="Chair 04")
    clock.shift(NEAR_BUD)
    client = client_for(nurse)

    scanned = post(
        client,
        f"{BASE}/administrations",
        {"wristband": "MRN-2001", "label": preparation.barcode, "order_id": preparation.order_id},
    )
    assert scanned.status_code == 201, scanned.content
    assert [w["code"] for w in scanned.json()["warnings"]] == ["BUD_BEFORE_END"]
    page = client.post(
        f"/administration/bedside/?order={other.order_id}",
        {"wristband": "MRN-2001", "label": other.barcode, "order": other.order_id},
        follow=True,
    )
    text = page.content.decode()
    assert page.status_code == 200 and "BUD_BEFORE_END" in text and "before the planned end" in text
    on_screen = Administration.objects.get(dispense__preparation=other)
    program(on_screen, nurse, pump)
    at = f"{BASE}/administrations/{scanned.json()['id']}"
    programmed = post(client, f"{at}/pump", {"pump_serial": pump.serial, "rate_ml_h": "560", "volume_ml": "280"})
    assert programmed.status_code == 200, programmed.content

    clock.shift(dt.timedelta(minutes=20))
    client = client_for(nurse)
    late = post(client, f"{at}/start")
    assert late.status_code == 409 and late.json()["code"] == "BUD_EXPIRED"
    page = screen(client, on_screen, kind="start")
    assert "BUD_EXPIRED" in page.content.decode()
    assert set(Administration.objects.values_list("status", flat=True)) == {"verified"}
    assert list(NearMiss.objects.values_list("code", flat=True)) == ["BUD_EXPIRED", "BUD_EXPIRED"]


# --- 4. the dose the nurse meant ---------------------------------------------------------------------


@pytest.fixture
def two_bags(checked, checked_room_temperature, technician) -> tuple[Preparation, Preparation]:
    """Grace Hughes's oxaliplatin and carboplatin, both due in 30 minutes, both at her chair."""
    dispense(checked, technician)
    dispense(checked_room_temperature, technician)
    return checked, checked_room_temperature


def test_the_other_of_two_bags_due_at_once_is_a_hard_stop_naming_both(two_bags, nurse):
    meant, other = two_bags
    error = refused_as_near_miss(
        "WRONG_DOSE",
        lambda: services.bedside_verify(
            actor=nurse, wristband="MRN-2001", label=other.barcode, order_id=meant.order_id
        ),
        "administration:bedside:verify",
    )
    assert f"#{meant.order_id}" in error.message and f"#{other.order_id}" in error.message
    assert "OXALIplatin 153 mg" in error.message and "CARBOplatin 300 mg" in error.message
    assert not Administration.objects.exists()
    given = services.bedside_verify(actor=nurse, wristband="MRN-2001", label=meant.barcode, order_id=meant.order_id)
    assert given.order_id == meant.order_id


def test_the_bedside_asks_which_dose_is_being_given(two_bags, nurse):
    meant, _ = two_bags
    with pytest.raises(DomainError) as error:
        services.bedside_verify(actor=nurse, wristband="MRN-2001", label=meant.barcode)
    assert error.value.code == "DOSE_NOT_CHOSEN" and "chair board" in error.value.message
    assert not Administration.objects.exists()


def test_the_api_refuses_the_other_bag(two_bags, nurse, client_for):
    meant, other = two_bags
    client = client_for(nurse)
    before = state()
    response = post(
        client,
        f"{BASE}/administrations",
        {"wristband": "MRN-2001", "label": other.barcode, "order_id": meant.order_id},
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "WRONG_DOSE" and f"#{other.order_id}" in response.json()["message"]
    assert state() == before and NearMiss.objects.get().code == "WRONG_DOSE"


def test_the_bedside_screen_gives_the_dose_picked_on_the_board_and_refuses_the_other_bag(two_bags, nurse, client_for):
    meant, other = two_bags
    client = client_for(nurse)
    board = client.get("/administration/").content.decode()
    assert f'href="/administration/bedside/?order={meant.order_id}"' in board
    assert f'href="/administration/bedside/?order={other.order_id}"' in board
    choose = client.get("/administration/bedside/").content.decode()  # from the menu: pick the dose first
    assert f"?order={meant.order_id}" in choose and f"?order={other.order_id}" in choose

    form = client.get(f"/administration/bedside/?order={meant.order_id}").content.decode()
    assert f'name="order" value="{meant.order_id}"' in form and "OXALIplatin 153 mg" in form
    refused = client.post(
        f"/administration/bedside/?order={meant.order_id}",
        {"wristband": "MRN-2001", "label": other.barcode, "order": meant.order_id},
    )
    assert refused.status_code == 409 and 'data-code="WRONG_DOSE"' in refused.content.decode()
    assert not Administration.objects.exists() and NearMiss.objects.get().code == "WRONG_DOSE"
    right = client.post(
        f"/administration/bedside/?order={meant.order_id}",
        {"wristband": "MRN-2001", "label": meant.barcode, "order": meant.order_id},
    )
    assert right.status_code == 302 and Administration.objects.get().order_id == meant.order_id


# --- 5. the signature link ---------------------------------------------------------------------------


def _order_changed(preparation: Preparation) -> None:
    Order.objects.filter(pk=preparation.order_id).update(duration_minutes=12)  # 10× the rate, unsigned


def _preparation_changed(preparation: Preparation) -> None:
    step = StepRecord.objects.filter(preparation=preparation).order_by("-index").first()
    assert step is not None
    StepRecord.objects.filter(pk=step.pk).update(data={**step.data, "changed": "after the final check"})


SIGNED = [
    ("ORDER_SIGNATURE_MISMATCH", _order_changed),
    ("CHECK_SIGNATURE_MISMATCH", _preparation_changed),
]


@pytest.mark.parametrize(("code", "change"), SIGNED, ids=["order", "preparation"])
def test_a_dose_changed_after_its_signature_is_refused_at_the_scan(checked, nurse, technician, code, change):
    dispense(checked, technician)
    change(checked)
    error = refused_as_near_miss(
        code,
        lambda: services.bedside_verify(
            actor=nurse, wristband="MRN-2001", label=checked.barcode, order_id=checked.order_id
        ),
        "administration:bedside:verify",
    )
    assert "do not label or give this dose" in error.message.lower() and "pharmacist" in error.message
    assert not Administration.objects.exists()


@pytest.mark.parametrize(("code", "change"), SIGNED, ids=["order", "preparation"])
def test_a_dose_changed_after_its_signature_is_refused_at_the_start(checked, nurse, technician, pump, code, change):
    administration = at_bedside(checked, nurse, technician)
    program(administration, nurse, pump)
    change(checked)
    refused_as_near_miss(
        code, lambda: services.start_administration(administration.pk, actor=nurse), "administration:infusion:start"
    )


@pytest.mark.parametrize(("code", "change"), SIGNED, ids=["order", "preparation"])
def test_the_api_and_the_screen_refuse_a_dose_changed_after_its_signature(
    checked, nurse, technician, client_for, code, change
):
    dispense(checked, technician)
    change(checked)
    client = client_for(nurse)
    scan = {"wristband": "MRN-2001", "label": checked.barcode}
    response = post(client, f"{BASE}/administrations", {**scan, "order_id": checked.order_id})
    assert response.status_code == 409 and response.json()["code"] == code
    page = client.post(f"/administration/bedside/?order={checked.order_id}", {**scan, "order": checked.order_id})
    assert page.status_code == 409 and f'data-code="{code}"' in page.content.decode()
    assert not Administration.objects.exists() and NearMiss.objects.count() == 2


def test_an_iv_push_dose_has_no_pump_program_to_wait_for(
    patient, prescriber, pharmacist, technician, nurse, receive, hazardous_room, stocked
):
    """Only an infusion (route IV) waits for its pump program; a dose pushed by syringe starts as it is."""
    for n, ndc in enumerate(DOXORUBICIN):
        receive(ndc, f"DX-PUSH-{n}", hazardous_room, quantity=4)
    order = orders.create_order(
        patient.pk,
        actor=prescriber,
        drug_key="doxorubicin",
        dose="60 mg/m2",
        route="IV push",
        planned_start=timezone.now() + SOON,
        indication_code="C18.7",
        send=True,
    )
    warnings = {f.code.value: "accepted for the test" for f in orders.review(order).warnings}
    verified = orders.verify_order(
        order.pk, actor=pharmacist, expected_version=order.version, password=PASSWORD, overrides=warnings
    )
    administration = at_bedside(approve(verified, technician, pharmacist), nurse, technician)
    assert services.start_administration(administration.pk, actor=nurse).status == "infusing"
