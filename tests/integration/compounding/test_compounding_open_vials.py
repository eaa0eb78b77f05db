"""Open vials: what is left in a punctured vial may be kept for the next dose of the same drug,
within its in-use limit — 12 hours for a single-dose vial punctured in ISO Class 5 air, 28 days for
a multiple-dose vial (USP <797> §14.4, §14.5) — counted in elapsed hours, so the limit and the BUD
are right across a daylight-saving change; an expired open vial is refused and wasted with the
reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from tests.integration.compounding.conftest import (
    CARBOPLATIN_50,
    OXALIPLATIN_50,
    OXALIPLATIN_50_FRESENIUS,
    lot_scan,
    refused_event,
    state,
    verified_order,
)

from openinfusion.audit.models import AuditEvent
from openinfusion.compounding import services, walkthrough
from openinfusion.compounding.models import InterceptedError, OpenVial, Scan
from openinfusion.errors import DomainError
from openinfusion.inventory.models import StockMovement

pytestmark = pytest.mark.django_db

BASE = "/api/v1/compounding"
NEW_YORK = ZoneInfo("America/New_York")
CARBOPLATIN_450 = "61703-339-50"


@contextmanager
def clock_at(moment: dt.datetime) -> Iterator[None]:
    """The services read the time themselves (complete_preparation takes no time argument), so
    the suite's clock stands still at ``moment`` — the only seam for the instant a vial is opened."""
    with time_machine.travel(moment, tick=False):
        yield


def kept_open(preparation, technician):
    walkthrough.prepare(preparation, technician, steps=len(preparation.plan["steps"]))
    return services.complete_preparation(preparation.pk, actor=technician, keep_open_vials=True)


@pytest.fixture
def open_vial(preparation, technician) -> OpenVial:
    """What is left of the second 100 mg/20 mL vial after drawing 10.6 mL for 153 mg."""
    kept_open(preparation, technician)
    return OpenVial.objects.get()


@pytest.fixture
def next_preparation(open_vial, patient, prescriber, pharmacist, receive, hazardous_room):
    """A second oxaliplatin dose for the same room, with 50 mg vials on the shelf as well."""
    receive(OXALIPLATIN_50, "OX-50-A", hazardous_room, quantity=3)
    receive(OXALIPLATIN_50_FRESENIUS, "FK-50-A", hazardous_room, quantity=3)
    order = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(hours=3))
    return services.plan_preparation(order.pk, actor=pharmacist)


def test_a_single_dose_vial_is_kept_for_12_hours(preparation, technician, hazardous_room, stocked, client_for):
    completed = kept_open(preparation, technician)
    vial = OpenVial.objects.get()
    assert (vial.lot, vial.location, vial.opened_for_id, vial.status) == (
        stocked["oxaliplatin"],
        hazardous_room,
        preparation.pk,
        "open",
    )
    assert vial.remaining_ml == Decimal("9.4")
    assert vial.opened_at == completed.completed_at
    assert vial.expires_at - vial.opened_at == dt.timedelta(hours=12)
    listed = client_for(technician).get(f"{BASE}/open-vials").json()
    assert [(v["id"], v["lot"], Decimal(str(v["remaining_ml"])), v["status"]) for v in listed] == [
        (vial.pk, "OX-100-A", Decimal("9.4"), "open")
    ]


def test_without_keeping_nothing_is_left_open(preparation, technician):
    walkthrough.prepare(preparation, technician)
    assert not OpenVial.objects.exists()


def test_the_next_dose_of_the_drug_draws_from_the_open_vial_first(open_vial, next_preparation, technician):
    first = next_preparation.plan["draws"][0]
    assert (first["open_vial_id"], first["draw_ml"], first["amount"]) == (open_vial.pk, "9.4", "47")
    assert next_preparation.plan["steps"][0]["open_vial_id"] == open_vial.pk
    # 153 − 47 = 106 mg from new vials: 100 mg + 50 mg
    assert sorted(d["amount"] for d in next_preparation.plan["draws"][1:]) == ["100", "6"]
    services.start_preparation(next_preparation.pk, actor=technician)
    movements = StockMovement.objects.count()
    services.record_scan(next_preparation.pk, actor=technician, scan=lot_scan(open_vial.lot, "OPEN"))
    assert StockMovement.objects.count() == movements  # the open vial already left stock when first scanned
    assert Scan.objects.get(step__preparation=next_preparation).open_vial == open_vial
    next_preparation.refresh_from_db()
    walkthrough.prepare(next_preparation, technician)
    used = OpenVial.objects.get(pk=open_vial.pk)
    assert (used.status, used.remaining_ml) == ("used_up", 0)
    assert used.closed_reason == f"used up by preparation:{next_preparation.pk}"


def test_the_open_vial_is_refused_once_its_12_hours_have_passed(open_vial, next_preparation, technician):
    services.start_preparation(next_preparation.pk, actor=technician)
    with clock_at(open_vial.expires_at + dt.timedelta(minutes=1)):
        before = state(next_preparation)
        with pytest.raises(DomainError) as refused:
            services.record_scan(next_preparation.pk, actor=technician, scan=lot_scan(open_vial.lot, "OPEN"))
    assert refused.value.code == "OPEN_VIAL_EXPIRED"
    assert state(next_preparation) == before
    assert InterceptedError.objects.get(preparation=next_preparation).code == "OPEN_VIAL_EXPIRED"
    refused_event("compounding:preparation:scan", "OPEN_VIAL_EXPIRED")


def test_expired_open_vials_are_wasted_with_the_reason(open_vial, next_preparation, technician, client_for):
    assert services.expire_open_vials(actor=None, now=open_vial.expires_at - dt.timedelta(seconds=1)) == 0
    assert services.expire_open_vials(actor=None, now=open_vial.expires_at) == 1
    wasted = OpenVial.objects.get(pk=open_vial.pk)
    assert (wasted.status, wasted.closed_at) == ("wasted", open_vial.expires_at)
    assert "in-use limit" in wasted.closed_reason and "USP <797>" in wasted.closed_reason
    # told in the site's own time (North runs on New York time), not UTC
    local = open_vial.expires_at.astimezone(ZoneInfo("America/New_York"))
    assert f"{local:%Y-%m-%d %H:%M %Z}" in wasted.closed_reason and "UTC" not in wasted.closed_reason
    event = AuditEvent.objects.get(action="compounding:open_vial:wasted")
    assert event.reason == wasted.closed_reason and event.after == {"remaining_ml": "9.400"}
    assert client_for(technician).get(f"{BASE}/open-vials").json() == []
    # the preparation planned while it was open now finds it wasted
    services.start_preparation(next_preparation.pk, actor=technician)
    with pytest.raises(DomainError) as refused:
        services.record_scan(next_preparation.pk, actor=technician, scan=lot_scan(open_vial.lot, "OPEN"))
    assert refused.value.code == "OPEN_VIAL_EXPIRED"


def test_a_wasted_open_vial_is_not_planned_again(open_vial, patient, prescriber, pharmacist):
    services.expire_open_vials(actor=None, now=open_vial.expires_at)
    order = verified_order(patient, prescriber, pharmacist)
    plan = services.plan_preparation(order.pk, actor=pharmacist).plan
    assert all(d["open_vial_id"] is None for d in plan["draws"])


# --- daylight saving: the clocks go back at 02:00 EDT on 1 November 2026 in New York ---------------


@pytest.mark.clock_at("2026-10-31T12:00:00-04:00")  # stock and staff set up the day before
def test_a_single_dose_vial_opened_before_the_clocks_go_back_expires_12_elapsed_hours_later(
    patient, prescriber, pharmacist, technician, stocked
):
    opened = dt.datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK)  # EDT, UTC−4
    with clock_at(opened.astimezone(dt.UTC)):
        order = verified_order(patient, prescriber, pharmacist)
        preparation = services.plan_preparation(order.pk, actor=pharmacist)
        completed = kept_open(preparation, technician)
    vial = OpenVial.objects.get()
    expires = vial.expires_at.astimezone(NEW_YORK)
    assert (expires.hour, expires.minute, expires.utcoffset()) == (11, 30, dt.timedelta(hours=-5))  # not 12:30
    assert vial.expires_at - opened == dt.timedelta(hours=12)
    # the BUD (24 h refrigerated) is 24 real hours too: 23:30 EST on 1 November, not 00:30 on the 2nd
    bud = completed.bud.astimezone(NEW_YORK)
    assert (bud.date(), bud.hour, bud.minute) == (dt.date(2026, 11, 1), 23, 30)
    assert completed.bud - opened == dt.timedelta(hours=24)


@pytest.mark.clock_at("2026-10-25T08:00:00-04:00")
def test_a_multiple_dose_vial_is_kept_28_days_of_elapsed_time(
    patient, prescriber, pharmacist, technician, receive, hazardous_room, stocked
):
    """Carboplatin 420 mg: one 450 mg/45 mL multiple-dose vial, 3 mL left."""
    lot = receive(CARBOPLATIN_450, "CB-450-A", hazardous_room, quantity=2)
    receive(CARBOPLATIN_50, "CB-50-A", hazardous_room, quantity=2)
    opened = dt.datetime(2026, 10, 25, 12, 0, tzinfo=NEW_YORK)  # EDT
    with clock_at(opened.astimezone(dt.UTC)):
        order = verified_order(patient, prescriber, pharmacist, drug="carboplatin", dose="420 mg", duration_minutes=30)
        preparation = services.plan_preparation(order.pk, actor=pharmacist)
        assert [(d["amount"], d["single_dose"]) for d in preparation.plan["draws"]] == [("420", False)]
        kept_open(preparation, technician)
    vial = OpenVial.objects.get()
    assert (vial.lot, vial.remaining_ml) == (lot, Decimal(3))
    assert vial.expires_at - vial.opened_at == dt.timedelta(days=28)
    expires = vial.expires_at.astimezone(NEW_YORK)
    assert (expires.date(), expires.hour) == (dt.date(2026, 11, 22), 11)  # 11:00 EST: elapsed days, not wall days


def test_opening_the_queue_at_another_site_leaves_this_sites_open_vials_alone(open_vial, make_user, other_site):
    south = make_user("south-technician", "technician", sites=("south",))
    assert services.expire_open_vials(actor=south, now=open_vial.expires_at) == 0
    assert OpenVial.objects.get(pk=open_vial.pk).status == "open"
    assert services.expire_open_vials(actor=None, now=open_vial.expires_at) == 1
