"""The JSON API at ``/api/v1/`` (django-ninja).

Every operation declares its action with ``auth=allow(Action.X)``: the auth callbacks identify
the caller (a bearer token for machine clients, else the browser session with CSRF) and then
check the permission table, so a refused role gets 403 before any input is parsed. Errors are
JSON with a stable ``code`` and a human ``message``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from openinfusion import __version__
from openinfusion.accounts import access
from openinfusion.accounts.models import User
from openinfusion.accounts.permissions import Action
from openinfusion.accounts.services import user_for_token
from openinfusion.errors import DomainError
from openinfusion.paging import MAX_PAGE, QUEUE_PAGE

logger = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    def __init__(self, action: Action) -> None:
        super().__init__()
        self.action = action

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            access.check(user, self.action)
        return user


class BrowserSession(SessionAuth):
    def __init__(self, action: Action) -> None:
        super().__init__(csrf=True)
        self.action = action

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user if request.user.is_authenticated else None
        if user is not None:
            access.check(user, self.action)
        return user


class Anyone:
    """The declaration of a public operation: it lets every caller through."""

    action = Action.PUBLIC

    def __call__(self, request: HttpRequest) -> bool:
        return True


def allow(action: Action) -> list[Any]:
    """The ``auth=`` of an operation that performs ``action``."""
    if action is Action.PUBLIC:
        return [Anyone()]
    return [BearerToken(action), BrowserSession(action)]


def actor(request: HttpRequest) -> User:
    """The user an authenticated operation acts for."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


class QueuePage(Schema):
    """The page of a queue the API returns: after the last row already read, ``limit`` rows."""

    after: int | None = Field(default=None, ge=1, description="Id of the last row already read: returns the later ones")
    limit: int = Field(default=QUEUE_PAGE, ge=1, le=MAX_PAGE)


def link_next(request: HttpRequest, response: HttpResponse, name: str, cursor: int | None) -> None:
    """While a keyset-paged list goes on, the ``Link`` header names its next page (``rel="next"``)."""
    if cursor is None:
        return
    query = request.GET.copy()
    query.pop("offset", None)
    query[name] = str(cursor)
    response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'


class OpenInfusionAPI(NinjaAPI):
    def _get_urls(self) -> list[Any]:
        """Ninja's root URL (a redirect to the docs) is public like the docs it points at."""
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern) and pattern.name == "api-root" and pattern.callback is not None:
                pattern.callback = access.requires(Action.PUBLIC)(pattern.callback)
        return patterns


api = OpenInfusionAPI(
    title="OpenInfusion API",
    version="1",
    description="Infusion pharmacy operations. Errors are `{code, message}`; see each operation's action.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=access.requires(Action.PUBLIC),
)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = [
        {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "problem": e.get("msg", "")} for e in exc.errors
    ]
    described = "; ".join(f"{f['field'] or 'body'}: {f['problem']}" for f in fields[:5])
    return _error(
        request, 422, "VALIDATION_ERROR", f"Some input is not valid — {described}.", details={"fields": fields}
    )


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "NOT_AUTHENTICATED", "Sign in, or send a valid bearer token that has not been revoked.")


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "NOT_FOUND", "No such record.")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "HTTP_ERROR", str(exc))


@api.exception_handler(Exception)
def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    correlation_id = str(uuid.uuid4())
    logger.exception("API error %s", correlation_id)
    return _error(
        request,
        500,
        "INTERNAL_ERROR",
        "Something went wrong on the server. Quote this id to support.",
        correlation_id=correlation_id,
    )


def _register_routers() -> None:
    from openinfusion.accounts.api import router as accounts_router
    from openinfusion.administration.api import router as administration_router
    from openinfusion.audit.api import router as audit_router
    from openinfusion.chairs.api import router as chairs_router
    from openinfusion.compounding.api import router as compounding_router
    from openinfusion.formulary.api import router as formulary_router
    from openinfusion.inventory.api import router as inventory_router
    from openinfusion.orders.api import router as orders_router
    from openinfusion.patients.api import router as patients_router

    api.add_router("/", accounts_router)
    api.add_router("/audit", audit_router)
    api.add_router("/formulary", formulary_router)
    api.add_router("/inventory", inventory_router)
    api.add_router("/", patients_router)
    api.add_router("/", orders_router)
    api.add_router("/compounding", compounding_router)
    api.add_router("/administration", administration_router)
    api.add_router("/schedule", chairs_router)


@api.get("/version", operation_id="get_version", auth=allow(Action.PUBLIC))
def get_version(request: HttpRequest) -> dict[str, str]:
    return {"version": __version__}


_register_routers()
