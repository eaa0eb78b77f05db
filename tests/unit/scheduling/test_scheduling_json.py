"""The day JSON: round trip, and validation errors that name the field."""

from __future__ import annotations

import json

import pytest

from openinfusion.scheduling.day_json import (
    DayJsonError,
    day_from_dict,
    day_to_dict,
    schedule_from_dict,
    schedule_to_dict,
)
from openinfusion.scheduling.fcfs import fcfs_schedule
from openinfusion.scheduling.generator import generate_day


def test_a_generated_day_and_its_schedule_round_trip_through_json() -> None:
    day = generate_day("S", 2)
    text = json.dumps(day_to_dict(day))
    assert day_from_dict(json.loads(text)) == day
    schedule = fcfs_schedule(day)
    back = schedule_from_dict(json.loads(json.dumps(schedule_to_dict(schedule))))
    assert back.assignments == schedule.assignments


def test_times_are_written_as_hours_and_minutes() -> None:
    data = day_to_dict(generate_day("S", 2))
    assert data["opening"] == "07:30"
    assert data["nurses"][0]["shift_start"] == "07:30"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["appointments"][3].__setitem__("chair_minutes", "ninety"), "appointments[3].chair_minutes"),
        (lambda d: d["appointments"][0].__setitem__("earliest", "25:00"), "appointments[0].earliest"),
        (lambda d: d["appointments"][1].pop("latest"), "appointments[1].latest"),
        (lambda d: d["appointments"][2].__setitem__("colour", "red"), "appointments[2].colour"),
        (lambda d: d["chairs"][1].__setitem__("kind", "sofa"), "chairs[1].kind"),
        (lambda d: d["nurses"][0].__setitem__("shift_end", "06:00"), "nurses[0].shift_end"),
        (lambda d: d["rooms"][0].__setitem__("hoods", 0), "rooms[0].hoods"),
        (lambda d: d["chairs"][2].__setitem__("id", d["chairs"][0]["id"]), "chairs[2].id"),
        (lambda d: d["appointments"][4].__setitem__("fixed_chair", "nowhere"), "appointments[4].fixed_chair"),
        (lambda d: d.pop("opening"), "opening"),
    ],
)
def test_validation_errors_name_the_field(mutate, path: str) -> None:
    data = day_to_dict(generate_day("S", 2))
    mutate(data)
    with pytest.raises(DayJsonError) as caught:
        day_from_dict(data)
    assert caught.value.path == path
    assert str(caught.value).startswith(path + ":")
