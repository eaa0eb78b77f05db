"""The IV workflow end to end over the API (plan → start → scans → weighings → complete → final
check → label), and every step refusal: a hard stop (USP <797>, USP <800>; ISMP Guidelines for
Safe Preparation of Compounded Sterile Preparations, 2016: barcode scanning and gravimetric
verification) refuses the step, changes nothing, and is kept as an intercepted error with a refused
audit event."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from tests.clock import site_today
from tests.integration.compounding.conftest import (
    CARBOPLATIN_50,
    D5W_250,
    OXALIPLATIN_50,
    OXALIPLATIN_50_FRESENIUS,
    OXALIPLATIN_100,
    PASSWORD,
    exact_weight,
    lot_scan,
    post,
    refused_event,
    scan_of,
    state,
)

from openinfusion.accounts.models import Signature
from openinfusion.audit.models import AuditEvent
from openinfusion.compounding import services, walkthrough
from openinfusion.compounding.models import InterceptedError, Preparation
from openinfusion.errors import DomainError
from openinfusion.inventory import scanning
from openinfusion.inventory.models import Location, Lot, StockBalance
from openinfusion.inventory.services import quarantine_lot
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/compounding"


def on_hand(lot, location) -> int:
    balance = StockBalance.objects.filter(lot=lot, location=location).first()
    return balance.quantity if balance else 0


# --- the happy path -------------------------------------------------------------------------------


def test_a_clean_oxaliplatin_dose_goes_from_plan_to_a_released_label(
    order, stocked, hazardous_room, technician, pharmacist, client_for
):
    tech, checker = client_for(technician), client_for(pharmacist)
    response = post(tech, f"{BASE}/preparations", {"order_id": order.pk})
    assert response.status_code == 201, response.content
    planned = response.json()
    pid = planned["id"]
    assert (planned["status"], planned["room"], planned["hazardous"], planned["next_step"]) == (
        "planned",
        "Hazardous buffer room",
        True,
        0,
    )
    assert [s["kind"] for s in planned["steps"]] == ["scan_vial", "scan_vial", "weigh_draw", "scan_bag", "weigh_bag"]
    plan = Preparation.objects.get(pk=pid).plan
    # 153 mg from 100 mg/20 mL vials: two vials (200 mg), 47 mg left — less than 100 + 50 + 50 would need vials
    assert [(d["amount"], d["draw_ml"]) for d in plan["draws"]] == [("100", "20"), ("53", "10.6")]
    assert (plan["waste"], plan["draw_ml"], plan["final_volume_ml"]) == ("47", "30.6", "280.6")

    for document in ("label.pdf", "label.zpl"):
        refused = tech.get(f"{BASE}/preparations/{pid}/{document}")
        assert refused.status_code == 409 and refused.json()["code"] == "LABEL_NOT_RELEASED"

    assert post(tech, f"{BASE}/preparations/{pid}/start").json()["status"] == "in_progress"
    assert Order.objects.get(pk=order.pk).status == "preparing"
    vials = stocked["oxaliplatin"]
    for n, serial in enumerate(("V1", "V2"), start=1):
        response = post(tech, f"{BASE}/preparations/{pid}/scans", {"scan": lot_scan(vials, serial)})
        assert response.status_code == 200, response.content
        assert response.json()["next_step"] == n
    assert on_hand(vials, hazardous_room) == 4  # each scanned vial left the room's shelf as it was scanned
    steps = plan["steps"]
    response = post(
        tech,
        f"{BASE}/preparations/{pid}/weighings",
        {"scale": "BAL-01", "tare_g": "11.250", "gross_g": str(exact_weight(steps[2]))},
    )
    assert response.status_code == 200 and response.json()["next_step"] == 3, response.content
    assert post(tech, f"{BASE}/preparations/{pid}/scans", {"scan": lot_scan(stocked["d5w"])}).json()["next_step"] == 4
    bag = exact_weight(steps[4], tare=Decimal("282.400"))
    response = post(
        tech, f"{BASE}/preparations/{pid}/weighings", {"scale": "BAL-02", "tare_g": "282.400", "gross_g": str(bag)}
    )
    assert response.status_code == 200 and response.json()["next_step"] is None
    response = post(tech, f"{BASE}/preparations/{pid}/complete", {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "awaiting_check"
    prepared = Preparation.objects.get(pk=pid)
    # refrigerated stability 24 h is shorter than USP <797> category 2 and the lot's expiry
    assert prepared.bud == prepared.completed_at + dt.timedelta(hours=24)
    assert Order.objects.get(pk=order.pk).status == "prepared"
    assert tech.get(f"{BASE}/preparations/{pid}/label.pdf").json()["code"] == "LABEL_NOT_RELEASED"
    assert [p["id"] for p in checker.get(f"{BASE}/final-checks").json()] == [pid]

    response = post(checker, f"{BASE}/preparations/{pid}/final-check", {"approve": True, "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["checked_by"]) == ("approved", "pharmacist")
    approved = Preparation.objects.get(pk=pid)
    signature = Signature.objects.get(pk=approved.final_check_id)
    assert (signature.signer, signature.meaning, signature.entity_id) == (pharmacist, "final_check_by", str(pid))
    assert Order.objects.get(pk=order.pk).status == "checked"
    assert AuditEvent.objects.filter(action="compounding:preparation:approved", actor=pharmacist).count() == 1

    label = tech.get(f"{BASE}/preparations/{pid}/label.pdf")
    assert label.status_code == 200 and label["Content-Type"] == "application/pdf"
    assert label.content.startswith(b"%PDF")
    zpl = tech.get(f"{BASE}/preparations/{pid}/label.zpl")
    assert zpl.status_code == 200 and zpl.content.decode().startswith("^XA")
    assert approved.barcode in zpl.content.decode()
    record_pdf = tech.get(f"{BASE}/preparations/{pid}/record.pdf")
    assert record_pdf.status_code == 200 and record_pdf.content.startswith(b"%PDF")


def test_the_compounding_record_exists_only_once_the_dose_is_completed(preparation, technician):
    from openinfusion.compounding import documents

    with pytest.raises(DomainError) as refused:
        documents.record_pdf_for(technician, preparation.pk)
    assert refused.value.code == "WRONG_STATE"
    walkthrough.prepare(preparation, technician)
    assert documents.record_pdf_for(technician, preparation.pk).startswith(b"%PDF")


# --- every scan refusal: a hard stop, nothing changes, an intercepted error is kept ----------------


@pytest.fixture
def store(site):
    return Location.objects.create(site=site, code="store", name="Main store", kind="store")


def expired_lot(receive, room, store, stock_keeper) -> str:
    lot = receive(OXALIPLATIN_100, "OX-OLD", room, quantity=2)
    Lot.objects.filter(pk=lot.pk).update(expiry=site_today(room) - dt.timedelta(days=1))
    return lot_scan(Lot.objects.get(pk=lot.pk))


def recalled_lot(receive, room, store, stock_keeper) -> str:
    lot = receive(OXALIPLATIN_100, "OX-RECALL", room, quantity=2)
    quarantine_lot(lot.pk, actor=stock_keeper, reason="FDA recall Z-0420-2026", recall=True)
    return lot_scan(lot)


def quarantined_lot(receive, room, store, stock_keeper) -> str:
    lot = receive(OXALIPLATIN_100, "OX-QUAR", room, quantity=2)
    quarantine_lot(lot.pk, actor=stock_keeper, reason="cracked vial in the carton", recall=False)
    return lot_scan(lot)


def lot_only_in_the_store(receive, room, store, stock_keeper) -> str:
    return lot_scan(receive(OXALIPLATIN_100, "OX-STORE", store, quantity=3))


SCAN_REFUSALS: list[tuple[str, Callable[..., str]]] = [
    ("WRONG_PRODUCT", lambda *_: scan_of(CARBOPLATIN_50, "CB-1")),
    ("WRONG_PRODUCT", lambda *_: scan_of(D5W_250, "D5-250-A")),  # the bag is not the next step
    ("WRONG_PRODUCT", lambda *_: scan_of("99999-101-01", "NOT-ON-FORMULARY")),
    ("WRONG_STRENGTH", lambda *_: scan_of(OXALIPLATIN_50, "OX-50-A")),
    ("UNKNOWN_LOT", lambda *_: scan_of(OXALIPLATIN_100, "NEVER-RECEIVED")),
    ("EXPIRED_LOT", expired_lot),
    ("RECALLED_LOT", recalled_lot),
    ("QUARANTINED_LOT", quarantined_lot),
    ("INSUFFICIENT_STOCK", lot_only_in_the_store),
]


@pytest.mark.parametrize(
    ("code", "make_scan"), SCAN_REFUSALS, ids=[f"{c}-{n}" for n, (c, _) in enumerate(SCAN_REFUSALS)]
)
def test_a_refused_scan_changes_nothing_but_keeps_an_intercepted_error(
    preparation, technician, receive, hazardous_room, store, stock_keeper, code, make_scan
):
    scan = make_scan(receive, hazardous_room, store, stock_keeper)
    services.start_preparation(preparation.pk, actor=technician)
    before = state(preparation)
    with pytest.raises(DomainError) as refused:
        services.record_scan(preparation.pk, actor=technician, scan=scan)
    assert refused.value.code == code
    assert refused.value.status == 422
    assert state(preparation) == before
    error = InterceptedError.objects.get(preparation=preparation)
    assert (error.code, error.step_index, error.by) == (code, 0, technician)
    assert error.message == refused.value.message and error.data["scan"] == scan
    refused_event("compounding:preparation:scan", code)


def test_a_weight_out_of_tolerance_is_refused_and_kept(preparation, technician):
    walkthrough.prepare(preparation, technician, steps=2)
    step = preparation.plan["steps"][2]
    exact = exact_weight(step)
    before = state(preparation)
    # 30.6 mL planned; 33 g of a specific gravity 1 solution is 33 mL, +7.8 % (tolerance ±5 %)
    with pytest.raises(DomainError) as refused:
        services.record_weighing(preparation.pk, actor=technician, scale="BAL-01", tare_g="11.250", gross_g="44.250")
    assert refused.value.code == "GRAVIMETRIC_OUT_OF_TOLERANCE"
    assert Decimal(refused.value.details["measured_ml"]) == 33
    assert state(preparation) == before
    error = InterceptedError.objects.get(preparation=preparation)
    assert (error.code, error.step_index) == ("GRAVIMETRIC_OUT_OF_TOLERANCE", 2)
    refused_event("compounding:preparation:weigh", "GRAVIMETRIC_OUT_OF_TOLERANCE")
    # within 5 %: accepted on the second weighing, and the first stays on the record
    services.record_weighing(
        preparation.pk, actor=technician, scale="BAL-01", tare_g="11.250", gross_g=str(exact + Decimal("1.0"))
    )
    assert preparation.steps.count() == 3 and InterceptedError.objects.count() == 1


def test_a_filled_weight_not_above_the_empty_weight_is_refused(preparation, technician):
    walkthrough.prepare(preparation, technician, steps=2)
    with pytest.raises(DomainError) as refused:
        services.record_weighing(preparation.pk, actor=technician, scale="BAL-01", tare_g="11.250", gross_g="11.250")
    assert refused.value.code == "GRAVIMETRIC_OUT_OF_TOLERANCE"
    assert preparation.steps.count() == 2


def test_another_manufacturers_vial_of_the_same_strength_is_accepted(preparation, technician, receive, hazardous_room):
    lot = receive(OXALIPLATIN_50_FRESENIUS, "FK-50", hazardous_room, quantity=2)
    services.start_preparation(preparation.pk, actor=technician)
    with pytest.raises(DomainError) as refused:  # 50 mg/10 mL where 100 mg/20 mL is planned
        services.record_scan(preparation.pk, actor=technician, scan=lot_scan(lot))
    assert refused.value.code == "WRONG_STRENGTH"


# --- the wrong drug and the wrong strength over the API -------------------------------------------


@pytest.mark.parametrize(
    ("ndc", "code", "said"),
    [(CARBOPLATIN_50, "WRONG_PRODUCT", "Wrong drug"), (OXALIPLATIN_50, "WRONG_STRENGTH", "Wrong strength")],
)
def test_a_wrong_drug_or_strength_scan_is_refused_over_the_api_and_kept(
    preparation, technician, client_for, ndc, code, said
):
    tech = client_for(technician)
    assert post(tech, f"{BASE}/preparations/{preparation.pk}/start").status_code == 200
    response = post(tech, f"{BASE}/preparations/{preparation.pk}/scans", {"scan": scan_of(ndc, "ANY-LOT")})
    assert response.status_code == 422
    assert response.json()["code"] == code and said in response.json()["message"]
    assert preparation.steps.count() == 0
    error = InterceptedError.objects.get(preparation=preparation)  # survives the refused request
    assert (error.code, error.by, error.step_index) == (code, technician, 0)
    refused_event("compounding:preparation:scan", code)
    assert tech.get(f"{BASE}/work-queue").json()[0]["next_step"] == 0


# --- steps in order, none skipped -------------------------------------------------------------------


def test_weighing_before_the_vials_are_scanned_is_out_of_order(preparation, technician, client_for):
    services.start_preparation(preparation.pk, actor=technician)
    before = state(preparation)
    with pytest.raises(DomainError) as refused:
        services.record_weighing(preparation.pk, actor=technician, scale="BAL-01", tare_g="11.25", gross_g="41.85")
    assert refused.value.code == "STEP_OUT_OF_ORDER" and refused.value.details == {"step": 0}
    assert state(preparation) == before
    refused_event("compounding:preparation:weigh", "STEP_OUT_OF_ORDER")
    response = post(
        client_for(technician),
        f"{BASE}/preparations/{preparation.pk}/weighings",
        {"scale": "BAL-01", "tare_g": "11.25", "gross_g": "41.85"},
    )
    assert response.status_code == 422 and response.json()["code"] == "STEP_OUT_OF_ORDER"
    assert list(InterceptedError.objects.values_list("code", "step_index")) == [("STEP_OUT_OF_ORDER", 0)] * 2


def test_a_third_vial_scan_when_the_weighing_is_due_is_out_of_order(preparation, technician, stocked):
    walkthrough.prepare(preparation, technician, steps=2)
    before = state(preparation)
    with pytest.raises(DomainError) as refused:
        services.record_scan(preparation.pk, actor=technician, scan=lot_scan(stocked["oxaliplatin"], "V3"))
    assert refused.value.code == "STEP_OUT_OF_ORDER"
    assert state(preparation) == before  # no third vial left the shelf


def test_no_step_is_recorded_after_the_last_one(preparation, technician):
    walkthrough.prepare(preparation, technician, steps=5)
    with pytest.raises(DomainError) as refused:
        services.record_weighing(preparation.pk, actor=technician, scale="BAL-01", tare_g="1", gross_g="31.6")
    assert refused.value.code == "STEP_OUT_OF_ORDER"


@pytest.mark.parametrize("done", [0, 2, 4])
def test_a_preparation_cannot_be_completed_before_every_step(preparation, technician, client_for, done):
    walkthrough.prepare(preparation, technician, steps=done)
    before = state(preparation)
    with pytest.raises(DomainError) as refused:
        services.complete_preparation(preparation.pk, actor=technician)
    assert refused.value.code == "STEP_OUT_OF_ORDER" and refused.value.status == 409
    assert state(preparation) == before
    refused_event("compounding:preparation:complete", "STEP_OUT_OF_ORDER")
    response = post(client_for(technician), f"{BASE}/preparations/{preparation.pk}/complete", {})
    assert response.status_code == 409 and response.json()["code"] == "STEP_OUT_OF_ORDER"


def test_nothing_is_scanned_before_the_preparation_is_started(preparation, technician, stocked):
    with pytest.raises(DomainError) as refused:
        services.record_scan(preparation.pk, actor=technician, scan=lot_scan(stocked["oxaliplatin"]))
    assert refused.value.code == "WRONG_STATE"
    assert on_hand(stocked["oxaliplatin"], preparation.room) == 6


def test_record_step_takes_only_a_photo(preparation, technician, client_for):
    tech = client_for(technician)
    post(tech, f"{BASE}/preparations/{preparation.pk}/start")
    response = post(tech, f"{BASE}/preparations/{preparation.pk}/steps", {"kind": "weigh_draw"})
    assert response.status_code == 422 and response.json()["code"] == "STEP_OUT_OF_ORDER"
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    response = post(tech, f"{BASE}/preparations/{preparation.pk}/steps", {"kind": "photo", "photo_base64": png})
    assert response.status_code == 200, response.content
    assert preparation.photos.get().content_type == "image/png"
    assert preparation.steps.count() == 0  # a photo is kept with the record, it is not a step


def test_a_nurse_cannot_compound(preparation, nurse, client_for):
    response = post(client_for(nurse), f"{BASE}/preparations/{preparation.pk}/start")
    assert response.status_code == 403
    assert Preparation.objects.get(pk=preparation.pk).status == "planned"


# --- typing the package in, without a scanner ------------------------------------------------------


def test_a_package_typed_in_on_the_screen_counts_as_its_scan_and_is_marked_typed(
    preparation, technician, stocked, client_for
):
    """The preparation screen offers boxes for NDC (or GTIN), lot and expiry; what is typed is
    checked as a scan is (a wrong lot is refused the same way) and kept as typed."""
    services.start_preparation(preparation.pk, actor=technician)
    client = client_for(technician)
    page = client.get(f"/compounding/{preparation.pk}/").content.decode()
    assert 'id="type-package"' in page and 'name="typed_lot"' in page
    lot = stocked["oxaliplatin"]
    typed = {"typed_code": lot.product.ndc_labelled, "typed_expiry": lot.expiry.isoformat(), "typed_serial": ""}
    before = state(preparation)
    wrong = client.post(f"/compounding/{preparation.pk}/step", typed | {"typed_lot": "NO-SUCH-LOT"}, follow=True)
    assert "UNKNOWN_LOT: Lot NO-SUCH-LOT" in wrong.content.decode()
    assert state(preparation) == before
    response = client.post(f"/compounding/{preparation.pk}/step", typed | {"typed_lot": lot.lot_number})
    assert response.status_code == 302
    step = Preparation.objects.get(pk=preparation.pk).steps.get(index=0)
    assert (step.kind, step.data["lot"], step.data["typed"]) == ("scan_vial", lot.lot_number, True)
    assert AuditEvent.objects.filter(action="compounding:preparation:scanned").last().after["typed"] is True
    by_gtin = services.record_scan(
        preparation.pk,
        actor=technician,
        typed=scanning.PackageEntry(ndc=lot.product.gtin14, lot=lot.lot_number, expiry=lot.expiry.isoformat()),
    )
    assert by_gtin.data["gtin"] == lot.product.gtin14 and by_gtin.index == 1


def test_nothing_typed_says_what_to_type(preparation, technician):
    services.start_preparation(preparation.pk, actor=technician)
    with pytest.raises(DomainError) as refused:
        services.record_scan(preparation.pk, actor=technician, typed=scanning.PackageEntry())
    assert refused.value.code == "BAD_BARCODE" and "type its NDC (or GTIN), lot and expiry" in refused.value.message


# --- bringing the vials into the room ----------------------------------------------------------------


def test_the_preparation_screen_says_what_to_bring_into_the_room_and_moves_it(
    order, pharmacist, technician, receive, hazardous_room, site, client_for
):
    """The vials and the bag are in the main store, not the hazardous room: the screen lists each
    lot to take (earliest expiry first) with a button that moves it, and the list empties."""
    from openinfusion.inventory.models import Location

    store = Location.objects.create(site=site, code="store", name="Main store", kind="store")
    receive(OXALIPLATIN_100, "OX-STORE", store, quantity=3)
    receive(D5W_250, "D5-STORE", store, quantity=2)
    preparation = services.plan_preparation(order.pk, actor=pharmacist)
    client = client_for(technician)
    page = client.get(f"/compounding/{preparation.pk}/").content.decode()
    assert 'id="bring-to-room"' in page and "lot <strong>OX-STORE</strong>" in page
    moves = page.count('action="/inventory/lots/')
    assert moves == 2  # the oxaliplatin vials and the D5W bag
    for lot in Lot.objects.filter(lot_number__in=("OX-STORE", "D5-STORE")):
        form = page[page.index(f'action="/inventory/lots/{lot.pk}/transfer"') :].split("</form>")[0]
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
        answer = client.post(f"/inventory/lots/{lot.pk}/transfer", fields)
        assert answer.status_code == 302 and answer["Location"] == f"/compounding/{preparation.pk}/"
    assert on_hand(Lot.objects.get(lot_number="OX-STORE"), hazardous_room) >= 2
    assert 'id="bring-to-room"' not in client.get(f"/compounding/{preparation.pk}/").content.decode()
