"""Shared fixtures: sites and named personas (a pharmacist, a technician, a nurse, a pharmacist at
another site...), API clients by session and by bearer token."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.test import Client
from tests import clock as suite_clock

PASSWORD = "correct-horse-battery-7"


def pytest_configure(config: pytest.Config) -> None:
    """Argon2 at Django's production cost takes about 2 s per hash on a 2-core machine; the suite
    creates and checks hundreds of passwords. Tests use the same algorithm at a small cost."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["tests.passwords.QuickArgon2PasswordHasher"]


# The test files whose rules read the site's calendar (expiry dates, beyond-use times capped at
# local midnight, dates on labels and leaflets, the day's board and plan, first-dose dates). CI runs
# them again at tests/clock.py's hard instants (``make test-clock``). Rules that only measure time
# from now (the bedside window, infusion rates), query counts, paging and locks are left out there:
# they run at the suite's clock in ``make test``. A new file with a site-date rule belongs here.
SITE_CALENDAR_FILES = frozenset(
    {
        "test_board_and_education.py",
        "test_day_events.py",
        "test_day_plan.py",
        "test_schedule_api.py",
        "test_compounding_final_check.py",
        "test_compounding_open_vials.py",
        "test_compounding_site_clock.py",
        "test_compounding_start_rules.py",
        "test_compounding_trace_and_queue.py",
        "test_compounding_workflow.py",
        "test_counts_and_expiry.py",
        "test_receiving.py",
        "test_plans.py",
        "test_chart_site_calendar.py",
        "test_labels.py",
        "test_leaflets.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).name in SITE_CALENDAR_FILES:
            item.add_marker(pytest.mark.site_calendar)


CLOCK = pytest.StashKey[time_machine.Traveller]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Each test, its fixtures included, runs on the suite's clock (tests/clock.py), never the
    machine's: it starts at the same instant whatever the hour, and runs on from there. A test
    about one moment of the calendar pins its own start with ``@pytest.mark.clock_at(ISO)``."""
    pinned = item.get_closest_marker("clock_at")
    start = dt.datetime.fromisoformat(pinned.args[0]) if pinned else suite_clock.start()
    with time_machine.travel(start, tick=True) as coordinates:
        item.stash[CLOCK] = coordinates
        return (yield)


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> time_machine.Traveller:
    """The test's clock: ``clock.move_to(moment)`` sets the time, ``clock.shift(delta)`` moves it."""
    return request.node.stash[CLOCK]


@pytest.fixture
def site(db):
    from openinfusion.accounts.services import create_site

    return create_site(
        actor=None, code="north", name="North Infusion Pharmacy", kind="hospital_pharmacy", time_zone="America/New_York"
    )


@pytest.fixture
def other_site(db):
    from openinfusion.accounts.services import create_site

    return create_site(actor=None, code="south", name="South Home Infusion", kind="home_infusion")


@pytest.fixture
def make_user(site) -> Callable[..., object]:
    from openinfusion.accounts.services import create_user

    def make(username: str, *roles: str, sites: tuple[str, ...] = ("north",), **extra: str):
        return create_user(actor=None, username=username, password=PASSWORD, roles=roles, sites=sites, **extra)

    return make


@pytest.fixture
def pharmacist(make_user):
    return make_user("pharmacist", "pharmacist", first_name="Marcus", last_name="Okafor")


@pytest.fixture
def technician(make_user):
    return make_user("technician", "technician")


@pytest.fixture
def admin(make_user):
    return make_user("admin", "admin", first_name="Ada", last_name="Kowalski")


@pytest.fixture
def quality(make_user):
    return make_user("quality", "quality")


@pytest.fixture
def other_site_admin(make_user, other_site):
    return make_user("south-admin", "admin", sites=("south",))


def signed_in_client(user) -> Client:
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def client_for() -> Callable[[object], Client]:
    return signed_in_client


TRIGGERS = importlib.import_module("openinfusion.audit.migrations.0002_append_only")


def set_audit_triggers(enabled: bool) -> None:
    """Switch the append-only triggers on or off, as a database superuser could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending FK checks
            cursor.execute(f"ALTER TABLE audit_auditevent {'ENABLE' if enabled else 'DISABLE'} TRIGGER USER")
        elif enabled:
            for statement in TRIGGERS.SQLITE:
                cursor.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"))
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


@pytest.fixture(autouse=True)
def _audit_is_append_only(request):
    """Every database test starts with the audit triggers on (a transactional test turns them off
    at teardown so the test database can be flushed)."""
    if request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames):
        request.getfixturevalue("_django_db_helper")
        set_audit_triggers(True)
    yield


@pytest.fixture
def flushable_audit(transactional_db):
    """For transactional tests: the flush that empties the database afterwards must bypass the
    append-only triggers."""
    yield
    set_audit_triggers(False)


@pytest.fixture
def committed_db(flushable_audit):
    """For tests whose work commits (the real worker, which also closes connections as in
    production; threads racing each other): a transactional database, flushable afterwards, with
    the roles put back as their migration seeds them (the flush after the previous transactional
    test emptied them; serialized rollback would clash with the content types a flush re-creates)."""
    from openinfusion.accounts.models import Role
    from openinfusion.accounts.permissions import Role as RoleCode

    for code in RoleCode:
        Role.objects.get_or_create(code=code)


@pytest.fixture
def tamper() -> Callable[[str, tuple], None]:
    """Run raw SQL against the audit table with its append-only triggers off, as an attacker with
    database superuser rights would."""

    def run(sql: str, params: tuple = ()) -> None:
        set_audit_triggers(False)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        set_audit_triggers(True)

    return run
