"""Electronic signatures: 21 CFR 11.200(a) (two components outside a continuous session),
11.50 (printed name, time, meaning), 11.70 (bound to the signed content)."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from tests.conftest import PASSWORD

from openinfusion.accounts.middleware import SESSION_STARTED_KEY, SessionLifetimeMiddleware
from openinfusion.accounts.models import Signature, SignatureMeaning
from openinfusion.accounts.signatures import sign, signature_matches
from openinfusion.audit.models import AuditEvent
from openinfusion.audit.services import audited
from openinfusion.errors import DomainError

pytestmark = pytest.mark.django_db

CONTENT = {"order": 41, "drug": "oxaliplatin", "dose": "85 mg/m2", "calculated_mg": "161.5"}


def signed(user, **overrides):
    arguments = {
        "actor": user,
        "signer_username": None,
        "password": PASSWORD,
        "meaning": SignatureMeaning.VERIFIED_BY,
        "entity_type": "orders.order",
        "entity_id": 41,
        "content": CONTENT,
        "continuous_session": True,
    }
    return sign(**{**arguments, **overrides})


def test_a_signature_records_printed_name_time_meaning_and_content_hash(pharmacist):
    signature = signed(pharmacist)
    assert signature.printed_name == "Marcus Okafor"
    assert signature.meaning == "verified_by"
    assert signature.signed_at is not None
    assert signature_matches(signature, CONTENT)
    event = AuditEvent.objects.get(action="accounts:signature:verified_by")
    assert event.signature_meaning == "verified_by" and event.actor == pharmacist


def test_a_changed_record_no_longer_matches_its_signature(pharmacist):
    signature = signed(pharmacist)
    assert not signature_matches(signature, {**CONTENT, "calculated_mg": "1615"})


def test_a_signature_copied_onto_another_record_does_not_match_it(pharmacist):
    signature = signed(pharmacist)
    assert not signature_matches(signature, {**CONTENT, "order": 42})


def test_a_wrong_password_signs_nothing_and_is_audited(pharmacist):
    with pytest.raises(DomainError) as refused:
        signed(pharmacist, password="not-my-password")
    assert refused.value.code == "WRONG_PASSWORD"
    assert not Signature.objects.exists()
    event = AuditEvent.objects.get(action="accounts:signature:sign", outcome="refused")
    assert event.reason.startswith("WRONG_PASSWORD") and event.entity_id == "41"


def test_a_missing_password_is_refused(pharmacist):
    with pytest.raises(DomainError) as refused:
        signed(pharmacist, password="")
    assert refused.value.code == "PASSWORD_REQUIRED"


def test_outside_a_continuous_session_both_username_and_password_are_needed(pharmacist):
    with pytest.raises(DomainError) as refused:
        signed(pharmacist, continuous_session=False)
    assert refused.value.code == "USERNAME_REQUIRED"
    assert signed(pharmacist, continuous_session=False, signer_username="pharmacist").pk


def test_nobody_can_sign_as_another_user(pharmacist, make_user):
    make_user("pharmacist2", "pharmacist")
    with pytest.raises(DomainError) as refused:
        signed(pharmacist, signer_username="pharmacist2", continuous_session=False)
    assert refused.value.code == "SIGNER_NOT_USER"
    assert not Signature.objects.exists()


def test_a_refused_signature_inside_a_service_leaves_exactly_one_refusal_event(pharmacist):
    @audited("tests:order:verify")
    def verify(*, actor):
        signed(actor, password="wrong")

    with pytest.raises(DomainError):
        verify(actor=pharmacist)
    refusals = AuditEvent.objects.filter(outcome="refused")
    assert [e.action for e in refusals] == ["tests:order:verify"]


def test_signature_and_transition_roll_back_together(pharmacist):
    with pytest.raises(RuntimeError), transaction.atomic():
        signed(pharmacist)
        raise RuntimeError("the verification failed after signing")
    assert not Signature.objects.exists()


def refuse_signatures_in_requests(user, count: int) -> list[str]:
    """``count`` requests that each try to verify an order with a wrong signature password."""

    @audited("tests:order:verify")
    def verify(*, actor):
        signed(actor, password="wrong")

    codes = []

    def view(request):
        try:
            verify(actor=user)
        except DomainError as error:
            codes.append(error.code)
        return HttpResponse(status=403)

    middleware = SessionLifetimeMiddleware(view)
    for _ in range(count):
        request = RequestFactory().post("/orders/41/verify")
        request.user = user
        request.session = SessionStore()
        request.session[SESSION_STARTED_KEY] = time.time()
        middleware(request)
        user.refresh_from_db()
    return codes


@override_settings(LOGIN_FAILURE_LIMIT=5)
def test_wrong_signature_passwords_count_as_failed_sign_ins_and_lock_the_account(pharmacist):
    codes = refuse_signatures_in_requests(pharmacist, 8)
    assert codes == ["WRONG_PASSWORD"] * 5 + ["ACCOUNT_LOCKED"] * 3
    pharmacist.refresh_from_db()
    assert pharmacist.locked_until is not None
    assert Client().post("/login/", {"username": "pharmacist", "password": PASSWORD}).status_code == 401


@override_settings(LOGIN_FAILURE_LIMIT=5)
def test_signature_and_sign_in_failures_add_up(pharmacist):
    refuse_signatures_in_requests(pharmacist, 2)
    for _ in range(3):
        Client().post("/login/", {"username": "pharmacist", "password": "wrong-password"})
    pharmacist.refresh_from_db()
    assert pharmacist.locked_until is not None
    with pytest.raises(DomainError) as refused:
        signed(pharmacist)
    assert refused.value.code == "ACCOUNT_LOCKED"
