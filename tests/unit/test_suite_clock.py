"""The suite's own clock rules: the files CI re-runs at the hard instants all exist."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SITE_CALENDAR_FILES

TESTS = Path(__file__).resolve().parents[1]


def test_every_site_calendar_file_names_one_test_file():
    """A misspelt or renamed file would silently drop out of the hard-instant runs."""
    found = {name: list(TESTS.rglob(name)) for name in SITE_CALENDAR_FILES}
    assert {name: len(paths) for name, paths in found.items() if len(paths) != 1} == {}
