"""The administrator's screens for people: who has an account at their sites, with which roles;
add a person, change their roles, unlock an account locked after failed sign-ins, deactivate one
(accounts are never deleted). Every change goes through ``accounts.services`` and is audited.
And each person's own page: their roles, sites and API tokens (expiry, last use), which they can revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from openinfusion.accounts import services
from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.models import ApiToken, Site, User
from openinfusion.accounts.permissions import Action, Role
from openinfusion.errors import DomainError
from openinfusion.web import fields


@requires(Action.MANAGE_USERS)
def users(request: HttpRequest) -> HttpResponse:
    return _people(request)


def _people(request: HttpRequest, *, status: int = 200, **refused: object) -> HttpResponse:
    """The list and the add form; a refused addition comes back with what was typed."""
    me = signed_in(request)
    people = (
        User.objects.filter(sites__in=me.site_ids())
        .distinct()
        .prefetch_related("roles", "sites")
        .order_by("last_name", "first_name", "username")
    )
    context = {
        "people": people,
        "roles": [(r.value, r.label) for r in Role],
        "sites": Site.objects.filter(pk__in=me.site_ids()),
        "now": timezone.now(),
        **refused,
    }
    return render(request, "accounts/users.html", context, status=status)


@requires(Action.MANAGE_USERS, methods=("POST",))
def add_user(request: HttpRequest) -> HttpResponse:
    data = request.POST
    try:
        person = services.create_user(
            actor=signed_in(request),
            username=data.get("username", "").strip(),
            password=data.get("password", ""),
            roles=data.getlist("roles"),
            sites=data.getlist("sites"),
            first_name=data.get("first_name", "").strip(),
            last_name=data.get("last_name", "").strip(),
            email=data.get("email", "").strip(),
        )
    except DomainError as error:
        typed = {key: data.get(key, "") for key in ("username", "first_name", "last_name", "email")}
        return _people(request, status=error.status, add_error=error, typed=typed, typed_roles=data.getlist("roles"))
    messages.success(request, f"Added {person.printed_name} ({person.username}).")
    return redirect("accounts:users")


@requires(Action.MANAGE_USERS, methods=("POST",))
def change_user(request: HttpRequest, user_id: int, verb: str) -> HttpResponse:
    me, data = signed_in(request), request.POST
    try:
        if verb == "roles":
            person = services.change_roles(
                user_id,
                actor=me,
                roles=data.getlist("roles"),
                expected_version=fields.required_whole(data.get("version"), "Version"),
            )
            done = f"Roles of {person.username}: {', '.join(sorted(Role(r).label for r in person.role_codes()))}."
        elif verb == "unlock":
            person = services.unlock_user(user_id, actor=me)
            done = f"{person.username} can sign in again."
        else:
            person = services.deactivate_user(
                user_id,
                actor=me,
                reason=data.get("reason", ""),
                expected_version=fields.required_whole(data.get("version"), "Version"),
            )
            done = f"{person.username} is deactivated: they can no longer sign in."
    except DomainError as error:
        messages.error(request, f"Not changed — {error.message}")
    else:
        messages.success(request, done)
    return redirect("accounts:users")


@requires(Action.SIGNED_IN)
def me(request: HttpRequest) -> HttpResponse:
    person = signed_in(request)
    context = {"person": person, "tokens": ApiToken.objects.filter(user=person), "now": timezone.now()}
    return render(request, "accounts/me.html", context)


@requires(Action.SIGNED_IN, methods=("POST",))
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.revoke_api_token(token_id, actor=signed_in(request))
    except DomainError as error:
        messages.error(request, f"Not revoked — {error.message}")
    else:
        messages.success(request, f"The token {token} is revoked.")
    return redirect("accounts:me")
