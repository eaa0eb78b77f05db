"""Session lifetime, the clock screens show, and request ids.

Idle expiry comes from Django's session cookie age (``SESSION_COOKIE_AGE`` =
``OPENINFUSION_SESSION_IDLE_MINUTES``), renewed here at most once a minute rather than on every
request, so a plain read writes nothing (the idle sign-out comes within a minute of the limit).
This middleware adds the absolute limit (``OPENINFUSION_SESSION_ABSOLUTE_HOURS``, default 12 h,
OWASP ASVS 4.0.3 3.3.2), shows times on the clock of the person's home site (the first of their
sites by name, kept in the session at sign-in; storage stays UTC), tags every request with an id
that the audit events of that request share, and counts the request's wrong e-signature passwords
as failed sign-ins once their transactions have rolled back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from openinfusion.accounts.models import User
from openinfusion.accounts.services import counting_signature_failures, current_client_address
from openinfusion.audit.context import current_request_id

SESSION_STARTED_KEY = "openinfusion_signed_in_at"
SESSION_RENEWED_KEY = "openinfusion_renewed_at"
SESSION_ZONE_KEY = "openinfusion_zone"
RENEW_EVERY_SECONDS = 60


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request_id.set(str(uuid.uuid4()))
        address = current_client_address.set(request.META.get("REMOTE_ADDR") or "")
        try:
            if request.user.is_authenticated:
                started = request.session.get(SESSION_STARTED_KEY)
                now = time.time()
                if started is None or now - started > settings.SESSION_ABSOLUTE_HOURS * 3600:
                    logout(request)
                elif now - request.session.get(SESSION_RENEWED_KEY, started) >= RENEW_EVERY_SECONDS:
                    # Saved: the idle clock restarts. Signing in saved the session, so the first
                    # minute after it needs no renewal either.
                    request.session[SESSION_RENEWED_KEY] = now
            if request.user.is_authenticated:
                timezone.activate(ZoneInfo(request.session.get(SESSION_ZONE_KEY) or home_zone(request.user)))
            with counting_signature_failures():  # wrong e-signature passwords, after their rollback
                return self.get_response(request)
        finally:
            timezone.deactivate()
            current_client_address.reset(address)
            current_request_id.reset(token)


def home_zone(user: User) -> str:
    """The zone of the person's home site (UTC with none)."""
    site = user.home_site()
    return site.time_zone if site else "UTC"


def remember_zone(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    """At sign-in, keep the home site's zone in the session (saved with the sign-in itself)."""
    request.session[SESSION_ZONE_KEY] = home_zone(user)
