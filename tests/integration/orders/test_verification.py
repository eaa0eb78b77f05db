"""Pharmacist verification through the API: an electronic signature bound to the order's content
(21 CFR 11.50, 11.70), a reason for every warning, no verification past a hard stop, never by the
order's own prescriber, only by a pharmacist, only of the version the pharmacist reviewed; return
and hold need a reason; illegal transitions are refused; the queue is the pharmacist's own sites'
work in the order it is due."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.integration.orders.conftest import PASSWORD, chart, plan_order, post, submitted

from openinfusion.accounts.models import Signature
from openinfusion.accounts.services import create_api_token
from openinfusion.accounts.signatures import content_hash, signature_matches
from openinfusion.audit.models import AuditEvent
from openinfusion.orders import services
from openinfusion.orders.models import Order, OrderStatus, Override
from openinfusion.patients.services import record_allergy, record_lab

pytestmark = pytest.mark.django_db


def act(client, order, action: str, **body: Any):
    return post(client, f"/api/v1/orders/{order.pk}/{action}", body)


def verify(client, order, version: int | None = None, **body: Any):
    payload = {"version": order.version if version is None else version, "password": PASSWORD, **body}
    return act(client, order, "verify", **payload)


def fresh(order) -> Order:
    return Order.objects.get(pk=order.pk)


def unchanged(order, status: str = OrderStatus.SUBMITTED) -> None:
    now = fresh(order)
    assert (now.status, now.version, now.verified_by_id, now.verification_id) == (status, order.version, None, None)


@pytest.fixture
def order(plan, prescriber):
    """Cycle 1 oxaliplatin, submitted: clean apart from a rounding note."""
    return submitted(plan_order(plan), prescriber)


@pytest.fixture
def verifier(pharmacist, client_for):
    return client_for(pharmacist)


# --- the happy path --------------------------------------------------------------------------------


def test_a_pharmacist_verifies_with_a_signature_bound_to_the_order(order, pharmacist, verifier):
    signed_content = services.signed_content(order)
    response = verify(verifier, order)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified" and response.json()["verified_by"] == "pharmacist"

    verified = fresh(order)
    signature = Signature.objects.get()
    assert verified.verification == signature and verified.verified_by == pharmacist
    assert (signature.signer, signature.meaning, signature.printed_name) == (pharmacist, "verified_by", "Marcus Okafor")
    assert (signature.entity_type, signature.entity_id) == ("orders.order", str(order.pk))
    assert signature.content_hash == content_hash(signed_content)
    assert signed_content["dose"] == "153 mg" and "status" not in signed_content
    assert signature_matches(signature, services.signed_content(verified)), "re-checkable after verification"

    event = AuditEvent.objects.get(action="orders:order:verified")
    assert event.actor == pharmacist and event.signature_meaning == "verified_by"
    assert {k: v for k, v in event.before.items() if k not in ("status", "version")} == signed_content
    assert (event.before["status"], event.after["status"]) == ("submitted", "verified")
    assert not Override.objects.exists()


# --- warnings need reasons, hard stops cannot be verified -----------------------------------------


@pytest.fixture
def order_with_two_warnings(plan, prescriber):
    """ANC 1.0 (below mFOLFOX6's hold at 1.5) and 165 mg ordered against 153 mg calculated (+7.8 %)."""
    record_lab(plan.patient_id, actor=prescriber, test="anc", value="1.0", unit="10^9/L")
    draft = plan_order(plan)
    draft = services.amend_order(
        draft.pk, actor=prescriber, expected_version=draft.version, reason="rounded up", dose="165 mg"
    )
    return submitted(draft, prescriber)


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({}, ["DOSE_DEVIATION", "LAB_HOLD"]),
        ({"LAB_HOLD": "oncologist accepts ANC 1.0 (note 12 Mar)"}, ["DOSE_DEVIATION"]),
        ({"LAB_HOLD": "oncologist accepts", "DOSE_DEVIATION": "   "}, ["DOSE_DEVIATION"]),
    ],
)
def test_each_warning_needs_an_override_reason(order_with_two_warnings, verifier, overrides, missing):
    order = order_with_two_warnings
    response = verify(verifier, order, overrides=overrides)
    assert response.status_code == 422
    assert response.json()["code"] == "OVERRIDE_REASON_REQUIRED"
    assert response.json()["details"]["missing"] == missing
    unchanged(order)
    assert not Override.objects.exists() and not Signature.objects.exists()
    assert AuditEvent.objects.get(action="orders:order:verify", outcome="refused").reason.startswith(
        "OVERRIDE_REASON_REQUIRED"
    )


def test_override_reasons_are_stored_and_audited(order_with_two_warnings, pharmacist, verifier):
    order = order_with_two_warnings
    reasons = {"LAB_HOLD": "oncologist accepts ANC 1.0", "DOSE_DEVIATION": "dose banding policy"}
    response = verify(verifier, order, overrides=reasons)
    assert response.status_code == 200, response.content
    stored = {o.code: o for o in Override.objects.filter(order=order)}
    assert {code: o.reason for code, o in stored.items()} == reasons
    assert all(o.by == pharmacist and o.order_version == order.version and o.message for o in stored.values())
    event = AuditEvent.objects.get(action="orders:order:verified")
    assert event.reason == "DOSE_DEVIATION: dose banding policy; LAB_HOLD: oncologist accepts ANC 1.0"
    assert fresh(order).status_reason == event.reason


def test_a_hard_stop_cannot_be_verified_even_with_a_reason(order, prescriber, verifier):
    record_allergy(order.patient_id, actor=prescriber, substance="oxaliplatin", severity="anaphylaxis")
    response = verify(verifier, order, overrides={"ALLERGY": "premedicated"})
    assert response.status_code == 409
    assert response.json()["code"] == "HARD_STOP"
    assert response.json()["details"]["findings"] == ["ALLERGY"]
    unchanged(order)
    assert not Signature.objects.exists() and not Override.objects.exists()
    assert AuditEvent.objects.filter(action="orders:order:verify", outcome="refused").count() == 1


# --- who may verify --------------------------------------------------------------------------------


def test_a_wrong_password_signs_nothing_and_the_order_stays_submitted(order, pharmacist, verifier):
    response = verify(verifier, order, password="not-my-password")
    assert response.status_code == 403
    assert response.json()["code"] == "WRONG_PASSWORD"
    unchanged(order)
    assert not Signature.objects.exists()
    refused = AuditEvent.objects.get(outcome="refused", reason__startswith="WRONG_PASSWORD")
    assert (refused.action, refused.actor) == ("orders:order:verify", pharmacist)


def test_a_prescriber_who_is_also_a_pharmacist_cannot_verify_their_own_order(
    patient, prescribing_pharmacist, client_for
):
    mine = services.create_order(
        patient.pk,
        actor=prescribing_pharmacist,
        drug_key="cefazolin",
        dose="2 g",
        route="IV",
        planned_start=timezone.now() + dt.timedelta(hours=2),
    )
    mine = submitted(mine, prescribing_pharmacist)
    response = verify(client_for(prescribing_pharmacist), mine)
    assert response.status_code == 403
    assert response.json()["code"] == "SAME_PERSON"
    unchanged(mine)
    assert not Signature.objects.exists()


def test_another_pharmacist_may_verify_the_prescribing_pharmacists_order(
    patient, prescribing_pharmacist, second_pharmacist, client_for
):
    theirs = services.create_order(
        patient.pk,
        actor=prescribing_pharmacist,
        drug_key="cefazolin",
        dose="2 g",
        route="IV",
        planned_start=timezone.now() + dt.timedelta(hours=2),
    )
    theirs = submitted(theirs, prescribing_pharmacist)
    assert verify(client_for(second_pharmacist), theirs).status_code == 200


@pytest.mark.parametrize("persona", ["technician", "nurse", "prescriber"])
def test_only_a_pharmacist_may_verify(order, persona, request, client_for):
    response = verify(client_for(request.getfixturevalue(persona)), order)
    assert response.status_code == 403
    unchanged(order)


def test_a_bearer_token_client_must_give_the_username_to_sign(order, pharmacist):
    _, raw = create_api_token(actor=pharmacist, name="verification script")
    client, auth = Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    path = f"/api/v1/orders/{order.pk}/verify"

    without = client.post(
        path, {"version": order.version, "password": PASSWORD}, content_type="application/json", **auth
    )
    assert without.status_code == 422
    assert without.json()["code"] == "USERNAME_REQUIRED"
    unchanged(order)

    signed = client.post(
        path,
        {"version": order.version, "password": PASSWORD, "username": "pharmacist"},
        content_type="application/json",
        **auth,
    )
    assert signed.status_code == 200, signed.content
    assert Signature.objects.get().signer == pharmacist


# --- concurrency -----------------------------------------------------------------------------------


def test_verifying_a_version_that_changed_is_refused_naming_the_changes(order, prescriber, second_pharmacist, verifier):
    """The pharmacist opened version 2 (153 mg); meanwhile another pharmacist returned it, the
    prescriber changed the dose to 140 mg and resubmitted."""
    opened = order.version
    services.return_order(order.pk, actor=second_pharmacist, expected_version=opened, reason="please round down")
    changed = services.amend_order(
        order.pk, actor=prescriber, expected_version=opened + 1, reason="rounded down", dose="140 mg"
    )
    submitted(changed, prescriber)

    response = verify(verifier, order, version=opened)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "STALE_EDIT"
    assert body["details"]["expected_version"] == opened and body["details"]["current_version"] == opened + 3
    assert "dose: 153 mg → 140 mg" in body["details"]["changes"]
    assert "153 mg → 140 mg" in body["message"]
    assert fresh(order).status == OrderStatus.SUBMITTED and not Signature.objects.exists()


def test_a_stale_version_names_a_status_change(order, second_pharmacist, verifier):
    services.hold_order(order.pk, actor=second_pharmacist, expected_version=order.version, reason="awaiting CBC")
    response = verify(verifier, order)
    assert response.status_code == 409
    assert "status is now On hold" in response.json()["details"]["changes"]


# --- return, hold, cancel, and illegal transitions -------------------------------------------------


@pytest.mark.parametrize("action", ["return", "hold"])
def test_return_and_hold_need_a_reason(order, verifier, action):
    for reason in ("", "   "):
        response = act(verifier, order, action, version=order.version, reason=reason)
        assert response.status_code == 422
        assert response.json()["code"] == "REASON_REQUIRED"
    unchanged(order)
    done = act(verifier, order, action, version=order.version, reason="  ANC 1.0: hold until recovery  ")
    assert done.status_code == 200
    assert done.json()["status"] == {"return": "returned", "hold": "on_hold"}[action]
    assert done.json()["status_reason"] == "ANC 1.0: hold until recovery"


def bring_to(order, status: str, prescriber, pharmacist) -> Order:
    """A plan order (a draft) moved through the services to ``status``."""
    if status == OrderStatus.DRAFT:
        return order
    order = submitted(order, prescriber)
    if status == OrderStatus.RETURNED:
        return services.return_order(order.pk, actor=pharmacist, expected_version=order.version, reason="check")
    if status == OrderStatus.ON_HOLD:
        return services.hold_order(order.pk, actor=pharmacist, expected_version=order.version, reason="labs")
    if status == OrderStatus.VERIFIED:
        return services.verify_order(order.pk, actor=pharmacist, expected_version=order.version, password=PASSWORD)
    return order


@pytest.mark.parametrize(
    "status",
    [OrderStatus.DRAFT, OrderStatus.SUBMITTED, OrderStatus.RETURNED, OrderStatus.ON_HOLD, OrderStatus.VERIFIED],
)
def test_an_order_can_be_cancelled_from_every_state_but_cancelled(plan, prescriber, pharmacist, client_for, status):
    order = bring_to(plan_order(plan), status, prescriber, pharmacist)
    assert order.status == status
    client = client_for(prescriber)
    assert act(client, order, "cancel", version=order.version, reason="").json()["code"] == "REASON_REQUIRED"
    response = act(client, order, "cancel", version=order.version, reason="patient declined")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    again = act(client, fresh(order), "cancel", version=fresh(order).version, reason="again")
    assert again.status_code == 409 and again.json()["code"] == "WRONG_STATE"
    event = AuditEvent.objects.get(action="orders:order:cancelled")
    assert (event.before["status"], event.reason) == (status, "patient declined")


def test_verifying_a_draft_is_refused_and_signs_nothing(plan, verifier):
    draft = plan_order(plan)
    response = verify(verifier, draft)
    assert response.status_code == 409
    assert response.json()["code"] == "WRONG_STATE"
    unchanged(draft, OrderStatus.DRAFT)
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    ("status", "persona", "action"),
    [
        (OrderStatus.DRAFT, "pharmacist", "return"),
        (OrderStatus.DRAFT, "pharmacist", "hold"),
        (OrderStatus.VERIFIED, "prescriber", "submit"),
        (OrderStatus.VERIFIED, "pharmacist", "return"),
        (OrderStatus.RETURNED, "pharmacist", "hold"),
    ],
)
def test_transitions_not_in_the_table_are_refused(
    plan, prescriber, pharmacist, client_for, request, status, persona, action
):
    order = bring_to(plan_order(plan), status, prescriber, pharmacist)
    client = client_for(request.getfixturevalue(persona))
    response = act(client, order, action, version=order.version, reason="because")
    assert response.status_code == 409
    assert response.json()["code"] == "WRONG_STATE"
    assert fresh(order).status == status and fresh(order).version == order.version


# --- the queue -------------------------------------------------------------------------------------


def test_the_queue_is_by_planned_start_then_priority_and_only_my_sites(
    patient, prescriber, pharmacist, south_prescriber, other_site, verifier
):
    soon = timezone.now() + dt.timedelta(days=1)

    def write(drug: str, hours: int, priority: int, *, submit: bool = True, who=prescriber, chart_=patient):
        written = services.create_order(
            chart_.pk,
            actor=who,
            drug_key=drug,
            dose="1 g",
            route="IV",
            planned_start=soon + dt.timedelta(hours=hours),
            priority=priority,
        )
        return submitted(written, who) if submit else written

    later_routine = write("cefazolin", 30, 5)
    first_routine = write("ceftriaxone", 0, 5)
    first_stat = write("meropenem", 0, 1)
    middle = write("piperacillin-tazobactam", 6, 3)
    held = services.hold_order(middle.pk, actor=pharmacist, expected_version=middle.version, reason="labs")
    write("cefazolin", -2, 1, submit=False)  # a draft is the prescriber's, not the pharmacist's
    south_patient = chart(south_prescriber, other_site, mrn="S-1")
    write("cefazolin", -3, 1, who=south_prescriber, chart_=south_patient)

    queue = verifier.get("/api/v1/verification-queue")
    assert queue.status_code == 200
    assert [o["id"] for o in queue.json()] == [first_stat.pk, first_routine.pk, held.pk, later_routine.pk]
    assert {o["status"] for o in queue.json()} == {"submitted", "on_hold"}


def test_a_queued_order_of_another_site_is_404(order, make_user, other_site, client_for):
    south = make_user("south-pharmacist", "pharmacist", sites=("south",))
    assert client_for(south).get(f"/api/v1/orders/{order.pk}").status_code == 404
    response = verify(client_for(south), order)
    assert response.status_code == 404
    unchanged(order)
