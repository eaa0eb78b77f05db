"""The API docs work without the internet: the Swagger UI comes from the app's own static files."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_api_docs_page_loads_swagger_from_our_own_static_files(client):
    page = client.get("/api/v1/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert sources, page
    for source in sources:
        assert source.startswith("/static/"), f"{source} is fetched from outside the app"
        assert finders.find(source.removeprefix("/static/")), f"{source} is not among the static files"
