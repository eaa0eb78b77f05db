"""The final check is independent: the checking pharmacist took no part in the dose. Not the person
who pressed Start, and nobody who recorded any part of the preparation (a scan, a weighing, a photo,
a refused attempt at a step, completing it), nobody who released it to be compounded, and — where the
site's policy asks for three different people — not the pharmacist who verified its order (USP <797>
§5 and ASHP Guidelines on Compounding Sterile Preparations: the check is made by someone other than
the compounder; ISMP: an independent double check is made by a second person who took no part).

Each refusal changes nothing, names what the pharmacist did and what to do, and is audited."""

from __future__ import annotations

import pytest
from tests.integration.compounding.conftest import (
    OXALIPLATIN_50,
    PASSWORD,
    RITUXIMAB_100,
    post,
    qualify,
    refused_event,
    scan_of,
    state,
    verified_order,
)

from openinfusion.accounts.models import Signature, Site
from openinfusion.compounding import services, walkthrough
from openinfusion.compounding.models import Preparation
from openinfusion.errors import DomainError
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/compounding"
RITUXIMAB_500 = "55513-326-01"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f1b2c40000000049454e44ae426082"
)


@pytest.fixture
def compounding_pharmacist(second_pharmacist):
    """A pharmacist qualified to compound (sterile and hazardous), who may also final-check."""
    qualify(second_pharmacist)
    return second_pharmacist


def step_index(preparation: Preparation, kind: str) -> int:
    return next(i for i, step in enumerate(preparation.plan["steps"]) if step["kind"] == kind)


def refused_check(preparation: Preparation, checker, code: str, client_for, **kwargs) -> DomainError:
    """The final check by ``checker`` is refused with ``code`` through the service and the API,
    leaving the preparation, its order and stock as they were, audited once, with no signature."""
    before = state(preparation)
    with pytest.raises(DomainError) as refused:
        services.final_check(preparation.pk, actor=checker, approve=True, password=PASSWORD, **kwargs)
    assert (refused.value.code, refused.value.status) == (code, 403)
    assert "ask a pharmacist who took no part" in refused.value.message.lower(), refused.value.message
    assert state(preparation) == before
    assert not Signature.objects.filter(meaning="final_check_by").exists()
    event = refused_event("compounding:preparation:final_check", code)
    assert (event.entity_type, event.entity_id) == ("compounding.preparation", str(preparation.pk))
    client = client_for(checker)
    url = f"{BASE}/preparations/{preparation.pk}/final-check"
    for body in ({"approve": True, "password": PASSWORD}, {"approve": False, "reason": "looks cloudy"}):
        response = post(client, url, body)
        assert response.status_code == 403 and response.json()["code"] == code, response.content
    assert state(preparation) == before
    return refused.value


def approves(preparation: Preparation, checker) -> None:
    approved = services.final_check(preparation.pk, actor=checker, approve=True, password=PASSWORD)
    assert (approved.status, approved.checked_by) == ("approved", checker)


# --- who recorded the preparation -----------------------------------------------------------------


def test_a_pharmacist_who_did_every_scan_and_weighing_after_a_technician_started_cannot_check_it(
    preparation, technician, compounding_pharmacist, pharmacist, client_for
):
    """The probe of issue 14: oxaliplatin (a chemotherapy dose) started by the technician, every
    scan and weighing then done (and completed) by a pharmacist who then tried to sign its check."""
    services.start_preparation(preparation.pk, actor=technician)
    preparation.refresh_from_db()
    walkthrough.prepare(preparation, compounding_pharmacist)
    assert preparation.prepared_by == technician and preparation.plan["hazardous"] is True
    error = refused_check(preparation, compounding_pharmacist, "SELF_CHECK", client_for)
    assert "step" in error.message and "1" in error.message
    approves(preparation, pharmacist)


def _one_scan(preparation, technician, other):
    walkthrough.prepare(preparation, technician, steps=step_index(preparation, "scan_bag"))
    walkthrough.prepare(preparation, other, steps=1)
    walkthrough.prepare(preparation, technician)


def _one_weighing(preparation, technician, other):
    walkthrough.prepare(preparation, technician, steps=step_index(preparation, "weigh_bag"))
    walkthrough.prepare(preparation, other, steps=1)
    walkthrough.prepare(preparation, technician)


def _a_photo(preparation, technician, other):
    walkthrough.prepare(preparation, technician, steps=2)
    services.record_photo(preparation.pk, actor=other, image=PNG, name="draw")
    walkthrough.prepare(preparation, technician)


def _a_refused_scan(preparation, technician, other):
    """A scan of the wrong product, refused and kept as an intercepted error: still a part taken."""
    walkthrough.prepare(preparation, technician, steps=0)
    with pytest.raises(DomainError):
        services.record_scan(preparation.pk, actor=other, scan=scan_of(OXALIPLATIN_50, "OX-50-X"))
    assert preparation.intercepted_errors.filter(by=other).exists()
    walkthrough.prepare(preparation, technician)


def _completing(preparation, technician, other):
    walkthrough.prepare(preparation, technician, steps=len(preparation.plan["steps"]))
    services.complete_preparation(preparation.pk, actor=other)


@pytest.mark.parametrize(
    ("part", "said"),
    [
        (_one_scan, "recorded step"),
        (_one_weighing, "recorded step"),
        (_a_photo, "photo"),
        (_a_refused_scan, "refused"),
        (_completing, "completed"),
    ],
    ids=["one-scan", "one-weighing", "a-photo", "a-refused-scan", "completing"],
)
def test_a_pharmacist_who_recorded_any_part_of_the_preparation_cannot_check_it(
    preparation, technician, compounding_pharmacist, pharmacist, client_for, part, said
):
    part(preparation, technician, compounding_pharmacist)
    assert Preparation.objects.get(pk=preparation.pk).status == "awaiting_check"
    error = refused_check(preparation, compounding_pharmacist, "SELF_CHECK", client_for)
    assert said in error.message, error.message
    approves(preparation, pharmacist)


# --- who released it ------------------------------------------------------------------------------


@pytest.fixture
def rituximab(patient, prescriber, pharmacist, receive, clean_room, hazardous_room, stocked):
    """Rituximab 700 mg in 0.9 % NaCl 250 mL (500 mg + 2 × 100 mg vials): released only on demand."""
    receive(RITUXIMAB_500, "RTX-500-A", clean_room, quantity=2)
    receive(RITUXIMAB_100, "RTX-100-A", clean_room, quantity=4)
    order = verified_order(
        patient, prescriber, pharmacist, drug="rituximab", dose="700 mg", diluent="sodium-chloride-0.9"
    )
    preparation = services.plan_preparation(order.pk, actor=pharmacist)
    assert preparation.needs_release
    return preparation


def test_the_pharmacist_who_released_a_dose_cannot_check_it(
    rituximab, technician, second_pharmacist, pharmacist, client_for
):
    services.release_to_compound(rituximab.pk, actor=second_pharmacist, reason="labs reviewed, patient arrived")
    walkthrough.prepare(rituximab, technician)
    error = refused_check(rituximab, second_pharmacist, "NOT_INDEPENDENT", client_for)
    assert "released" in error.message
    approves(rituximab, pharmacist)


# --- who verified the order (site policy) ---------------------------------------------------------


def three_people(site) -> None:
    Site.objects.filter(pk=site.pk).update(final_check_excludes_verifier=True)


def test_a_site_checks_with_two_people_by_default(site, preparation, technician, pharmacist):
    """The verifying pharmacist may do the final check unless the site asks for three people."""
    assert Site._meta.get_field("final_check_excludes_verifier").default is False
    assert Site.objects.get(pk=site.pk).final_check_excludes_verifier is False
    walkthrough.prepare(preparation, technician)
    assert Order.objects.get(pk=preparation.order_id).verified_by == pharmacist
    approves(preparation, pharmacist)


def test_where_the_site_asks_for_three_people_the_verifier_cannot_check(
    site, preparation, technician, pharmacist, second_pharmacist, client_for
):
    three_people(site)
    walkthrough.prepare(preparation, technician)
    error = refused_check(preparation, pharmacist, "NOT_INDEPENDENT", client_for)
    assert "verified" in error.message and "three" in error.message
    approves(preparation, second_pharmacist)


def test_the_verifier_is_the_signer_of_the_verification_even_if_verified_by_was_changed(
    site, preparation, technician, pharmacist, second_pharmacist, client_for
):
    three_people(site)
    walkthrough.prepare(preparation, technician)
    Order.objects.filter(pk=preparation.order_id).update(verified_by=second_pharmacist)
    refused_check(preparation, pharmacist, "NOT_INDEPENDENT", client_for)


def test_the_three_people_policy_is_set_on_the_site_in_the_admin(site, admin, client_for):
    client = client_for(admin)
    url = f"/admin/accounts/site/{site.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and b"final_check_excludes_verifier" in page.content
    assert b"three different people" in page.content  # the help text says what it does
    form = {
        "code": site.code,
        "name": site.name,
        "kind": site.kind,
        "time_zone": site.time_zone,
        "final_check_excludes_verifier": "on",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content
    assert Site.objects.get(pk=site.pk).final_check_excludes_verifier is True
