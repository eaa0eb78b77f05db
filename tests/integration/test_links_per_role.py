"""Show a person only what their role can do: with the demo loaded, each demo user opens their
home page and follows every link on the pages they reach (up to a limit per role); every page
answers 200, and every form on those pages posts to a view their roles allow (no link or button
that leads to a 403)."""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from openinfusion.accounts.permissions import Role, is_allowed

pytestmark = pytest.mark.django_db

PAGES_PER_ROLE = 80
SAME_KIND = 3  # pages of one kind (one URL name: a chart, an order...) opened per role
HREF = re.compile(r'<a\s[^>]*href="(/[^"#]*)"')
FORM = re.compile(r"<form\b([^>]*)>")
ATTR = re.compile(r'(\w+)="([^"]*)"')
NOT_FOLLOWED = ("/logout/", "/admin/", "/api/v1/docs")  # the admin site has its own gate (tested)


def _links(page: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in HREF.findall(page)]


def _forms(page: str, path: str) -> list[tuple[str, str]]:
    forms = []
    for attrs in FORM.findall(page):
        found = dict(ATTR.findall(attrs))
        forms.append((found.get("method", "get").lower(), found.get("action") or path))
    return forms


def _kind(path: str) -> str:
    try:
        return resolve(urlsplit(path).path).view_name
    except Resolver404:
        return path


def _allowed(path: str, roles: set[str]) -> bool:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return False
    action = getattr(match.func, "openinfusion_action", None)
    return action is None or is_allowed(roles, action)


def test_every_link_and_form_a_demo_user_meets_is_open_to_them():
    from openinfusion.demo import DEMO_PASSWORD, USERS, load_demo

    load_demo()
    problems: list[str] = []
    walked: dict[str, int] = {}
    for person in USERS:
        roles = {r.value for r in person.roles}
        client = Client()
        assert client.post("/login/", {"username": person.username, "password": DEMO_PASSWORD}).status_code == 302
        queue, seen, kinds = deque(["/"]), {"/"}, Counter[str]()
        while queue and len(seen) <= PAGES_PER_ROLE:
            path = queue.popleft()
            response = client.get(path)
            if response.status_code != 200:
                problems.append(f"{person.username}: GET {path} → {response.status_code}")
                continue
            if "html" not in response.get("Content-Type", ""):
                continue  # a PDF, a CSV, a label: opened, not crawled
            page = response.content.decode()
            for method, action in _forms(page, path):
                if method == "post" and not _allowed(action, roles) and action != "/logout/":
                    problems.append(f"{person.username}: a form on {path} posts to {action}, not allowed")
            for link in _links(page):
                if link not in seen and not link.startswith(NOT_FOLLOWED) and kinds[_kind(link)] < SAME_KIND:
                    seen.add(link)
                    kinds[_kind(link)] += 1
                    queue.append(link)
        walked[person.username] = len(seen)
    assert problems == [], "\n".join(problems)
    assert min(walked[name] for name in ("prescriber", "pharmacist", "technician", "nurse")) >= 10
    assert {r for person in USERS for r in person.roles} == set(Role)  # every role was walked
