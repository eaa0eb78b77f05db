"""Audit search stays fast with a year of history (issue 21): keyset paging, a fixed query budget
whatever the number of events, validated paging input, and site scoping unchanged."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openinfusion.audit.models import AuditEvent
from openinfusion.audit.services import record

pytestmark = pytest.mark.django_db

# Session, user, roles, sites, the one page query (size + 1 rows, the cursor's time read inside
# it) and, for the screen, the site names of the page header. No COUNT(*), no per-event queries:
# the budget does not grow with the number of events. (The session's idle clock is renewed at
# most once a minute; ``_settled`` makes that renewal happen before the queries are counted.)
REPORT_BUDGET = 6
API_BUDGET = 5
ROW = re.compile(r'<tr class="(?:done|refused)"><td>(\d+)</td>')
OLDER = re.compile(r'href="\?([^"]*before=\d+)"')


@pytest.fixture
def add_events(pharmacist, quality, site, other_site, clock):
    """``add_events(n)`` appends n events at North (and one in ten at South), a second apart (so
    the session stays fresh), some of them at the very same instant so paging must break ties by id."""

    def add(n: int) -> None:
        with transaction.atomic():
            for i in range(n):
                clock.shift(dt.timedelta(seconds=1))
                at_south = i % 10 == 9
                with time_machine.travel(timezone.now(), tick=False):
                    for _ in range(1 + (i % 7 == 0)):
                        record(
                            "tests:dose:changed" if i % 3 else "orders:order:verified",
                            actor=pharmacist if i % 2 else quality,
                            site=other_site if at_south else site,
                            patient_id="P-SOUTH" if at_south else f"P-{i % 5}",
                        )

    return add


def _visible_newest_first(**match: object) -> list[int]:
    """What quality at North may see, newest first, computed without the code under test."""
    rows = AuditEvent.objects.exclude(site__code="south").filter(**match).values_list("at", "id")
    return [pk for _, pk in sorted(rows, reverse=True)]


def _count_queries(client, url: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200, response.content
    return len(queries)


def _settled(client) -> None:
    """Adding events moves the clock; one read renews the session so it is not counted."""
    assert client.get("/api/v1/version").status_code == 200


def _walk_report(client, url: str) -> list[int]:
    ids: list[int] = []
    for _ in range(100):
        body = client.get(url).content.decode()
        ids += [int(pk) for pk in ROW.findall(body)]
        older = OLDER.search(body)
        if older is None:
            return ids
        url = "/audit/?" + older.group(1).replace("&amp;", "&")
    raise AssertionError("paging never ended")


def _walk_api(client, url: str) -> list[int]:
    ids: list[int] = []
    for _ in range(100):
        response = client.get(url)
        assert response.status_code == 200, response.content
        ids += [e["id"] for e in response.json()]
        link = response.headers.get("Link")
        if link is None:
            return ids
        url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)  # type: ignore[union-attr]
    raise AssertionError("paging never ended")


def test_the_report_runs_the_same_few_queries_at_30_and_300_events(
    add_events, quality, client_for, django_assert_max_num_queries
):
    client = client_for(quality)
    add_events(30)
    _settled(client)
    older = AuditEvent.objects.order_by("-id").values_list("id", flat=True)[10]
    urls = ["/audit/", f"/audit/?before={older}", "/audit/?user=pharmacist&action=tests:", "/audit/?since=2000-01-01"]
    few = [_count_queries(client, url) for url in urls]
    add_events(270)
    _settled(client)
    with django_assert_max_num_queries(REPORT_BUDGET * len(urls)):
        many = [_count_queries(client, url) for url in urls]
    assert many == few
    assert max(many) <= REPORT_BUDGET
    assert _count_queries(client, "/audit/", HTTP_HX_REQUEST="true") == few[0] - 1  # a part has no header to fill


def test_the_api_list_runs_the_same_few_queries_at_30_and_300_events(
    add_events, quality, client_for, django_assert_max_num_queries
):
    client = client_for(quality)
    add_events(30)
    _settled(client)
    older = AuditEvent.objects.order_by("-id").values_list("id", flat=True)[10]
    urls = ["/api/v1/audit/events", f"/api/v1/audit/events?before={older}&limit=5", "/api/v1/audit/events?user=quality"]
    few = [_count_queries(client, url) for url in urls]
    add_events(270)
    _settled(client)
    with django_assert_max_num_queries(API_BUDGET * len(urls)):
        many = [_count_queries(client, url) for url in urls]
    assert many == few
    assert max(many) <= API_BUDGET


def test_walking_the_report_shows_every_visible_event_once_newest_first(add_events, quality, client_for):
    client = client_for(quality)
    add_events(120)
    assert _walk_report(client, "/audit/") == _visible_newest_first()


def test_walking_the_api_returns_every_visible_event_once_newest_first(add_events, quality, client_for):
    client = client_for(quality)
    add_events(60)
    assert _walk_api(client, "/api/v1/audit/events?limit=7") == _visible_newest_first()


def test_the_older_link_keeps_the_filters(add_events, quality, client_for):
    client = client_for(quality)
    add_events(200)
    expected = _visible_newest_first(actor_username="pharmacist", action__startswith="tests:dose")
    assert len(expected) > 50  # more than one page
    assert _walk_report(client, "/audit/?user=PHARMACIST&action=tests:dose") == expected
    assert _walk_api(client, "/api/v1/audit/events?user=Pharmacist&action=tests:&limit=9") == expected


def test_the_user_filter_is_the_whole_username_in_any_case(add_events, quality, client_for):
    client = client_for(quality)
    add_events(10)
    assert client.get("/api/v1/audit/events?user=pharm").json() == []
    assert {e["actor"] for e in client.get("/api/v1/audit/events?user=PHARMACIST").json()} == {"pharmacist"}


def test_the_action_filter_is_a_case_sensitive_prefix(add_events, quality, client_for):
    client = client_for(quality)
    add_events(10)
    actions = {e["action"] for e in client.get("/api/v1/audit/events?action=orders:").json()}
    assert actions == {"orders:order:verified"}
    assert client.get("/api/v1/audit/events?action=orders;").json() == []
    assert client.get("/api/v1/audit/events?action=Orders:").json() == []
    assert client.get("/api/v1/audit/events?action=orders:order_").json() == []


def test_a_time_range_pages_within_the_range(add_events, quality, client_for):
    client = client_for(quality)
    add_events(40)
    start = timezone.now()
    add_events(80)
    until = timezone.now()
    add_events(20)
    expected = _visible_newest_first(at__gte=start, at__lt=until)
    query = f"since={start.isoformat()}&until={until.isoformat()}".replace("+", "%2B")
    assert _walk_api(client, f"/api/v1/audit/events?{query}&limit=25") == expected
    assert _walk_report(client, f"/audit/?{query}") == expected


@pytest.mark.parametrize(
    "query",
    [
        "offset=-1",
        "offset=1000000",
        "limit=0",
        "limit=-5",
        "limit=100000",
        "limit=99999999999999999999999",
        "before=0",
        "before=-3",
        "before=abc",
        "user=" + "x" * 151,
    ],
)
def test_bad_paging_input_is_a_422_that_says_what_is_wrong(quality, client_for, query):
    response = client_for(quality).get(f"/api/v1/audit/events?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert query.split("=")[0] in body["message"]


def test_the_offset_still_works_within_its_cap(add_events, quality, client_for):
    client = client_for(quality)
    add_events(20)
    assert [e["id"] for e in client.get("/api/v1/audit/events?offset=3&limit=4").json()] == _visible_newest_first()[3:7]


@pytest.mark.parametrize("before", ["abc", "-1", "0", "²"])
def test_an_unreadable_cursor_on_the_report_shows_the_newest_events(add_events, quality, client_for, before):
    client = client_for(quality)
    add_events(5)
    body = client.get(f"/audit/?before={before}").content.decode()
    assert "Could not read the page position" in body
    assert [int(pk) for pk in ROW.findall(body)] == _visible_newest_first()[:50]


def test_a_cursor_that_names_no_event_gives_an_empty_page(add_events, quality, client_for):
    client = client_for(quality)
    add_events(5)
    assert client.get("/api/v1/audit/events?before=999999").json() == []
    assert "No older events match" in client.get("/audit/?before=999999").content.decode()


def test_paging_never_shows_another_sites_events(add_events, quality, client_for):
    client = client_for(quality)
    add_events(100)
    south = set(AuditEvent.objects.filter(site__code="south").values_list("id", flat=True))
    assert south
    assert not south & set(_walk_report(client, "/audit/"))
    assert not south & set(_walk_api(client, "/api/v1/audit/events?limit=13"))
    # Starting from another site's event only positions the page: it still shows North's.
    from_south = [e["id"] for e in client.get(f"/api/v1/audit/events?before={max(south)}").json()]
    assert from_south and not south & set(from_south)
