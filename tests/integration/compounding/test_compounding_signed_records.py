"""The link between a signature and what it signed (21 CFR 11.70): a dose is final-checked only while
its verified order still hashes to what the verifying pharmacist signed, and its label is released
(screen, PDF, ZPL) only while the checked preparation still hashes to what the checking pharmacist
signed, and its order to what the verifier signed. A record changed behind the services' back (here:
``.objects.filter().update()``, as a database user could) is refused — ORDER_SIGNATURE_MISMATCH for the
order, CHECK_SIGNATURE_MISMATCH for the checked preparation (the codes the bedside uses too) —,
audited, and nothing changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from tests.integration.compounding.conftest import PASSWORD, post, refused_event, state

from openinfusion.accounts.signatures import content_hash, signature_matches
from openinfusion.audit.models import AuditEvent
from openinfusion.compounding import documents, services, walkthrough
from openinfusion.compounding.models import Preparation, StepRecord
from openinfusion.errors import DomainError
from openinfusion.orders import services as orders
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/compounding"


@pytest.fixture
def completed(preparation, technician):
    return walkthrough.prepare(preparation, technician)


@pytest.fixture
def approved(completed, pharmacist):
    return services.final_check(completed.pk, actor=pharmacist, approve=True, password=PASSWORD)


def fresh(preparation: Preparation) -> Preparation:
    return Preparation.objects.get(pk=preparation.pk)


def refused_events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, outcome="refused"))


# --- the content the final check signs -------------------------------------------------------------


def test_the_final_check_signs_the_public_signed_content_of_the_preparation(approved):
    content = services.signed_content(fresh(approved))
    assert signature_matches(approved.final_check, content)
    order = Order.objects.get(pk=approved.order_id)
    assert signature_matches(order.verification, orders.signed_content(order)), "the verified order is unchanged"
    assert approved.final_check.content_hash == content_hash(content)
    order = Order.objects.select_related("verification").get(pk=approved.order_id)
    assert content["preparation"] == approved.pk and content["order"] == order.pk
    assert content["order_verification"] == {
        "signature": order.verification_id,
        "hash": order.verification.content_hash,
    }
    assert [s["index"] for s in content["steps"]] == list(range(len(approved.plan["steps"])))
    assert {"plan", "bud", "prepared_by", "completed_by", "photos", "intercepted_errors", "bag"} <= set(content)


# --- at the final check: the verified order ---------------------------------------------------------

ORDER_CHANGES: dict[str, dict[str, Any]] = {
    "dose-10x": {"dose": Decimal("1530")},
    "route": {"route": "IT"},
    "volume": {"volume_ml": Decimal("25")},
    "duration": {"duration_minutes": 12},
}


@pytest.mark.parametrize("change", ORDER_CHANGES.values(), ids=ORDER_CHANGES.keys())
def test_a_dose_whose_verified_order_changed_after_signing_is_not_final_checked(
    completed, pharmacist, client_for, change
):
    Order.objects.filter(pk=completed.order_id).update(**change)
    before = state(completed)
    with pytest.raises(DomainError) as refused:
        services.final_check(completed.pk, actor=pharmacist, approve=True, password=PASSWORD)
    assert (refused.value.code, refused.value.status) == ("ORDER_SIGNATURE_MISMATCH", 409)
    assert f"Order #{completed.order_id}" in refused.value.message and "cancel" in refused.value.message
    assert state(completed) == before
    assert fresh(completed).final_check_id is None
    event = refused_event("compounding:preparation:final_check", "ORDER_SIGNATURE_MISMATCH")
    assert (event.entity_type, event.entity_id) == ("compounding.preparation", str(completed.pk))
    client = client_for(pharmacist)
    url = f"{BASE}/preparations/{completed.pk}/final-check"
    for body in ({"approve": True, "password": PASSWORD}, {"approve": False, "reason": "wrong bag"}):
        response = post(client, url, body)
        assert response.status_code == 409 and response.json()["code"] == "ORDER_SIGNATURE_MISMATCH", response.content
    assert state(completed) == before
    assert Preparation.objects.filter(order_id=completed.order_id).count() == 1  # nothing re-planned


def test_the_final_check_screen_says_why_a_changed_order_is_refused(completed, pharmacist, client_for):
    Order.objects.filter(pk=completed.order_id).update(dose=Decimal("1530"))
    page = client_for(pharmacist).post(
        f"/compounding/{completed.pk}/check", {"decision": "approve", "password": PASSWORD}
    )
    assert page.status_code == 409 and b'data-code="ORDER_SIGNATURE_MISMATCH"' in page.content
    assert fresh(completed).status == "awaiting_check"


# --- at label release: the checked preparation and its order -----------------------------------------


def _bud(preparation: Preparation) -> None:
    assert preparation.bud is not None
    Preparation.objects.filter(pk=preparation.pk).update(bud=preparation.bud + dt.timedelta(days=2))


def _plan(preparation: Preparation) -> None:
    plan = {**preparation.plan, "final_volume_ml": "25"}
    Preparation.objects.filter(pk=preparation.pk).update(plan=plan)


def _weighing(preparation: Preparation) -> None:
    step = StepRecord.objects.filter(preparation=preparation, kind="weigh_draw").first()
    assert step is not None
    StepRecord.objects.filter(pk=step.pk).update(data={**step.data, "deviation_pct": "0.00", "measured_ml": "9"})


def _scanned_lot(preparation: Preparation) -> None:
    step = StepRecord.objects.filter(preparation=preparation, kind="scan_vial").first()
    assert step is not None
    StepRecord.objects.filter(pk=step.pk).update(data={**step.data, "lot": "OTHER-LOT"})


def _prepared_by(preparation: Preparation, other) -> None:
    Preparation.objects.filter(pk=preparation.pk).update(prepared_by=other)


def _checked_by(preparation: Preparation, other) -> None:
    Preparation.objects.filter(pk=preparation.pk).update(checked_by=other)


def _bag_count(preparation: Preparation) -> None:
    Preparation.objects.filter(pk=preparation.pk).update(bag_count=2)


def _no_signature(preparation: Preparation) -> None:
    Preparation.objects.filter(pk=preparation.pk).update(final_check=None)


def _order_dose(preparation: Preparation) -> None:
    Order.objects.filter(pk=preparation.order_id).update(dose=Decimal("1530"))


def _order_route(preparation: Preparation) -> None:
    Order.objects.filter(pk=preparation.order_id).update(route="IT")


CHECKED = "CHECK_SIGNATURE_MISMATCH"
VERIFIED = "ORDER_SIGNATURE_MISMATCH"
CHANGES = {
    "bud": (_bud, CHECKED),
    "plan": (_plan, CHECKED),
    "weighing": (_weighing, CHECKED),
    "scanned-lot": (_scanned_lot, CHECKED),
    "prepared-by": (_prepared_by, CHECKED),
    "checked-by": (_checked_by, CHECKED),
    "bag-count": (_bag_count, CHECKED),
    "no-signature": (_no_signature, CHECKED),
    "order-dose": (_order_dose, VERIFIED),
    "order-route": (_order_route, VERIFIED),
}


@pytest.mark.parametrize(("change", "code"), CHANGES.values(), ids=CHANGES.keys())
def test_no_label_is_released_for_a_record_changed_after_it_was_signed(
    approved, pharmacist, second_pharmacist, client_for, change, code
):
    client = client_for(pharmacist)
    # before the change: the label prints and its preview shows
    assert client.get(f"{BASE}/preparations/{approved.pk}/label.pdf").status_code == 200
    assert b'id="label-preview"' in client.get(f"/compounding/{approved.pk}/label").content
    if change in (_prepared_by, _checked_by):
        change(approved, second_pharmacist)
    else:
        change(approved)
    before = state(approved)
    for print_label in (
        lambda: documents.label_pdf_for(pharmacist, approved.pk),
        lambda: documents.label_zpl_for(pharmacist, approved.pk),
    ):
        with pytest.raises(DomainError) as refused:
            print_label()
        assert (refused.value.code, refused.value.status) == (code, 409)
        assert "changed after" in refused.value.message and "Do not" in refused.value.message
    for path in ("label.pdf", "label.zpl", "label.pdf?size=4x6in"):
        response = client.get(f"{BASE}/preparations/{approved.pk}/{path}")
        assert response.status_code == 409 and response.json()["code"] == code, path
    page = client.get(f"/compounding/{approved.pk}/label")
    assert page.status_code == 409 and f'data-code="{code}"'.encode() in page.content
    assert b'id="label-preview"' not in page.content and b'id="label-pdf"' not in page.content
    assert state(approved) == before
    events = refused_events("compounding:label:release")
    assert len(events) == 6 and all(e.reason.startswith(code) for e in events)
    assert {e.entity_id for e in events} == {str(approved.pk)}


def test_a_photo_cannot_be_added_once_the_dose_is_checked(approved, technician):
    """A signed record is closed: a photo after the check would change what was signed."""
    png = bytes.fromhex("89504e470d0a1a0a") + b"rest"
    with pytest.raises(DomainError) as refused:
        services.record_photo(approved.pk, actor=technician, image=png)
    assert refused.value.code == "WRONG_STATE"
    assert not fresh(approved).photos.exists()
