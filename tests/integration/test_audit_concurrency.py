"""Concurrent writers keep the chain linear: no forks, no gaps (reliability B5)."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from openinfusion.audit.models import AuditEvent
from openinfusion.audit.services import record
from openinfusion.audit.verify import verify_chain

WRITERS = 8
EVENTS_EACH = 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(flushable_audit, pharmacist):
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(EVENTS_EACH):
                with transaction.atomic():
                    record("tests:thing:changed", actor=pharmacist, entity_type="thing", entity_id=f"{n}-{i}")
        except BaseException as error:  # collected and re-raised in the test thread
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(prev_hashes) == len(set(prev_hashes)), "two events share a predecessor: the chain forked"
    assert AuditEvent.objects.filter(entity_type="thing").count() == WRITERS * EVENTS_EACH
    assert verify_chain().intact
