"""Electronic signatures: 21 CFR 11.200(a) (two components outside a continuous session),
11.50 (printed name, time, meaning), 11.70 (bound to the signed content)."""

from __future__ import annotations

import pytest
from django.db import transaction
from tests.conftest import PASSWORD

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
