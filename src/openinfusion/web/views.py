"""The web shell: sign in and out, each role's home page, and the health check."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import login, logout
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from openinfusion import __version__
from openinfusion.accounts import services
from openinfusion.accounts.access import requires
from openinfusion.accounts.middleware import SESSION_STARTED_KEY
from openinfusion.accounts.permissions import Action
from openinfusion.web.home import tasks_for


@requires(Action.PUBLIC, methods=("GET", "POST"))
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    error = None
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        try:
            user = services.sign_in(username, request.POST.get("password", ""))
        except services.LoginRefused as refused:
            error = refused.message
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.cycle_key()  # a new session id at every sign-in (ASVS 4.0.3 3.2.1)
            request.session[SESSION_STARTED_KEY] = time.time()
            return redirect(next_url or "home")
    status = 401 if error else 200
    context = {"error": error, "username": username, "next": next_url, "idle_minutes": settings.SESSION_IDLE_MINUTES}
    return render(request, "web/sign_in.html", context, status=status)


@requires(Action.SIGNED_IN, methods=("POST",))
def sign_out(request: HttpRequest) -> HttpResponse:
    services.sign_out(request.user)  # type: ignore[arg-type]
    logout(request)
    return redirect("login")


@requires(Action.SIGNED_IN)
def home(request: HttpRequest) -> HttpResponse:
    sections = tasks_for(request.user.role_codes())  # type: ignore[union-attr]
    return render(request, "web/home.html", {"sections": sections})


@requires(Action.PUBLIC)
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = "ok"
    except Exception as error:  # any database failure means not healthy
        database = f"error: {type(error).__name__}"
    healthy = database == "ok"
    body = {
        "status": "ok" if healthy else "unavailable",
        "version": __version__,
        "database": database,
        "database_vendor": connection.vendor,
    }
    return JsonResponse(body, status=200 if healthy else 503)
