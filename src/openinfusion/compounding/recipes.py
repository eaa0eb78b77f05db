"""Master formulation records: a change to how a drug is prepared is a new version that a
pharmacist approves; the version it replaces is kept, marked superseded (USP <797> ch. 11)."""

from __future__ import annotations

from django.db.models import Max
from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import User
from openinfusion.accounts.permissions import Action
from openinfusion.audit.services import audited, record
from openinfusion.compounding.models import Recipe, RecipeStatus
from openinfusion.errors import Conflict, InvalidInput, NotAllowed, NotFound
from openinfusion.formulary.models import Drug


@audited("compounding:recipe:propose")
def propose_recipe(*, actor: User, drug_key: str, instructions: list[str], change_reason: str) -> Recipe:
    check(actor, Action.PLAN_PREPARATIONS)
    drug = Drug.objects.filter(key=drug_key).first()
    if drug is None:
        raise NotFound(f"{drug_key!r} is not in the formulary.", code="UNKNOWN_DRUG")
    lines = [line.strip() for line in instructions if line.strip()]
    if not lines or not change_reason.strip():
        raise InvalidInput(
            "A recipe needs at least one instruction and the reason for the change.", code="MISSING_FIELD"
        )
    latest = Recipe.objects.filter(drug=drug).aggregate(n=Max("version"))["n"] or 0
    recipe = Recipe.objects.create(
        drug=drug,
        version=latest + 1,
        instructions=lines,
        change_reason=change_reason,
        written_by=actor,
        written_at=timezone.now(),
    )
    record(
        "compounding:recipe:proposed",
        actor=actor,
        entity=recipe,
        after={"drug": drug_key, "version": recipe.version, "instructions": lines},
        reason=change_reason,
    )
    return recipe


@audited("compounding:recipe:approve")
def approve_recipe(recipe_id: int, *, actor: User) -> Recipe:
    """A pharmacist other than its author makes a proposed version the one in use."""
    check(actor, Action.FINAL_CHECK)
    recipe = Recipe.objects.select_for_update().filter(pk=recipe_id).select_related("drug").first()
    if recipe is None:
        raise NotFound("No such recipe.", code="UNKNOWN_RECIPE")
    if recipe.status != RecipeStatus.DRAFT:
        raise Conflict(f"Version {recipe.version} is {recipe.get_status_display().lower()}.", code="WRONG_STATE")
    if recipe.written_by_id == actor.pk:
        raise NotAllowed("You wrote this version; another pharmacist approves it.", code="SELF_CHECK")
    replaced = list(Recipe.objects.filter(drug=recipe.drug, status=RecipeStatus.APPROVED))
    Recipe.objects.filter(pk__in=[r.pk for r in replaced]).update(status=RecipeStatus.SUPERSEDED)
    recipe.status, recipe.approved_by, recipe.approved_at = RecipeStatus.APPROVED, actor, timezone.now()
    recipe.save(update_fields=["status", "approved_by", "approved_at"])
    record(
        "compounding:recipe:approved",
        actor=actor,
        entity=recipe,
        before={"approved_version": replaced[0].version if replaced else None},
        after={"drug": recipe.drug.key, "version": recipe.version},
    )
    return recipe
