"""Master formulation records: versioned, approved by a second pharmacist, history kept
(USP <797> ch. 11 requires a master formulation record for each CSP made from it)."""

from __future__ import annotations

import pytest

from openinfusion.audit.models import AuditEvent
from openinfusion.compounding import recipes
from openinfusion.compounding.models import Recipe
from openinfusion.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_pharmacist(make_user):
    return make_user("pharmacist-b", "pharmacist")


def test_a_new_version_waits_for_approval_and_replaces_the_old_one_without_losing_it(
    drug, technician, pharmacist, second_pharmacist
):
    first = recipes.propose_recipe(
        actor=technician, drug_key=drug.key, instructions=["Use D5W only"], change_reason="first record"
    )
    recipes.approve_recipe(first.pk, actor=pharmacist)
    second = recipes.propose_recipe(
        actor=pharmacist,
        drug_key=drug.key,
        instructions=["Use D5W only", "Flush line with D5W"],
        change_reason="flush step",
    )
    assert (second.version, second.status) == (2, "draft")
    assert Recipe.objects.get(pk=first.pk).status == "approved", "a proposal changes nothing until approved"

    recipes.approve_recipe(second.pk, actor=second_pharmacist)
    assert list(Recipe.objects.filter(drug=drug).order_by("version").values_list("version", "status")) == [
        (1, "superseded"),
        (2, "approved"),
    ]
    approved = AuditEvent.objects.filter(action="compounding:recipe:approved").last()
    assert approved.before == {"approved_version": 1} and approved.after["version"] == 2


def test_the_author_cannot_approve_their_own_version(drug, pharmacist):
    mine = recipes.propose_recipe(actor=pharmacist, drug_key=drug.key, instructions=["x"], change_reason="y")
    with pytest.raises(DomainError) as refused:
        recipes.approve_recipe(mine.pk, actor=pharmacist)
    assert refused.value.code == "SELF_CHECK"
    assert Recipe.objects.get(pk=mine.pk).status == "draft"


def test_a_technician_cannot_approve_and_an_empty_recipe_is_refused(drug, technician, pharmacist):
    with pytest.raises(DomainError) as empty:
        recipes.propose_recipe(actor=technician, drug_key=drug.key, instructions=["  "], change_reason="z")
    assert empty.value.code == "MISSING_FIELD"
    proposal = recipes.propose_recipe(actor=pharmacist, drug_key=drug.key, instructions=["a"], change_reason="b")
    with pytest.raises(DomainError) as refused:
        recipes.approve_recipe(proposal.pk, actor=technician)
    assert refused.value.status == 403
