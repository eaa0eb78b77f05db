"""The JSON API at ``/api/v1/`` (django-ninja).

Every operation declares its action with ``auth=allow(Action.X)``: the auth callbacks identify
the caller (a bearer token for machine clients, else the browser session with CSRF) and then
check the permission table, so a refused role gets 403 before any input is parsed. Errors are
JSON with a stable ``code`` and a human ``message``.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Annotated, Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth
from pydantic import AfterValidator, ConfigDict, ValidationInfo, field_validator

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

    def __call__(self, request: HttpRequest) -> User | None:
        """No session means an anonymous caller (401); only a signed-in browser needs its CSRF token (403)."""
        if not request.user.is_authenticated:
            return None
        user: User | None = super().__call__(request)
        return user

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


# --- what a request may carry ------------------------------------------------------------------------

LARGEST_INTEGER = 2**63 - 1
"""The largest whole number a record holds (a 64-bit column); larger ones are refused at the edge."""
LARGEST_DECIMAL = Decimal(10) ** 12
"""No dose, volume, rate, weight or temperature comes near it; a larger number is a slip."""
LONGEST_TEXT = 20_000
"""Text a field with no tighter limit of its own may carry (a note, a reason, a scan)."""


def _refuse_unstorable(value: Any, longest: int | None) -> None:
    """Refuse what no record can store: NUL bytes (PostgreSQL refuses them), text past ``longest``,
    integers past 64 bits, and numbers that are not finite or absurdly large — inside lists and maps too."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("contains a NUL byte (\\x00), which no record can hold; remove it and send again")
        if longest is not None and len(value) > longest:
            raise ValueError(f"is {len(value)} characters long; at most {longest} are kept")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -LARGEST_INTEGER - 1 <= value <= LARGEST_INTEGER:
            raise ValueError(f"is past the largest whole number a record holds ({LARGEST_INTEGER})")
    elif isinstance(value, (Decimal, float)):
        if not Decimal(value).is_finite():
            raise ValueError("must be a finite number (not NaN or Infinity)")
        if abs(Decimal(value)) >= LARGEST_DECIMAL:
            raise ValueError(f"is too large to be right (at most {LARGEST_DECIMAL:,})")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unstorable(key, LONGEST_TEXT)
            _refuse_unstorable(item, LONGEST_TEXT)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _refuse_unstorable(item, LONGEST_TEXT)


class InputSchema(Schema):
    """The base of every request body: what cannot be stored is refused here, with the field named
    (422), before any service runs — NUL bytes, text past the field's limit (``LONGEST_TEXT`` when it
    sets none), integers past 64 bits, NaN, Infinity. Choices typed as the model's ``TextChoices``
    arrive as their plain values."""

    model_config = ConfigDict(use_enum_values=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        own_limit = field is not None and any(getattr(m, "max_length", None) for m in field.metadata)
        _refuse_unstorable(value, None if own_limit else LONGEST_TEXT)
        return value


def _finite_numbers(text: str) -> str:
    for word in text.split():
        try:
            number = Decimal(word)
        except ArithmeticError:
            continue
        if not number.is_finite():
            raise ValueError(f"{word!r} is not a number a measurement can have; type the value (e.g. 3.2)")
    return text


NumberText = Annotated[str, AfterValidator(_finite_numbers)]
"""Text that carries a number and its unit ("68 kg", "85 mg/m2"): NaN and Infinity are refused."""


def stored_text(model: Any, name: str, **extra: Any) -> Any:
    """A text field no longer than the model column it is stored in."""
    return Field(max_length=model._meta.get_field(name).max_length, **extra)


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
    fields = [{"field": _field_name(e.get("loc", ())), "problem": e.get("msg", "")} for e in exc.errors]
    described = "; ".join(f"{f['field'] or 'body'}: {f['problem']}" for f in fields[:5])
    return _error(
        request, 422, "VALIDATION_ERROR", f"Some input is not valid — {described}.", details={"fields": fields}
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """The field as the caller wrote it: ``mrn``, not ``body.payload.mrn`` (the source and the
    handler's parameter name are ours)."""
    parts = list(loc)[1:]
    if loc and loc[0] == "body" and len(parts) > 1:
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


def _clashing_record(exc: Exception) -> str:
    """What kind of record the clash was over, from the table or constraint the database names."""
    text = str(exc)
    best: tuple[int, str] = (0, "record")
    for model in apps.get_models():
        meta = model._meta
        table = meta.db_table
        names = [c.name for c in meta.constraints if c.name]
        if f"{table}." in text or f'"{table}_' in text or any(f'"{n}"' in text for n in names):
            best = max(best, (len(table), str(meta.verbose_name)))
    return best[1]


@api.exception_handler(IntegrityError)
def integrity_race(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    """A check-then-insert race lost to another request. The service's transaction has already
    rolled back as the error left it, so nothing of this request is saved."""
    what = _clashing_record(exc)
    logger.warning("API integrity clash on %s (%s): %s", request.path, what, type(exc).__name__)
    return _error(
        request,
        409,
        "SAVED_BY_SOMEONE_ELSE",
        f"Someone else just saved the same {what} (or changed one this refers to). Nothing of yours was "
        "saved; reload and try again.",
    )


@api.exception_handler(DataError)
def unstorable_value(request: HttpRequest, exc: DataError) -> HttpResponse:
    """The database refused a value the edge let through (too long for its column, out of range)."""
    problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _error(
        request,
        422,
        "VALUE_NOT_STORABLE",
        f"A value does not fit the record it goes into ({problem}). Nothing was saved; shorten or correct it.",
    )


@api.exception_handler(OverflowError)
def out_of_range(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    return _error(
        request,
        422,
        "OUT_OF_RANGE",
        f"A number is past what it can count ({exc}). Nothing was saved; send a smaller one.",
    )


@api.exception_handler(RequestDataTooBig)
def body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_048_576
    return _error(
        request,
        413,
        "BODY_TOO_LARGE",
        f"The request body is over the {megabytes:.1f} MB the API accepts. Nothing was saved; send less at once.",
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
