"""Which search events count as searches, and keystrokes folded into the query typed
(threadline.query.searches), through every search statistic: each answer is read from the
primary store and from the columnar copy, which must agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from starlette.testclient import TestClient

from threadline.analytics.searches import KeptSearches
from threadline.query.search_stats import (
    search_page,
    top_search_queries,
    unclicked_search_queries,
    weekly_search_users,
)
from threadline.query.searches import FOLD_WINDOW_US

T = TypeVar("T")
START = datetime(2026, 2, 4, 10, 0, tzinfo=UTC)  # a Wednesday
# What Inkeep's search bar (cxkit-js 0.5.64) sent, captured by tests/e2e/test_widget.py.
WIDGET_SEQUENCE = Path(__file__).parent / "widget_search_events.json"


class Searches:
    """Posts search events at chosen times, then reads a statistic on both read paths."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self.project_id = ""

    def post(self, *events: tuple[float, str, str, str | None]) -> None:
        """(seconds after START, type, searchQuery, userId or None) each, in one batch."""
        items = []
        for seconds, type_, query, user in events:
            body: dict[str, Any] = {"entityType": "search", "type": type_, "searchQuery": query}
            body["createdAt"] = (START + timedelta(seconds=seconds)).isoformat()
            if user is not None:
                body["userProperties"] = {"identificationType": "COOKIED", "id": user}
            items.append({"kind": "event", "body": body})
        response = self.client.post("/batch", json={"items": items}, headers=self.headers)
        assert response.status_code == 200, response.text
        self.project_id = response.json()["results"][0]["body"]["projectId"]

    def typed(self, at: float, text: str, user: str | None, gap: float = 0.15) -> float:
        """`text` typed key by key from `at` (the widget's submitted and response events for
        each prefix); returns when the last key was typed."""
        events = []
        for n in range(1, len(text) + 1):
            seconds = at + (n - 1) * gap
            events.append((seconds, "search_query_submitted", text[:n], user))
            events.append((seconds + 0.05, "search_query_response_received", text[:n], user))
        self.post(*events)
        return at + (len(text) - 1) * gap

    def read(self, statistic: Callable[..., T], **arguments: Any) -> T:
        """The statistic over all searches, from the primary store and from the columnar copy
        (the same answer, or the test fails)."""
        services = self.client.app.state.services  # type: ignore[attr-defined]
        arguments = {"project_id": self.project_id, "after": None, **arguments}
        with services.database.reader.connect() as connection:
            primary = statistic(connection, **arguments)
        copy = services.columnar
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        with copy.reading(timeout=0.0, retry_after=1) as connection:
            columnar = statistic(connection, **arguments)
        assert columnar == primary
        return primary

    def top(self) -> list[tuple[str, int]]:
        return self.read(top_search_queries)[0]

    def unclicked(self) -> list[tuple[str, int]]:
        return self.read(unclicked_search_queries).top

    def weekly(self) -> list[tuple[str, int]]:
        return self.read(weekly_search_users)


@pytest.fixture
def searches(client: TestClient, api_headers: dict[str, str]) -> Iterator[Searches]:
    yield Searches(client, api_headers)


def test_a_widget_search_is_one_search_and_clicks_do_not_rank(searches: Searches) -> None:
    # The example: searched twice and clicked once (5 events), searched once (2 events).
    submitted, response = "search_query_submitted", "search_query_response_received"
    searches.post(
        (0, submitted, "pricing", "u1"),
        (0.4, response, "pricing", "u1"),
        (3, "search_result_clicked", "pricing", "u1"),
        (60, submitted, "pricing", "u2"),
        (60.4, response, "pricing", "u2"),
        (120, submitted, "install", "u3"),
        (120.4, response, "install", "u3"),
        # Clicked three times, searched once: clicks never rank a query above another.
        (180, submitted, "auth", "u4"),
        (180.4, response, "auth", "u4"),
        *[(190 + n, "search_result_clicked", "auth", "u4") for n in range(3)],
    )
    assert searches.top() == [("pricing", 2), ("auth", 1), ("install", 1)]
    assert searches.unclicked() == [("install", 1)]
    assert searches.weekly() == [("2026-02-02", 4)]


def test_one_event_per_search_of_other_clients_counts_each(searches: Searches) -> None:
    searches.post(
        (0, "search", "install", None),
        (1, "search_performed", "install", None),
        (2, "Search", "pricing", "u1"),
        (3, "search_result_CLICKED", "pricing", "u1"),
    )
    assert searches.top() == [("install", 2), ("pricing", 1)]
    assert searches.unclicked() == [("install", 2)]


def test_keystrokes_fold_into_the_query_typed(searches: Searches) -> None:
    searches.typed(0, "install dbg0", "u1")
    assert searches.top() == [("install dbg0", 1)]
    assert searches.unclicked() == [("install dbg0", 1)]
    assert searches.weekly() == [("2026-02-02", 1)]


def test_searches_of_nobody_known_are_not_folded(searches: Searches) -> None:
    searches.typed(0, "ins", None)
    assert searches.top() == [("i", 1), ("in", 1), ("ins", 1)]
    assert searches.weekly() == [("2026-02-02", 0)]


def test_only_one_persons_keystrokes_fold_together(searches: Searches) -> None:
    submitted = "search_query_submitted"
    searches.post((0, submitted, "doc", "u1"), (0.5, submitted, "docs", "u2"))
    assert searches.top() == [("doc", 1), ("docs", 1)]


def test_a_pause_longer_than_the_window_ends_a_burst(searches: Searches) -> None:
    window = FOLD_WINDOW_US / 1e6
    submitted = "search_query_submitted"
    searches.post(
        (0, submitted, "install", "u1"),
        (window + 0.5, submitted, "install dbg0", "u1"),
        (100, submitted, "auth", "u1"),
        (100 + window, submitted, "auth token", "u1"),  # at the window's end: still typing
    )
    assert searches.top() == [("auth token", 1), ("install", 1), ("install dbg0", 1)]


def test_erasing_and_retyping_count_each_query_typed_out(searches: Searches) -> None:
    # "pricing" typed, erased key by key to "p", then "plans" typed: two queries.
    at = searches.typed(0, "pricing", "u1")
    erased = [(at + 0.1 * n, "search_query_submitted", "pricing"[:-n], "u1") for n in range(1, 7)]
    searches.post(*erased)
    searches.typed(at + 0.8, "plans", "u1")
    assert searches.top() == [("plans", 1), ("pricing", 1)]


def test_a_query_typed_again_counts_again(searches: Searches) -> None:
    # Typed, erased to "ins", typed again (the widget answers it from its cache): searched twice.
    submitted = "search_query_submitted"
    at = searches.typed(0, "install", "u1")
    erased = [(at + 0.1 * n, submitted, "install"[:-n], "u1") for n in range(1, 5)]
    retyped = [(at + 1 + 0.1 * n, submitted, "install"[: 3 + n], "u1") for n in range(1, 5)]
    searches.post(*erased, *retyped)
    assert searches.top() == [("install", 2)]


def test_a_search_asked_again_at_once_is_one_search(searches: Searches) -> None:
    # The widget asks again for a search the next key cut short (seen in chromium): "ins" twice.
    submitted = "search_query_submitted"
    keys = ["i", "in", "ins", "ins", "inst", "insta", "instal", "install"]
    searches.post(*[(0.15 * n, submitted, text, "u1") for n, text in enumerate(keys)])
    # Apart by more than the window, the same query is searched again.
    searches.post((10, submitted, "install", "u1"))
    assert searches.top() == [("install", 2)]


def test_prefixes_compare_characters_in_any_script(searches: Searches) -> None:
    searches.typed(0, "日本語", "u1")
    searches.typed(10, "e\u0301te\u0301", "u2")  # decomposed accents: é as e + U+0301
    searches.typed(20, "👍🏽 ok", "u3")
    assert searches.top() == [("e\u0301te\u0301", 1), ("日本語", 1), ("👍🏽 ok", 1)]


def test_a_person_typing_across_midnight_on_sunday_searched_in_both_weeks(
    searches: Searches,
) -> None:
    sunday_night = (datetime(2026, 2, 8, 23, 59, 59, tzinfo=UTC) - START).total_seconds()
    searches.typed(sunday_night, "pricing", "u1", gap=0.5)
    # A user whose only events in a week are clicks and responses made no search that week.
    searches.post((-86_400, "search_result_clicked", "pricing", "u2"))
    assert searches.weekly() == [("2026-02-02", 1), ("2026-02-09", 1)]
    assert searches.top() == [("pricing", 1)]


def test_blank_queries_are_not_searches(searches: Searches) -> None:
    searches.post((0, "search_query_submitted", "", "u1"), (1, "search", "   ", "u2"))
    assert searches.top() == []
    assert searches.weekly() == []


def test_the_widgets_own_sequence(searches: Searches) -> None:
    """What Inkeep's search bar sent: 'install dbg0' typed key by key, a result clicked, the
    same query typed again (answered from the widget's cache); one person (a cookie id)."""
    captured = json.loads(WIDGET_SEQUENCE.read_text())
    searches.post(
        *[
            (event["seconds"], event["type"], event["searchQuery"], event["user"])
            for event in captured["events"]
        ]
    )
    typed = captured["typed"]
    assert searches.top() == [(typed, 2)]
    assert searches.unclicked() == []
    assert searches.weekly() == [("2026-02-02", 1)]
    page = searches.read(search_page)
    assert (page.top, page.distinct, page.weeks) == ([(typed, 2)], 1, [("2026-02-02", 1)])
    assert (page.unclicked.top, page.unclicked.total) == ([], 0)


def _us(seconds: float) -> int:
    """START + seconds, in microseconds (the statistics' `after` and `before`)."""
    return int((START + timedelta(seconds=seconds)).timestamp() * 1_000_000)


def test_a_burst_cut_by_the_range_folds_on_each_side(searches: Searches) -> None:
    # Keys at 0, 0.15, ... 0.9 s: "i" ... "install". The copy reads the marks it kept over all
    # the searches; a neighbour outside the range must not fold a search inside it.
    searches.typed(0, "install", "u1")
    assert searches.read(top_search_queries, after=_us(0.45))[0] == [("install", 1)]
    assert searches.read(top_search_queries, after=_us(0), before=_us(0.5))[0] == [("inst", 1)]
    assert searches.read(top_search_queries, after=_us(0.3), before=_us(0.7))[0] == [("insta", 1)]
    assert searches.read(top_search_queries, after=_us(0.95))[0] == []
    # ...and the copy did read its marks: every prefix but the last has one.
    with searches.client.app.state.services.columnar.reading(  # type: ignore[attr-defined]
        timeout=0.0, retry_after=1
    ) as connection:
        marked = connection.exec_driver_sql(
            "SELECT count(*) FROM rollup_searches WHERE typed_on_at IS NOT NULL "
            "OR erased_at IS NOT NULL"
        ).scalar()
    assert marked == len("install") - 1


def test_keystrokes_synced_apart_and_out_of_order_fold_alike(searches: Searches) -> None:
    # The copy marks searches sync by sync: a keystroke arriving later, or older than those it
    # has, marks its neighbours again.
    submitted = "search_query_submitted"
    searches.post((0.3, submitted, "ins", "u1"), (0.9, submitted, "install", "u1"))
    assert searches.top() == [("install", 1)]
    searches.post((0.45, submitted, "inst", "u1"), (6.5, submitted, "install dbg0", "u1"))
    assert searches.top() == [("install", 1), ("install dbg0", 1)]
    searches.post((0, submitted, "i", "u1"), (3, submitted, "install d", "u1"))
    assert searches.top() == [("install dbg0", 1)]


def test_an_erased_keystroke_unfolds_the_one_it_folded(searches: Searches) -> None:
    # "docs" was searched by u1 on a device whose id is erased as a user of its own: the event
    # goes, and u1's "doc" is a search again, on both read paths.
    searches.post((0, "search_query_submitted", "doc", "u1"))
    body = {
        "entityType": "search",
        "type": "search_query_submitted",
        "searchQuery": "docs",
        "createdAt": (START + timedelta(seconds=0.5)).isoformat(),
        "userProperties": {"identificationType": "COOKIED", "id": "device-9", "userId": "u1"},
    }
    response = searches.client.post("/events", json=body, headers=searches.headers)
    assert response.status_code in (200, 201), response.text
    searches.post((30, "search_query_submitted", "pricing", "u2"))
    assert searches.top() == [("docs", 1), ("pricing", 1)]
    erased = searches.client.delete("/users/device-9", headers=searches.headers)
    assert erased.status_code == 200, erased.text
    assert searches.top() == [("doc", 1), ("pricing", 1)]


def test_a_build_marks_searches_in_parts_as_in_one_statement(
    searches: Searches, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A build marks whole days of searches per statement (analytics.searches.PART_ROWS), each
    # from its neighbours within the window around it: bursts across midnight, several people
    # and repeats must get the marks one statement over them all gives.
    midnight = (datetime(2026, 2, 5, tzinfo=UTC) - START).total_seconds()
    for day in range(3):
        at = midnight + day * 86_400
        searches.typed(at - 0.6, "install", "u1")
        searches.typed(at - 0.3, "pricing", "u2")
        searches.typed(at + 3600, "docs", "u1")
        searches.post((at + 7200, "search_result_clicked", "docs", "u1"))
    searches.post((midnight - 2, "search_query_submitted", "in", None))
    copy = searches.client.app.state.services.columnar  # type: ignore[attr-defined]
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    cursor = copy._database.cursor()
    inserts: list[str] = []

    class Recording:  # the copy's cursor, noting each statement filling the table
        def execute(self, sql: str, *rest: Any) -> Any:
            if sql.startswith("INSERT INTO rollup_searches"):
                inserts.append(sql)
            return cursor.execute(sql, *rest)

    def built(part_rows: int) -> tuple[list[tuple[Any, ...]], int]:
        """The table a build makes (rolled back after), and how many statements filled it."""
        inserts.clear()
        cursor.begin()
        try:
            KeptSearches().build(cast(Any, Recording()), copy.shredded, part_rows=part_rows)
            return cursor.execute("SELECT * FROM rollup_searches ORDER BY seq").fetchall(), len(
                inserts
            )
        finally:
            cursor.rollback()

    whole, statements = built(10**9)
    assert statements == 1
    parts, statements = built(1)
    assert statements >= 3  # a part per day at least
    assert parts == whole
    assert sum(1 for row in whole if row[6] is not None) > 6  # keystrokes were marked
    # Nobody's "in" is not folded into u1's "install".
    assert searches.top() == [("docs", 3), ("install", 3), ("pricing", 3), ("in", 1)]


def test_weekly_searchers_are_unions_of_days_cut_where_the_range_cuts(
    searches: Searches,
) -> None:
    # The copy answers from per-day sets of searchers; a bound inside a day reads that part of
    # the day from its kept searches. Every range must give the primary's answer.
    day = 86_400.0
    submitted = "search_query_submitted"
    searches.post(
        (0, submitted, "install", "u1"),  # Wednesday 10:00
        (3600, submitted, "pricing", "u2"),  # Wednesday 11:00
        (4 * day - 3600, submitted, "auth", "u1"),  # Sunday 09:00
        (5 * day, submitted, "auth", "u3"),  # the next Monday 10:00
        (5 * day + 60, submitted, "auth", None),  # nobody's
        (5 * day + 120, "search_result_clicked", "auth", "u4"),  # a click: no search
        (6 * day + 7200, submitted, "docs", "u1"),  # Tuesday 12:00
        (-20 * day, submitted, "docs", "u5"),  # three weeks before
    )
    copy = searches.client.app.state.services.columnar  # type: ignore[attr-defined]
    answered = copy.rollups.searchers.answered
    assert searches.weekly() == [("2026-01-12", 1), ("2026-02-02", 2), ("2026-02-09", 2)]
    assert copy.rollups.searchers.answered == answered + 1  # from the sets, not count(DISTINCT)
    ranges = [
        (_us(1800), None),  # cuts Wednesday: u1's 10:00 search is out
        (None, _us(1800)),
        (_us(1800), _us(5 * day + 30)),  # cuts two days of two weeks
        (_us(5 * day + 30), _us(5 * day + 90)),  # inside one day: nobody's search only
        (_us(5 * day + 90), _us(5 * day + 200)),  # inside one day: a click only
        (_us(-14 * 3600), _us(-14 * 3600 + 7 * day)),  # whole UTC days, Wednesday to Wednesday
        (_us(-10 * 3600), _us(-10 * 3600 + 3 * day)),  # midnights of another timezone
        (_us(3600), _us(3600)),  # empty
        (_us(6 * day), _us(day)),  # reversed
    ]
    for after, before in ranges:
        searches.read(weekly_search_users, after=after, before=before)
    assert searches.read(weekly_search_users, after=_us(1800), before=_us(5 * day + 30)) == [
        ("2026-02-02", 2),
        ("2026-02-09", 1),
    ]
    assert searches.read(
        weekly_search_users, after=_us(5 * day + 30), before=_us(5 * day + 90)
    ) == [("2026-02-09", 0)]
    assert (
        searches.read(weekly_search_users, after=_us(5 * day + 90), before=_us(5 * day + 200)) == []
    )


def test_an_erased_searcher_leaves_the_weeks(searches: Searches) -> None:
    submitted = "search_query_submitted"
    searches.post((0, submitted, "doc", "device-9"), (60, submitted, "docs", "u2"))
    searches.post((86_400, submitted, "docs", "device-9"))
    assert searches.weekly() == [("2026-02-02", 2)]
    erased = searches.client.delete("/users/device-9", headers=searches.headers)
    assert erased.status_code == 200, erased.text
    assert searches.weekly() == [("2026-02-02", 1)]
    assert searches.read(weekly_search_users, after=_us(86_000)) == []
