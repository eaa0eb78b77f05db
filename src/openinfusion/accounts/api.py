"""API operations for people, roles and tokens."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema, Status

from openinfusion.accounts import services
from openinfusion.accounts.models import ApiToken, User
from openinfusion.accounts.permissions import Action
from openinfusion.api import actor, allow

router = Router(tags=["people"])


class UserOut(Schema):
    id: int
    username: str
    name: str
    active: bool
    roles: list[str]
    sites: list[str]
    version: int

    @staticmethod
    def of(user: User) -> UserOut:
        return UserOut(
            id=user.pk,
            username=user.username,
            name=user.get_full_name(),
            active=user.is_active,
            roles=sorted(user.roles.values_list("code", flat=True)),
            sites=sorted(user.sites.values_list("code", flat=True)),
            version=user.version,
        )


class UserIn(Schema):
    username: str
    password: str
    roles: list[str]
    sites: list[str]
    first_name: str = ""
    last_name: str = ""
    email: str = ""


class RolesIn(Schema):
    roles: list[str]
    version: int


class DeactivateIn(Schema):
    reason: str
    version: int


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewTokenOut(TokenOut):
    token: str


def _token_out(token: ApiToken) -> dict[str, object]:
    return {f: getattr(token, f) for f in ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at")}


@router.get("/me", response=UserOut, operation_id="get_me", auth=allow(Action.SIGNED_IN))
def get_me(request: HttpRequest) -> UserOut:
    return UserOut.of(actor(request))


@router.get("/users", response=list[UserOut], operation_id="list_users", auth=allow(Action.MANAGE_USERS))
def list_users(request: HttpRequest) -> list[UserOut]:
    users = User.objects.filter(sites__in=actor(request).site_ids()).distinct().order_by("username")
    return [UserOut.of(u) for u in users.prefetch_related("roles", "sites")]


@router.post("/users", response={201: UserOut}, operation_id="create_user", auth=allow(Action.MANAGE_USERS))
def create_user(request: HttpRequest, payload: UserIn) -> Status[UserOut]:
    user = services.create_user(actor=actor(request), **payload.dict())
    return Status(201, UserOut.of(user))


@router.put(
    "/users/{user_id}/roles", response=UserOut, operation_id="change_user_roles", auth=allow(Action.MANAGE_USERS)
)
def change_user_roles(request: HttpRequest, user_id: int, payload: RolesIn) -> UserOut:
    user = services.change_roles(user_id, actor=actor(request), roles=payload.roles, expected_version=payload.version)
    return UserOut.of(user)


@router.post(
    "/users/{user_id}/deactivate", response=UserOut, operation_id="deactivate_user", auth=allow(Action.MANAGE_USERS)
)
def deactivate_user(request: HttpRequest, user_id: int, payload: DeactivateIn) -> UserOut:
    user = services.deactivate_user(
        user_id, actor=actor(request), reason=payload.reason, expected_version=payload.version
    )
    return UserOut.of(user)


@router.post("/users/{user_id}/unlock", response=UserOut, operation_id="unlock_user", auth=allow(Action.MANAGE_USERS))
def unlock_user(request: HttpRequest, user_id: int) -> UserOut:
    return UserOut.of(services.unlock_user(user_id, actor=actor(request)))


@router.get("/tokens", response=list[TokenOut], operation_id="list_tokens", auth=allow(Action.SIGNED_IN))
def list_tokens(request: HttpRequest) -> list[dict[str, object]]:
    return [_token_out(t) for t in ApiToken.objects.filter(user=actor(request))]


@router.post("/tokens", response={201: NewTokenOut}, operation_id="create_token", auth=allow(Action.SIGNED_IN))
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, object]]:
    token, raw = services.create_api_token(actor=actor(request), name=payload.name)
    return Status(201, {**_token_out(token), "token": raw})


@router.post("/tokens/{token_id}/revoke", response=TokenOut, operation_id="revoke_token", auth=allow(Action.SIGNED_IN))
def revoke_token(request: HttpRequest, token_id: int) -> dict[str, object]:
    return _token_out(services.revoke_api_token(token_id, actor=actor(request)))
