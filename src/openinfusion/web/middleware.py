"""Response headers every screen gets (issue 15): nothing the app answers is stored by a browser or a
proxy (signed-in pages show patient data; static files are served before this, by WhiteNoise, and
keep their caching), no ``Server`` banner leaves the app, and over HTTPS every cookie is marked
secure. It sits outside the session middleware so it sees the session cookie. HSTS comes from
Django's ``SecurityMiddleware`` (``SECURE_HSTS_SECONDS``), which sends it only over HTTPS."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        if "Server" in response:
            del response["Server"]
        if request.is_secure():
            for cookie in response.cookies.values():
                cookie["secure"] = True
        return response
