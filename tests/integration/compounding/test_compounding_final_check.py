"""The pharmacist's final check: never by the person who prepared the dose (separation of duties,
USP <797> §5 and ASHP Guidelines on Compounding Sterile Preparations), approved only with an
electronic signature (21 CFR 11.200: password of the signer), rejected only with a reason — and a
rejected dose is wasted and planned again from the verified order."""

from __future__ import annotations

import pytest
from tests.integration.compounding.conftest import PASSWORD, post, qualify, refused_event

from openinfusion.accounts.models import Signature
from openinfusion.compounding import services, walkthrough
from openinfusion.compounding.models import Preparation
from openinfusion.errors import DomainError
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/compounding"


@pytest.fixture
def completed(preparation, technician):
    return walkthrough.prepare(preparation, technician)


def current(preparation) -> Preparation:
    return Preparation.objects.get(pk=preparation.pk)


def test_the_pharmacist_who_compounded_cannot_check_the_dose(preparation, second_pharmacist, pharmacist, client_for):
    qualify(second_pharmacist)
    walkthrough.prepare(preparation, second_pharmacist)
    with pytest.raises(DomainError) as refused:
        services.final_check(preparation.pk, actor=second_pharmacist, approve=True, password=PASSWORD)
    assert refused.value.code == "SELF_CHECK" and refused.value.status == 403
    refused_event("compounding:preparation:final_check", "SELF_CHECK")
    response = post(
        client_for(second_pharmacist),
        f"{BASE}/preparations/{preparation.pk}/final-check",
        {"approve": False, "reason": "I would rather redo it"},
    )
    assert response.status_code == 403 and response.json()["code"] == "SELF_CHECK"
    assert current(preparation).status == "awaiting_check" and not Signature.objects.filter(meaning="final_check_by")
    approved = services.final_check(preparation.pk, actor=pharmacist, approve=True, password=PASSWORD)
    assert (approved.status, approved.checked_by, approved.prepared_by) == ("approved", pharmacist, second_pharmacist)


def test_a_technician_cannot_final_check(completed, second_technician, client_for):
    response = post(
        client_for(second_technician),
        f"{BASE}/preparations/{completed.pk}/final-check",
        {"approve": True, "password": PASSWORD},
    )
    assert response.status_code == 403
    assert current(completed).status == "awaiting_check"


@pytest.mark.parametrize(("password", "code"), [("", "PASSWORD_REQUIRED"), ("wrong-horse", "WRONG_PASSWORD")])
def test_approval_needs_the_checkers_own_password(completed, pharmacist, client_for, password, code):
    response = post(
        client_for(pharmacist),
        f"{BASE}/preparations/{completed.pk}/final-check",
        {"approve": True, "password": password},
    )
    assert response.json()["code"] == code
    fresh = current(completed)
    assert (fresh.status, fresh.final_check_id, fresh.checked_by_id) == ("awaiting_check", None, None)
    assert Order.objects.get(pk=completed.order_id).status == "prepared"
    assert not Signature.objects.filter(meaning="final_check_by").exists()
    assert client_for(pharmacist).get(f"{BASE}/preparations/{completed.pk}/label.pdf").status_code == 409


def test_rejection_needs_a_reason(completed, pharmacist):
    with pytest.raises(DomainError) as refused:
        services.final_check(completed.pk, actor=pharmacist, approve=False, reason="  ")
    assert refused.value.code == "REASON_REQUIRED"
    assert current(completed).status == "awaiting_check"
    assert Preparation.objects.filter(order=completed.order).count() == 1


def test_a_rejected_dose_is_planned_again_and_the_order_goes_back_to_verified(completed, pharmacist, client_for):
    response = post(
        client_for(pharmacist),
        f"{BASE}/preparations/{completed.pk}/final-check",
        {"approve": False, "reason": "particles seen in the bag"},
    )
    assert response.status_code == 200, response.content
    rejected = current(completed)
    assert (rejected.status, rejected.rejection_reason, rejected.checked_by) == (
        "rejected",
        "particles seen in the bag",
        pharmacist,
    )
    order = Order.objects.get(pk=completed.order_id)
    assert order.status == "verified" and "particles seen in the bag" in order.status_reason
    again = Preparation.objects.exclude(pk=completed.pk).get(order=order)
    assert (again.status, again.planned_by, again.plan["steps"]) == ("planned", pharmacist, rejected.plan["steps"])
    assert client_for(pharmacist).get(f"{BASE}/preparations/{completed.pk}/label.zpl").status_code == 409


def test_a_dose_is_checked_once(completed, pharmacist, second_pharmacist):
    services.final_check(completed.pk, actor=pharmacist, approve=True, password=PASSWORD)
    with pytest.raises(DomainError) as refused:
        services.final_check(completed.pk, actor=second_pharmacist, approve=False, reason="second look")
    assert refused.value.code == "WRONG_STATE"
    assert current(completed).status == "approved"


def test_only_a_completed_dose_awaits_the_final_check(preparation, technician, pharmacist, client_for):
    walkthrough.prepare(preparation, technician, steps=3)
    with pytest.raises(DomainError) as refused:
        services.final_check(preparation.pk, actor=pharmacist, approve=True, password=PASSWORD)
    assert refused.value.code == "WRONG_STATE"
    assert client_for(pharmacist).get(f"{BASE}/final-checks").json() == []
