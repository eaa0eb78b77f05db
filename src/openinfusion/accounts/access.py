"""Checking a person's action against the permission table, and keeping sites apart.

``requires(action)`` declares and enforces the action of a web view; the API uses
``openinfusion.api.allow(action)``. Both refuse with 403 and audit the refusal. Records of another
site are answered as if they did not exist (404), so their existence does not leak.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from openinfusion.accounts.models import User
from openinfusion.accounts.permissions import Action, is_allowed
from openinfusion.audit.services import record_refusal
from openinfusion.errors import DomainError, NotAllowed, NotFound

M = TypeVar("M", bound=Model)
View = Callable[..., HttpResponseBase]


def check(user: Any, action: Action) -> None:
    """Raise NotAllowed (and audit it) unless the signed-in user's roles allow the action."""
    if action is Action.PUBLIC:
        return
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise NotAllowed("Sign in first.", code="NOT_AUTHENTICATED")
    if not is_allowed(user.role_codes(), action):
        error = NotAllowed(
            f"Your roles ({', '.join(sorted(user.role_codes())) or 'none'}) do not allow this ({action.value}). "
            "Ask an administrator if you need it.",
            code="FORBIDDEN",
        )
        record_refusal(f"accounts:access:{action.value}", actor=user, error=error)
        raise error


def requires(action: Action, *, methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
    """Declare and enforce the action a web view performs; other HTTP methods get 405."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in methods:
                return HttpResponse(status=405, headers={"Allow": ", ".join(methods)})
            if action is not Action.PUBLIC and not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                check(request.user, action)
            except NotAllowed as error:
                return render(request, "web/refused.html", {"error": error}, status=403)
            try:
                return view(request, *args, **kwargs)
            except NotFound as error:
                # Another site's record and a record that does not exist look the same.
                raise Http404(error.message) from None
            except DomainError as error:
                # A refusal the view did not show in place: say what was wrong, change nothing.
                return render(request, "web/refused.html", {"error": error}, status=error.status)

        guarded.openinfusion_action = action  # type: ignore[attr-defined]
        guarded.openinfusion_methods = methods  # type: ignore[attr-defined]
        return guarded

    return decorate


def visible(queryset: QuerySet[M], user: User, *, site_field: str = "site") -> QuerySet[M]:
    """Only the rows that belong to the user's sites."""
    return queryset.filter(**{f"{site_field}__in": user.site_ids()})


def get_visible(queryset: QuerySet[M], user: User, *, site_field: str = "site", **lookup: Any) -> M:
    """One row of the user's sites, or NotFound (404) whether it is missing or elsewhere."""
    row = visible(queryset, user, site_field=site_field).filter(**lookup).first()
    if row is None:
        raise NotFound(f"No such {queryset.model._meta.verbose_name} at your sites.")
    return row


def signed_in(request: HttpRequest) -> User:
    """The user a guarded view acts for (``requires`` has already turned anonymous callers away)."""
    user = request.user
    assert isinstance(user, User), "signed_in() is for views behind @requires"
    return user
