"""Screens that keep themselves current: the whole page on the first visit, then, every
``REFRESH_SECONDS``, htmx asks the same address again and gets only the live part (the rows and
their counts), not the page around it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

REFRESH_SECONDS = 30


def page_or_part(request: HttpRequest, page: str, part: str, context: dict[str, Any]) -> HttpResponse:
    """``page`` includes ``part``; an htmx request (a refresh, or a filter or pager link aimed at
    the part) gets ``part`` alone."""
    htmx = bool(getattr(request, "htmx", False))
    return render(request, part if htmx else page, {**context, "refresh_seconds": REFRESH_SECONDS})
