"""Patients fixtures: the people who keep a chart (a prescriber, a nurse, a nurse at another site)
and a patient at each site."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture
def prescriber(make_user):
    return make_user("prescriber", "prescriber", first_name="Priya", last_name="Raman")


@pytest.fixture
def nurse(make_user):
    return make_user("nurse", "nurse", first_name="Nora", last_name="Lindqvist")


@pytest.fixture
def south_nurse(make_user, other_site):
    return make_user("south-nurse", "nurse", sites=("south",))


def new_patient(actor, site, mrn: str = "MRN-1001"):
    from openinfusion.patients.services import create_patient

    return create_patient(
        actor=actor,
        site_id=site.pk,
        mrn=mrn,
        family_name="Hughes",
        given_name="Grace",
        birth_date=dt.date(1966, 5, 4),
        sex="F",
    )


@pytest.fixture
def patient(prescriber, site):
    return new_patient(prescriber, site)


@pytest.fixture
def south_patient(south_nurse, other_site):
    return new_patient(south_nurse, other_site, mrn="S-2002")
