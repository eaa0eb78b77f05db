"""The audit trail is append-only and tamper-evident (ONC 170.315(d)(2); 21 CFR 11.10(e))."""

from __future__ import annotations

import itertools
import json

import pytest
from django.db import DatabaseError, connection, transaction

from openinfusion.audit import chain
from openinfusion.audit.models import AuditEvent
from openinfusion.audit.services import record
from openinfusion.audit.verify import verify_chain
from openinfusion.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(pharmacist, site):
    with transaction.atomic():
        for n in range(5):
            record(
                "tests:thing:changed",
                actor=pharmacist,
                site=site,
                entity_type="thing",
                entity_id=n,
                before={"dose_mg": "100"},
                after={"dose_mg": str(100 + n)},
                reason=f"change {n}",
            )
    return list(AuditEvent.objects.order_by("id"))


def test_an_untouched_chain_verifies_and_counts_every_event(events):
    report = verify_chain()
    assert report.intact
    assert report.count == AuditEvent.objects.count() >= 5


def test_each_event_links_to_the_hash_before_it(events):
    rows = list(AuditEvent.objects.order_by("id"))
    assert rows[0].prev_hash == chain.GENESIS_HASH
    for previous, current in itertools.pairwise(rows):
        assert current.prev_hash == previous.hash


def test_the_database_refuses_to_update_an_event(events):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=events[1].pk).update(reason="nothing happened")


def test_the_database_refuses_to_delete_an_event(events):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])


def test_the_database_refuses_to_empty_the_audit_table(events):
    statement = (
        "TRUNCATE audit_auditevent CASCADE" if connection.vendor == "postgresql" else "DELETE FROM audit_auditevent"
    )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.count() == len(events)


def test_an_altered_event_is_detected_and_named(events, tamper):
    target = events[2]
    tamper("UPDATE audit_auditevent SET after = %s WHERE id = %s", (json.dumps({"dose_mg": "1000"}), target.pk))
    report = verify_chain()
    assert not report.intact
    assert report.first_broken_id == target.pk
    assert "altered" in report.problem


def test_a_deleted_event_is_detected(events, tamper):
    target = events[2]
    tamper("DELETE FROM audit_auditevent WHERE id = %s", (target.pk,))
    report = verify_chain()
    assert not report.intact
    assert report.first_broken_id == target.pk + 1
    assert "missing" in report.problem


def test_an_inserted_forged_event_is_detected(events, tamper):
    # Make room by shifting ids is impossible without rewriting later hashes; a forger appends a
    # row with a self-consistent hash but the wrong predecessor.
    last = events[-1]
    forged = {name: getattr(last, name) for name in chain.CHAINED_FIELDS}
    forged.update(id=last.pk + 1, reason="forged")
    forged_hash = chain.link_hash(events[0].hash, forged)
    tamper(
        "INSERT INTO audit_auditevent (id, at, actor_username, action, outcome, entity_type, entity_id, patient_id, "
        "reason, signature_meaning, request_id, prev_hash, hash) VALUES (" + ", ".join(["%s"] * 13) + ")",
        (
            last.pk + 1,
            last.at,
            last.actor_username,
            last.action,
            last.outcome,
            last.entity_type,
            last.entity_id,
            last.patient_id,
            "forged",
            "",
            "",
            events[0].hash,
            forged_hash,
        ),
    )
    report = verify_chain()
    assert not report.intact
    assert report.first_broken_id == last.pk + 1


def test_a_deleted_tail_is_detected_against_the_chain_head(events, tamper):
    tamper("DELETE FROM audit_auditevent WHERE id = %s", (events[-1].pk,))
    report = verify_chain()
    assert not report.intact
    assert "deleted from the end" in report.problem


def test_audit_verify_command_exits_zero_with_the_count_when_intact(events, capsys):
    assert main(["audit", "verify", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["intact"] is True and out["count"] == AuditEvent.objects.count()


def test_audit_verify_command_exits_non_zero_naming_the_first_broken_event(events, tamper, capsys):
    tamper("UPDATE audit_auditevent SET actor_username = 'someone-else' WHERE id = %s", (events[3].pk,))
    assert main(["audit", "verify"]) == 1
    assert f"BROKEN at event {events[3].pk}" in capsys.readouterr().out


def test_an_audit_event_commits_or_rolls_back_with_the_change_it_describes(pharmacist):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        record("tests:thing:changed", actor=pharmacist, entity_type="thing", entity_id=1)
        raise RuntimeError("the business write failed")
    assert AuditEvent.objects.count() == before
    assert verify_chain().intact


def test_decimal_values_are_kept_exactly_not_as_floats(pharmacist):
    from decimal import Decimal

    with transaction.atomic():
        event = record("tests:thing:changed", actor=pharmacist, after={"dose_mg": Decimal("0.1")})
    event.refresh_from_db()
    assert event.after == {"dose_mg": "0.1"}
    assert verify_chain().intact
