"""The columnar copy's per-day user sets (analytics.rollups) follow the events: new events join
their day's set, a deleted event's day is summed again, and a copy kept on disk keeps its sets.
On real SQLite and PostgreSQL (tests/conftest.py); answers are read through the query API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import delete
from starlette.testclient import TestClient

from threadline.app import create_app
from threadline.config import Settings
from threadline.store.engine import Database
from threadline.store.tables import events, messages

USERS_KEY = "countDistinct_userProperties.userId"
DAILY_USERS = {
    "select": [
        {"type": "time", "timeUnit": "day", "field": "createdAt"},
        {
            "type": "aggregation",
            "aggregation": "countDistinct",
            "field": "userProperties",
            "path": ["userId"],
        },
        {"type": "aggregation", "aggregation": "count"},
    ]
}


def _event(id_: str, at: str, user: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": id_,
        "type": "search",
        "entityType": "search",
        "searchQuery": "q",
        "createdAt": at,
    }
    if user is not None:
        body["userProperties"] = {"userId": user}
    return body


def _daily(client: TestClient, headers: dict[str, str]) -> list[tuple[str, int, int]]:
    copy = client.app.state.services.columnar  # type: ignore[attr-defined]
    before = copy.rollups.answered
    response = client.post("/query/events", json=DAILY_USERS, headers=headers)
    assert response.status_code == 200, response.text
    assert copy.rollups.answered == before + 1  # the rollup answered, not SQL
    return [
        (r["createdAt_day"][:10], r[USERS_KEY], r["count"])
        for r in response.json()["data"]["result"]
    ]


def _weekly(client: TestClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    """GET /query/weekly-search-users, answered from the per-day sets of searchers."""
    copy = client.app.state.services.columnar  # type: ignore[attr-defined]
    before = copy.rollups.searchers.answered
    response = client.get("/query/weekly-search-users", headers=headers)
    assert response.status_code == 200, response.text
    assert copy.rollups.searchers.answered == before + 1
    return [(r["week"], r["unique_users"]) for r in response.json()["data"]["result"]]


def _post(client: TestClient, headers: dict[str, str], *bodies: dict[str, Any]) -> None:
    for body in bodies:
        response = client.post("/events", json=body, headers=headers)
        assert response.status_code == 200, response.text


@pytest.fixture
def ready(client: TestClient) -> Iterator[TestClient]:
    copy = client.app.state.services.columnar  # type: ignore[attr-defined]
    assert copy is not None and copy.wait_until(time.monotonic(), timeout=30.0)
    yield client


def test_new_events_join_their_days_sets(ready: TestClient, api_headers: dict[str, str]) -> None:
    _post(
        ready,
        api_headers,
        _event("a", "2026-03-01T10:00:00Z", "u1"),
        _event("b", "2026-03-01T23:59:59.999Z", "u2"),
        _event("c", "2026-03-02T00:00:00Z", "u1"),
    )
    assert _daily(ready, api_headers) == [("2026-03-01", 2, 2), ("2026-03-02", 1, 1)]
    _post(
        ready,
        api_headers,
        _event("d", "2026-03-01T12:00:00Z", "u1"),  # already counted that day
        _event("e", "2026-03-02T08:00:00Z", None),  # names no user: an event, not a user
        _event("f", "2026-03-02T09:00:00Z", 7),  # a number, counted as its text
        _event("g", "2026-03-02T09:30:00Z", "7"),
    )
    assert _daily(ready, api_headers) == [("2026-03-01", 2, 3), ("2026-03-02", 2, 4)]


def test_a_deleted_events_day_is_summed_again(
    ready: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    _post(
        ready,
        api_headers,
        _event("a", "2026-03-01T10:00:00Z", "u1"),
        _event("b", "2026-03-01T11:00:00Z", "u2"),
        _event("c", "2026-03-01T12:00:00Z", "u2"),
        _event("d", "2026-03-02T10:00:00Z", "u1"),
    )
    assert _daily(ready, api_headers) == [("2026-03-01", 2, 3), ("2026-03-02", 1, 1)]
    assert _weekly(ready, api_headers) == [("2026-02-23", "2"), ("2026-03-02", "1")]
    # Erasure and retention delete events; a day's set cannot forget a user by itself.
    with db.writer.begin() as connection:
        connection.execute(delete(events).where(events.c.id.in_(["a", "b", "d"])))
    copy = ready.app.state.services.columnar  # type: ignore[attr-defined]
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    assert _daily(ready, api_headers) == [("2026-03-01", 1, 1)]
    assert _weekly(ready, api_headers) == [("2026-02-23", "1")]
    _post(ready, api_headers, _event("e", "2026-03-02T10:00:00Z", "u3"))
    assert _daily(ready, api_headers) == [("2026-03-01", 1, 1), ("2026-03-02", 1, 1)]
    assert _weekly(ready, api_headers) == [("2026-02-23", "1"), ("2026-03-02", "1")]


def test_the_sets_are_kept_with_the_copy(
    database_url: str, tmp_path: Path, api_headers: dict[str, str]
) -> None:
    path = tmp_path / "copy.duckdb"
    settings = Settings(database_url=database_url, analytics_path=str(path))
    with TestClient(create_app(settings)) as first:
        copy = first.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)  # built: it answers from now on
        # u1 twice: a build must give a person one code, however many rows name them.
        _post(first, api_headers, _event("a", "2026-03-01T10:00:00Z", "u1"))
        _post(first, api_headers, _event("a2", "2026-03-01T10:30:00Z", "u1"))
        assert _daily(first, api_headers) == [("2026-03-01", 1, 2)]
    with TestClient(create_app(settings)) as second:
        # Rebuilt, maybe: userId became common since the first copy was made (analytics.shred).
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        _post(second, api_headers, _event("b", "2026-03-01T11:00:00Z", "u2"))
        assert _daily(second, api_headers) == [("2026-03-01", 2, 3)]
    with TestClient(create_app(settings)) as third:
        copy = third.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0) and copy.resumed
        assert _daily(third, api_headers) == [("2026-03-01", 2, 3)]  # the sets read from disk
        assert _weekly(third, api_headers) == [("2026-02-23", "2")]
    # A copy made before a rollup existed gets them built when it is opened.
    for table in ("rollup_user_days", "rollup_searcher_days"):
        with duckdb.connect(str(path)) as kept:
            kept.execute(f"DROP TABLE {table}")
        with TestClient(create_app(settings)) as fourth:
            copy = fourth.app.state.services.columnar  # type: ignore[attr-defined]
            assert copy.wait_until(time.monotonic(), timeout=30.0) and copy.resumed
            assert _daily(fourth, api_headers) == [("2026-03-01", 2, 3)]
            assert _weekly(fourth, api_headers) == [("2026-02-23", "2")]


COUNT_BY_TYPE = {
    "select": [{"type": "field", "field": "type"}, {"type": "aggregation", "aggregation": "count"}],
    "groupBy": [{"field": "type"}],
    "orderBy": [{"field": "type", "direction": "asc"}],
}


def _pairs(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], key: str, count: str
) -> list[tuple[str, int]]:
    """(row[key], row[count]) of each row the events query `body` answers."""
    response = client.post("/query/events", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return [(row[key], row[count]) for row in response.json()["data"]["result"]]


def _types(client: TestClient, headers: dict[str, str]) -> list[tuple[str, int]]:
    return _pairs(client, headers, COUNT_BY_TYPE, "type", "count")


def test_event_counts_follow_deletes_and_compaction(
    ready: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    bodies = [
        {**_event(f"s{i}", "2026-03-01T10:00:00Z", None), "type": kind}
        for i, kind in enumerate(["search", "search", "click", "view"])
    ]
    _post(ready, api_headers, *bodies)
    assert _types(ready, api_headers) == [("click", 1), ("search", 2), ("view", 1)]
    with db.writer.begin() as connection:  # every click goes: its group with it
        connection.execute(delete(events).where(events.c.id.in_(["s0", "s2"])))
    copy = ready.app.state.services.columnar  # type: ignore[attr-defined]
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    assert _types(ready, api_headers) == [("search", 1), ("view", 1)]
    copy.rollups.counts.appended = 10**9  # the next sync compacts the deltas
    _post(ready, api_headers, {**_event("s9", "2026-03-01T10:20:00Z", None), "type": "view"})
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    assert copy.rollups.counts.appended == 0
    assert _types(ready, api_headers) == [("search", 1), ("view", 2)]
    with copy.engine.connect() as connection:  # one row per key now, none for the clicks
        rows = connection.exec_driver_sql(
            "SELECT type, events FROM rollup_event_counts ORDER BY created_at, type"
        ).all()
    assert [tuple(row) for row in rows] == [("search", 1), ("view", 1), ("view", 1)]


def _kept_and_counted(copy: Any, rollup: str, table: str) -> tuple[list[Any], list[Any]]:
    """A rollup's sums per (project, quarter hour), and the same counted from the copy's rows."""
    quarter = "created_at // 900000000 * 900000000"
    with copy.engine.connect() as connection:
        kept = connection.exec_driver_sql(
            f"SELECT project_id, created_at, sum({table})::BIGINT FROM {rollup} "
            f"GROUP BY ALL HAVING sum({table}) <> 0 ORDER BY ALL"
        ).all()
        counted = connection.exec_driver_sql(
            f"SELECT project_id, {quarter} AS q, count(*) FROM {table} GROUP BY ALL ORDER BY ALL"
        ).all()
    return [tuple(row) for row in kept], [tuple(row) for row in counted]


def test_totals_of_events_and_messages_follow_writes(
    ready: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    copy = ready.app.state.services.columnar  # type: ignore[attr-defined]
    _post(
        ready, api_headers, *[_event(f"e{i}", f"2026-03-01T10:{i:02d}:00Z", None) for i in (0, 20)]
    )

    def conversation(*texts: str) -> None:
        messages = [
            {"id": f"m{n}", "role": "user", "content": t, "createdAt": f"2026-03-01T1{n}:00:00Z"}
            for n, t in enumerate(texts)
        ]
        body = {"id": "c1", "type": "openai", "messages": messages}
        response = ready.post("/conversations", json=body, headers=api_headers)
        assert response.status_code in (200, 201), response.text
        assert copy.wait_until(time.monotonic(), timeout=30.0)

    conversation("one", "two", "three")
    conversation("one", "two again", "three", "four")  # updated and added messages
    with db.writer.begin() as connection:
        connection.execute(delete(messages).where(messages.c.id == "m1"))
        connection.execute(delete(events).where(events.c.id == "e0"))
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    kept, counted = _kept_and_counted(copy, "rollup_message_counts", "messages")
    assert kept == counted and sum(row[2] for row in kept) == 3
    kept, counted = _kept_and_counted(copy, "rollup_event_totals", "events")
    assert kept == counted and sum(row[2] for row in kept) >= 1
    copy.rollups.messages.appended = 10**9  # the next sync compacts the deltas
    conversation("one", "two again", "three", "four", "five")
    # Compacted when the sync took out the changed rows, then their new delta rows appended
    # (one per quarter hour of a changed message at most).
    assert copy.rollups.messages.appended <= 5
    kept, counted = _kept_and_counted(copy, "rollup_message_counts", "messages")
    assert kept == counted and sum(row[2] for row in kept) == 5  # m1 came back


TOP_QUERIES = {
    "select": [
        {"type": "field", "field": "searchQuery"},
        {"type": "aggregation", "aggregation": "count", "field": "id"},
    ],
    "groupBy": [{"field": "searchQuery"}],
    "where": {"condition": {"field": "eventType", "operator": "eq", "value": "search"}},
    "orderBy": [{"field": "count_id", "direction": "desc"}],
}


def _top_queries(client: TestClient, headers: dict[str, str]) -> list[tuple[str, int]]:
    return _pairs(client, headers, TOP_QUERIES, "searchQuery", "count_id")


def test_search_counts_follow_deletes_and_compaction(
    ready: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    bodies = [
        {**_event(f"s{i}", at, None), "searchQuery": query}
        for i, (query, at) in enumerate(
            [
                ("api", "2026-03-01T10:00:00Z"),
                ("api", "2026-03-02T23:59:59Z"),
                ("zapier", "2026-03-02T00:00:00Z"),
                ("zapier", "2026-03-01T10:00:00Z"),
                ("zapier", "2026-03-03T10:00:00Z"),
            ]
        )
    ]
    _post(ready, api_headers, *bodies)
    assert _top_queries(ready, api_headers) == [("zapier", 3), ("api", 2)]
    with db.writer.begin() as connection:  # two zapier searches go: api leads
        connection.execute(delete(events).where(events.c.id.in_(["s2", "s4"])))
    copy = ready.app.state.services.columnar  # type: ignore[attr-defined]
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    assert _top_queries(ready, api_headers) == [("api", 2), ("zapier", 1)]
    copy.rollups.search_counts.appended = 10**9  # the next sync compacts the deltas
    _post(ready, api_headers, {**_event("s9", "2026-03-01T10:20:00Z", None), "searchQuery": "x"})
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    assert copy.rollups.search_counts.appended == 0
    assert _top_queries(ready, api_headers) == [("api", 2), ("x", 1), ("zapier", 1)]
    with copy.engine.connect() as connection:  # one row per query and day, none for 03-02's
        rows = connection.exec_driver_sql(
            "SELECT search_query, created_at, events FROM rollup_search_counts "
            "ORDER BY created_at, search_query"
        ).all()
    day = 86_400_000_000
    march_1 = 1772323200000000
    assert [tuple(row) for row in rows] == [
        ("api", march_1, 1),
        ("x", march_1, 1),
        ("zapier", march_1, 1),
        ("api", march_1 + day, 1),
    ]


def _users_events(client: TestClient, headers: dict[str, str], user: str) -> int:
    body = {
        "select": [{"type": "aggregation", "aggregation": "count"}],
        "where": {
            "condition": {
                "field": "userProperties",
                "operator": "jsonContains",
                "value": {"userId": user},
            }
        },
    }
    response = client.post("/query/events", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["result"][0]["count"])


def test_user_counts_follow_deletes(
    database_url: str, tmp_path: Path, api_headers: dict[str, str], db: Database
) -> None:
    settings = Settings(database_url=database_url, analytics_path=str(tmp_path / "copy.duckdb"))
    with TestClient(create_app(settings)) as first:
        copy = first.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        _post(
            first,
            api_headers,
            *[_event(f"u{i}", "2026-03-01T10:00:00Z", "ann") for i in range(3)],
            _event("v0", "2026-03-02T10:00:00Z", "bob"),
            _event("v1", "2026-03-02T11:00:00Z", None),
        )
    # Rebuilt: userId is common now, so it is shredded and each user's events are counted.
    with TestClient(create_app(settings)) as second:
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert copy.rollups.user_counts is not None
        assert [_users_events(second, api_headers, user) for user in ("ann", "bob")] == [3, 1]
        with db.writer.begin() as connection:
            connection.execute(delete(events).where(events.c.id.in_(["u1", "v0"])))
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert [_users_events(second, api_headers, user) for user in ("ann", "bob")] == [2, 0]
        # Its deltas: 3 - 1 for ann, 1 - 1 for bob, 1 for the event naming nobody.
        with copy.engine.connect() as connection:
            counts = copy.rollups.user_counts
            rows = connection.exec_driver_sql(
                f"SELECT sum(events) FROM {counts.table} GROUP BY {counts.kept} ORDER BY 1"
            ).all()
        assert [row[0] for row in rows] == [0, 1, 2]
