"""Best-slot offers: each offer is an appointment time inside the patient's window, its insertion
into the current plan passes the independent checker, offers come cheapest first, and a window the
day cannot take gets no offer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.fcfs import fcfs_schedule, greedy_schedule
from openinfusion.scheduling.generator import generate_day
from openinfusion.scheduling.model import Appointment, Chair, Day, Nurse
from openinfusion.scheduling.slots import offer_slots


def _request(earliest: int, latest: int, minutes: int = 60, labs: bool = False) -> Appointment:
    return Appointment(
        id="new",
        patient="P-new",
        regimen="hydration",
        chair_minutes=minutes,
        prep_minutes=0,
        hazardous=False,
        earliest=earliest,
        latest=latest,
        needs_labs=labs,
    )


def _one_chair_day() -> Day:
    """One chair, one nurse 08:00-12:00, a visit 09:00-10:00 already there."""
    busy = replace(_request(9 * 60, 9 * 60), id="busy", patient="P-busy")
    return Day(
        opening=8 * 60,
        closing=12 * 60,
        chairs=(Chair("C1"),),
        nurses=(Nurse("N1", 8 * 60, 12 * 60),),
        rooms=(),
        appointments=(busy,),
    )


def test_the_free_hour_is_offered_without_wait_and_the_busy_hour_is_not():
    day = _one_chair_day()
    plan = fcfs_schedule(day)
    offers = offer_slots(day, plan, _request(8 * 60, 11 * 60), step=30)
    starts = {o.start for o in offers}
    assert 8 * 60 in starts  # 08:00-09:00 is free
    assert not any(9 * 60 < o.start < 10 * 60 for o in offers)  # the chair holds the busy visit
    free = next(o for o in offers if o.start == 8 * 60)
    assert (free.arrival, free.wait, free.moved) == (8 * 60, 0, 0)


def test_a_window_the_day_cannot_take_gets_no_offer():
    day = _one_chair_day()
    assert offer_slots(day, fcfs_schedule(day), _request(13 * 60, 14 * 60)) == []


def test_labs_make_the_offered_start_wait_for_the_result():
    day = _one_chair_day()
    offers = offer_slots(day, fcfs_schedule(day), _request(8 * 60, 8 * 60, minutes=30, labs=True))
    assert len(offers) == 1 and offers[0].start >= 8 * 60 + offers[0].wait and offers[0].wait >= 60


@pytest.mark.parametrize("seed", [1, 2])
def test_offers_on_a_generated_day_are_in_the_window_cheapest_first_and_feasible(seed):
    day = generate_day("S", seed)
    plan = fcfs_schedule(day)
    request = _request(10 * 60, 14 * 60, minutes=90, labs=True)
    offers = offer_slots(day, plan, request, step=30, limit=5)
    assert 0 < len(offers) <= 5
    assert [o.cost for o in offers] == sorted(o.cost for o in offers)
    for offer in offers:
        assert request.earliest <= offer.arrival <= request.latest and offer.start - offer.arrival == offer.wait
        visit = replace(request, arrival=offer.arrival, earliest=offer.arrival, latest=day.last_setup)
        trial_day = replace(day, appointments=(*day.appointments, visit))
        trial = greedy_schedule(trial_day, previous=plan.by_id())
        assert trial.by_id()["new"].start == offer.start
        assert check_schedule(trial_day, trial) == []


def test_a_non_positive_step_is_refused():
    day = _one_chair_day()
    with pytest.raises(ValueError, match="step"):
        offer_slots(day, fcfs_schedule(day), _request(8 * 60, 9 * 60), step=0)
