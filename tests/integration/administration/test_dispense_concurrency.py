"""At once: two people dispensing the same checked dose dispense it once (a row lock on the
preparation, and the one-open-dispense constraint behind it)."""

from __future__ import annotations

import pytest
from tests.integration.administration.conftest import dispense
from tests.integration.compounding.test_compounding_concurrency import race

from openinfusion.administration.models import Dispense
from openinfusion.audit.models import AuditEvent
from openinfusion.orders.models import Order

# serialized rollback restores the seeded roles that the flush after each transactional test empties
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_dose_dispensed_twice_at_once_is_dispensed_once(committed_db, checked, technician, pharmacist):
    outcomes = race(
        [
            lambda: dispense(checked, technician, "chair", "Chair 03"),
            lambda: dispense(checked, pharmacist, "ward", "4 West bed 7"),
        ]
    )
    assert sorted(outcomes) == ["ALREADY_DISPENSED", "ok"]
    sent = Dispense.objects.get(preparation=checked)
    assert sent.dispensed_by == (technician if outcomes[0] == "ok" else pharmacist)
    assert sent.handoffs.count() == 1
    assert Order.objects.get(pk=checked.order_id).status == "dispensed"
    assert AuditEvent.objects.filter(action="administration:dispense:created").count() == 1
    assert AuditEvent.objects.filter(action="orders:order:dispensed").count() == 1
