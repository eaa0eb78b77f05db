"""Best slots for a new visit: the appointment times to offer a patient on the phone, each with its
effect on the day.

Every candidate appointment time in the patient's window (every `step` minutes) is tried by
inserting the visit into the current plan with the greedy repair (everyone else keeps their place
if they still fit, the visit takes the first chair, nurse and hood free after its release). The
result of each try is checked by the independent checker and compared with the current plan on the
optimiser's objective, so an offer says what it costs: the patient's own wait, and the change in
the day's length, nurse overtime and peak chairs. The offers are sorted by that cost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.fcfs import greedy_schedule
from openinfusion.scheduling.metrics import day_metrics, objective_value
from openinfusion.scheduling.model import Appointment, Day, Schedule


@dataclass(frozen=True)
class SlotOffer:
    arrival: int
    """The appointment time to give the patient."""
    start: int
    """When the infusion would start (after labs and compounding)."""
    chair: str
    nurse: str
    wait: int
    cost: int
    """Change in the day's objective (lower is better)."""
    day_length_change: int
    overtime_change: int
    peak_change: int
    moved: int
    """Other visits that would have to move."""


def offer_slots(day: Day, plan: Schedule, request: Appointment, step: int = 15, limit: int = 5) -> list[SlotOffer]:
    """Up to `limit` offers for `request` (its arrival window is [earliest, latest]), cheapest first."""
    if step <= 0:
        raise ValueError("step must be positive")
    others = {a.appointment_id: a for a in plan.assignments}
    before = day_metrics(day, plan)
    base_cost = objective_value(day, plan)
    offers: dict[int, SlotOffer] = {}
    for arrival in range(request.earliest, request.latest + 1, step):
        visit = replace(request, arrival=arrival, earliest=arrival, latest=max(request.latest, day.last_setup))
        trial_day = replace(day, appointments=(*day.appointments, visit))
        trial = greedy_schedule(trial_day, previous=others, method="offer")
        if trial.unscheduled or check_schedule(trial_day, trial):
            continue
        placed = trial.by_id()[visit.id]
        after = day_metrics(trial_day, trial)
        offer = SlotOffer(
            arrival=arrival,
            start=placed.start,
            chair=placed.chair,
            nurse=placed.nurse,
            wait=placed.start - arrival,
            cost=objective_value(trial_day, trial) - base_cost,
            day_length_change=after.day_length - before.day_length,
            overtime_change=after.overtime_minutes - before.overtime_minutes,
            peak_change=after.peak_occupancy - before.peak_occupancy,
            moved=sum(
                1
                for a in trial.assignments
                if a.appointment_id in others
                and (a.start, a.chair) != (others[a.appointment_id].start, others[a.appointment_id].chair)
            ),
        )
        # the same start reached from a later appointment time means less waiting: keep that one
        if offer.start not in offers or offers[offer.start].wait > offer.wait:
            offers[offer.start] = offer
    return sorted(offers.values(), key=lambda o: (o.cost, o.wait, o.arrival))[:limit]
