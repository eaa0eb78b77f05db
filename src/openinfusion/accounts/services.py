"""Every change to people, roles, sign-in state and API tokens: one function per transition."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import ApiToken, Role, SignInFailure, Site, User
from openinfusion.accounts.permissions import Action
from openinfusion.accounts.permissions import Role as RoleCode
from openinfusion.audit.services import audited, record
from openinfusion.concurrency import save_versioned
from openinfusion.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound

TOKEN_PREFIX = "oi_"
TOKEN_LIFETIME = dt.timedelta(days=90)  # a token's default life; a client rotates it before then
TOKEN_LIFETIME_MAX = dt.timedelta(days=365)


class LoginRefused(DomainError):
    status = 401
    code = "LOGIN_FAILED"


class TokenRefused(DomainError):
    status = 401
    code = "TOKEN_EXPIRED"


def _user_snapshot(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "name": user.get_full_name(),
        "active": user.is_active,
        "roles": sorted(user.roles.values_list("code", flat=True)),
        "sites": sorted(user.sites.values_list("code", flat=True)),
        "version": user.version,
    }


def _checked_roles(roles: Iterable[str]) -> list[Role]:
    codes = set(roles)
    unknown = codes - {r.value for r in RoleCode}
    if unknown:
        raise InvalidInput(
            f"Unknown role {', '.join(sorted(unknown))}. Roles are: {', '.join(r.value for r in RoleCode)}.",
            code="UNKNOWN_ROLE",
        )
    if not codes:
        raise InvalidInput("Give the user at least one role.", code="NO_ROLE")
    return list(Role.objects.filter(code__in=codes))


def _checked_sites(site_codes: Iterable[str]) -> list[Site]:
    codes = set(site_codes)
    sites = list(Site.objects.filter(code__in=codes))
    missing = codes - {s.code for s in sites}
    if missing:
        raise InvalidInput(f"Unknown site {', '.join(sorted(missing))}.", code="UNKNOWN_SITE")
    if not sites:
        raise InvalidInput("Give the user at least one site.", code="NO_SITE")
    return sites


@audited("accounts:user:create")
def create_user(
    *,
    actor: User | None,
    username: str,
    password: str,
    roles: Iterable[str],
    sites: Iterable[str],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    """Create a person with roles at sites. ``actor`` is None only for the first, bootstrap admin."""
    if actor is not None:
        check(actor, Action.MANAGE_USERS)
    role_rows = _checked_roles(roles)
    site_rows = _checked_sites(sites)
    if actor is not None and not {s.pk for s in site_rows} <= actor.site_ids():
        raise NotAllowed("You can only add people to your own sites.", code="FOREIGN_SITE")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken; choose another.", code="USERNAME_TAKEN")
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), code="WEAK_PASSWORD") from error
    user.set_password(password)
    user.save()
    user.roles.set(role_rows)
    user.sites.set(site_rows)
    record("accounts:user:created", actor=actor, entity=user, after=_user_snapshot(user))
    return user


@audited("accounts:user:change_roles")
def change_roles(user_id: int, *, actor: User, roles: Iterable[str], expected_version: int) -> User:
    """Replace a user's roles; refused with STALE_EDIT if the user changed since it was read."""
    check(actor, Action.MANAGE_USERS)
    user = _user_for(actor, user_id)
    before = _user_snapshot(user)
    role_rows = _checked_roles(roles)
    save_versioned(user, expected_version=expected_version, fields=[])
    user.roles.set(role_rows)
    user.forget_cached_roles()
    record("accounts:user:roles_changed", actor=actor, entity=user, before=before, after=_user_snapshot(user))
    return user


@audited("accounts:user:deactivate")
def deactivate_user(user_id: int, *, actor: User, reason: str, expected_version: int) -> User:
    """Stop a user from signing in (users are never deleted); their tokens stop working too."""
    check(actor, Action.MANAGE_USERS)
    if not reason.strip():
        raise InvalidInput("Say why the account is being deactivated.", code="REASON_REQUIRED")
    user = _user_for(actor, user_id)
    if user.pk == actor.pk:
        raise NotAllowed("You cannot deactivate your own account; ask another administrator.", code="SELF_DEACTIVATE")
    before = _user_snapshot(user)
    user.is_active = False
    save_versioned(user, expected_version=expected_version, fields=["is_active"])
    record(
        "accounts:user:deactivated", actor=actor, entity=user, before=before, after=_user_snapshot(user), reason=reason
    )
    return user


def _user_for(actor: User, user_id: int) -> User:
    """A user who shares a site with the actor; others do not exist as far as the actor can tell."""
    user = User.objects.filter(pk=user_id, sites__in=actor.site_ids()).distinct().first()
    if user is None:
        raise NotFound("No such user at your sites.", details={"entity_type": "accounts.user", "entity_id": user_id})
    return user


# --- Signing in ------------------------------------------------------------------------------


# The network address of the request being served (``accounts.middleware``), for the throttle.
current_client_address: ContextVar[str] = ContextVar("openinfusion_client_address", default="")


def sign_in(username: str, password: str, *, address: str | None = None) -> User:
    """Check a username and password; count failures and lock the account after too many.

    Every failure is audited with the username as typed (never the password). The message does
    not say whether the username exists, nor does the time taken: an unknown username costs a
    password hash too. Attempts are throttled per network address (``address``, else the
    request's): one that failed too often lately is refused before any password is checked, and
    counts against no account; and one address alone cannot lock an account (see ``_throttled``).
    """
    now = timezone.now()
    address = address if address is not None else current_client_address.get()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username__iexact=username).first()
        throttled_until = _throttled(address, username, now)
        if throttled_until is not None:
            error = LoginRefused(
                "Too many failed sign-ins from this computer. Wait until "
                f"{throttled_until:%H:%M} UTC, or sign in from another computer.",
                code="SIGN_IN_THROTTLED",
            )
        elif user is not None and user.locked_until and user.locked_until > now:
            error = _locked(user)
        elif user is not None and user.check_password(password) and user.is_active:
            if user.failed_logins or user.locked_until:
                user.failed_logins, user.locked_until = 0, None
                user.save(update_fields=["failed_logins", "locked_until"])
            record("accounts:session:signed_in", actor=user, entity=user)
            return user
        else:
            if user is None:
                User().set_password(password)  # the hash a known username would have cost
            error = LoginRefused("Wrong username or password.", code="LOGIN_FAILED")
            if user is not None:
                _count_failure(user, now)
            if address:
                SignInFailure.objects.create(address=address, username=username.lower()[:150], at=now)
        record(
            "accounts:session:sign_in_failed",
            actor=user,
            actor_username=username[:150],
            entity_type="accounts.user",
            entity_id=user.pk if user else "",
            refused=True,
            reason=error.code,
        )
    raise error


def _throttled(address: str, username: str, now: dt.datetime) -> dt.datetime | None:
    """Until when sign-ins from ``address`` are refused unchecked, or None when they are not.

    The policy: in a window of ``LOGIN_ADDRESS_WINDOW_MINUTES``, an address gets at most
    ``LOGIN_ADDRESS_FAILURE_LIMIT`` failures in all (against guessing across accounts), and at
    most one fewer than ``LOGIN_FAILURE_LIMIT`` against one username, so it can never lock an
    account by itself: a lock needs failures from two addresses at least. A throttled address
    waits for the window to pass its failures; the account and the person elsewhere are unaffected.
    """
    if not address:
        return None
    window = dt.timedelta(minutes=settings.LOGIN_ADDRESS_WINDOW_MINUTES)
    SignInFailure.objects.filter(at__lte=now - window).delete()
    recent = SignInFailure.objects.filter(address=address, at__gt=now - window).order_by("at")
    per_account = recent.filter(username=username.lower()[:150])
    for failures, limit in ((recent, settings.LOGIN_ADDRESS_FAILURE_LIMIT), (per_account, _per_address_limit())):
        times = list(failures.values_list("at", flat=True)[: max(limit, 1)])
        if len(times) >= limit:
            return times[len(times) - limit] + window
    return None


def _per_address_limit() -> int:
    return max(1, settings.LOGIN_FAILURE_LIMIT - 1)


def _locked(user: User) -> LoginRefused:
    return LoginRefused(locked_message(user), code="ACCOUNT_LOCKED")


def locked_message(user: User) -> str:
    """What a locked account is told, with the time it opens again on the home site's clock."""
    assert user.locked_until is not None
    home = user.home_site()
    until = home.clock(user.locked_until) if home else f"{user.locked_until:%Y-%m-%d %H:%M} UTC"
    return (
        f"This account is locked after {settings.LOGIN_FAILURE_LIMIT} failed sign-ins or signatures. Try again "
        f"after {until}, or ask an administrator to unlock it."
    )


def is_locked(user: User, now: dt.datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _count_failure(user: User, now: dt.datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= settings.LOGIN_FAILURE_LIMIT:
        user.locked_until = now + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        user.failed_logins = 0
    user.save(update_fields=["failed_logins", "locked_until"])


# A wrong password at an e-signature is refused inside the signing service's transaction, which
# rolls back; so it is noted here and counted after that transaction, by ``count_signature_failures``
# (the sign-in middleware calls it at the end of every request).
_signature_failures: ContextVar[tuple[int, ...]] = ContextVar("openinfusion_signature_failures", default=())


def note_signature_failure(user: User) -> None:
    """Remember a wrong password at an e-signature, to count with the sign-in failures."""
    _signature_failures.set((*_signature_failures.get(), user.pk))


@contextmanager
def counting_signature_failures() -> Iterator[None]:
    """Around one request: the wrong signature passwords noted in it are counted at its end."""
    token = _signature_failures.set(())
    try:
        yield
    finally:
        try:
            count_signature_failures()
        finally:
            _signature_failures.reset(token)


def count_signature_failures() -> None:
    """Count the wrong signature passwords noted so far, as failed sign-ins (which lock the same way).

    Called outside any transaction: the refused signature's own transaction has rolled back by now.
    """
    pending = _signature_failures.get()
    if not pending:
        return
    _signature_failures.set(())
    now = timezone.now()
    for user_id in pending:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(pk=user_id).first()
            if user is not None and not is_locked(user, now):
                _count_failure(user, now)


def sign_out(user: User) -> None:
    with transaction.atomic():
        record("accounts:session:signed_out", actor=user, entity=user)


@audited("accounts:user:unlock")
def unlock_user(user_id: int, *, actor: User) -> User:
    check(actor, Action.MANAGE_USERS)
    user = _user_for(actor, user_id)
    user.failed_logins, user.locked_until = 0, None
    user.save(update_fields=["failed_logins", "locked_until"])
    record("accounts:user:unlocked", actor=actor, entity=user)
    return user


# --- API tokens ------------------------------------------------------------------------------


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@audited("accounts:token:create")
def create_api_token(*, actor: User, name: str, lifetime: dt.timedelta = TOKEN_LIFETIME) -> tuple[ApiToken, str]:
    """Create a bearer token for the actor, valid for ``lifetime`` (90 days unless said otherwise).
    The secret is returned once and only its hash is kept."""
    if not name.strip():
        raise InvalidInput("Name the token after the client that will use it.", code="NAME_REQUIRED")
    if not dt.timedelta(0) < lifetime <= TOKEN_LIFETIME_MAX:
        raise InvalidInput(
            f"A token lives between a moment and {TOKEN_LIFETIME_MAX.days} days; create a new one before it expires.",
            code="TOKEN_LIFETIME",
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor,
        name=name.strip(),
        prefix=raw[:10],
        key_hash=token_hash(raw),
        expires_at=timezone.now() + lifetime,
    )
    after = {"name": token.name, "prefix": token.prefix, "expires_at": token.expires_at}
    record("accounts:token:created", actor=actor, entity=token, after=after)
    return token, raw


@audited("accounts:token:revoke")
def revoke_api_token(token_id: int, *, actor: User) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotFound("No such token of yours.", details={"entity_type": "accounts.apitoken", "entity_id": token_id})
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record("accounts:token:revoked", actor=actor, entity=token)
    return token


TOKEN_USE_RECORDED_EVERY = dt.timedelta(minutes=1)


def user_for_token(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None for an unknown or revoked token; an expired
    one is refused with a message that says so."""
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(raw), revoked_at=None).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at <= now:
        raise TokenRefused(
            f"The API token {token.prefix}… ({token.name}) expired at {token.expires_at:%Y-%m-%d %H:%M} UTC. "
            "Create a new one and give it to the client.",
            code="TOKEN_EXPIRED",
        )
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RECORDED_EVERY:
        # At most one write a minute per token, not one per read; the condition is in the UPDATE,
        # so two requests at once write it once.
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOKEN_USE_RECORDED_EVERY)
        ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    return token.user


# --- Sites -----------------------------------------------------------------------------------


@audited("accounts:site:create")
def create_site(*, actor: User | None, code: str, name: str, kind: str, time_zone: str = "UTC") -> Site:
    if Site.objects.filter(code=code).exists():
        raise Conflict(f"A site with code {code!r} exists.", code="SITE_EXISTS")
    site = Site.objects.create(code=code, name=name, kind=kind, time_zone=time_zone)
    record("accounts:site:created", actor=actor, entity=site, site=site, after={"code": code, "name": name})
    return site
