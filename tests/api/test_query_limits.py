"""Analytic reads are bounded in time and in number (issue 18), on both backends and both read
paths: a query past THREADLINE_QUERY_TIMEOUT_SECONDS is a 422 problem+json and the next query
works; beyond THREADLINE_MAX_CONCURRENT_QUERIES reads at once, 503 + Retry-After.

The slow query is the issue's: 200 jsonContains conditions, none matching, over bulk-loaded
events. Its outcome does not depend on the machine's speed: it is stopped either inside the
database or, if compiling it already took the whole time, before its first statement; both
answer the same 422 (tests/store/test_deadline.py shows each mechanism on its own).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.assertions import assert_problem
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings
from threadline.services import Services
from threadline.store.bulk import bulk_writer
from threadline.store.engine import Database
from threadline.store.tables import projects

EVENTS = 20_000
TINY = 0.01  # seconds
COLUMNS = (
    "project_id",
    "id",
    "entity_type",
    "type",
    "message_id",
    "properties",
    "user_properties",
    "created_at",
)
# The reproduction, in small: 200 conditions nothing matches, so each is tried on every row.
SLOW_COUNT = {
    "select": [{"type": "aggregation", "aggregation": "count"}],
    "where": {
        "or": [
            {
                "condition": {
                    "field": "properties",
                    "operator": "jsonContains",
                    "value": {"page": f"/nowhere/{n}"},
                }
            }
            for n in range(200)
        ]
    },
}
SLOW_EXPORT = {"select": [{"type": "field", "field": "id"}], "where": SLOW_COUNT["where"]}
COUNT = {"select": [{"type": "aggregation", "aggregation": "count"}]}


def _load_events(db: Database, project_id: str) -> None:
    start_us = 1_790_000_000_000_000
    rows = (
        (
            project_id,
            f"ev{n}",
            "message",
            "message:copied",
            f"m{n % 500}",
            msgspec.json.encode({"page": f"/docs/{n % 300}", "theme": "dark"}).decode(),
            msgspec.json.encode({"userId": f"u{n % 1000}"}).decode(),
            start_us + n * 1_000_000,
        )
        for n in range(EVENTS)
    )
    with bulk_writer(db) as writer:
        writer.write("events", COLUMNS, rows)


@contextlib.contextmanager
def _server(database_url: str, read_path: str, **settings: Any) -> Iterator[TestClient]:
    analytics = "columnar" if read_path == "columnar" else "off"
    app = create_app(Settings(database_url=database_url, analytics=analytics, **settings))
    with TestClient(app) as client:
        copy = app.state.services.columnar
        if copy is not None:
            assert copy.wait_until(time.monotonic(), timeout=60.0)
        yield client


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


@pytest.fixture
def loaded(db: Database, make_key: KeyMaker) -> dict[str, str]:
    headers = make_key.headers("api")
    with db.reader.connect() as connection:
        project_id = connection.execute(select(projects.c.id)).scalar_one()
    _load_events(db, project_id)
    return headers


@pytest.mark.parametrize("read_path", ["primary", "columnar"])
def test_a_query_past_the_timeout_is_a_422_and_the_next_query_works(
    database_url: str, loaded: dict[str, str], read_path: str
) -> None:
    with _server(database_url, read_path, query_timeout_seconds=TINY) as client:
        services = _services(client)
        slow = client.post("/query/events", json=SLOW_COUNT, headers=loaded)
        body = assert_problem(slow, 422, "/query/events")
        assert "took longer than 0.01 s" in body["detail"]
        assert "retry-after" not in slow.headers
        assert services.queries.running == 0
        engine = services.columnar.engine if services.columnar else services.database.reader
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        # Read again with time enough, through the same pooled connections.
        services.settings = services.settings.replace(query_timeout_seconds=600.0)
        for _ in range(3):
            answer = client.post("/query/events", json=COUNT, headers=loaded)
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["result"] == [{"count": EVENTS}]
        if read_path == "columnar":
            assert services.analytic_reads == {"columnar": 3, "primary": 0}


def test_an_export_past_the_timeout_is_a_422_before_any_byte_and_frees_its_slot(
    database_url: str, loaded: dict[str, str]
) -> None:
    with _server(database_url, "primary", query_timeout_seconds=TINY) as client:
        services = _services(client)
        slow = client.post("/query/events/export", json=SLOW_EXPORT, headers=loaded)
        assert_problem(slow, 422, "/query/events/export")
        assert services.exports.running == 0
        assert services.database.reader.pool.checkedout() == 0  # type: ignore[attr-defined]
        services.settings = services.settings.replace(query_timeout_seconds=600.0)
        ids = {"select": [{"type": "field", "field": "id"}]}
        answer = client.post("/query/events/export", json=ids, headers=loaded)
        assert answer.status_code == 200, answer.text
        assert answer.text.count("\r\n") == EVENTS + 1


ANALYTIC_READS = [
    ("POST", "/query/events", COUNT),
    ("POST", "/query/property-keys", {"field": "properties", "views": ["events_view"]}),
    ("GET", "/query/top-search-queries", None),
    ("GET", "/query/weekly-search-users", None),
]


@pytest.mark.parametrize("read_path", ["primary", "columnar"])
def test_reads_beyond_the_concurrency_bound_get_503_and_retry_after(
    database_url: str, api_headers: dict[str, str], read_path: str
) -> None:
    with _server(database_url, read_path, max_concurrent_queries=2) as client:
        services = _services(client)
        with contextlib.ExitStack() as held:
            for _ in range(2):  # two reads in progress
                held.enter_context(services.queries.take(retry_after=1))
            for method, path, body in ANALYTIC_READS:
                shed = client.request(method, path, json=body, headers=api_headers)
                assert_problem(shed, 503, path)
                assert shed.headers["retry-after"] == "1"
            # Plain reads and writes are not analytic reads: they go on.
            event = {"type": "t", "entityType": "message", "messageId": "m"}
            assert client.post("/events", json=event, headers=api_headers).status_code == 200
            held.close()
            assert services.queries.running == 0
            for method, path, body in ANALYTIC_READS:
                answer = client.request(method, path, json=body, headers=api_headers)
                assert answer.status_code == 200, answer.text
