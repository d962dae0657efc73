"""Export slots (issue 18): at most THREADLINE_MAX_CONCURRENT_EXPORTS exports stream at once,
and a client that walks away mid-stream gives its slot back, however it leaves."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from tests.assertions import assert_problem
from tests.walkaway import WAYS, WalkAway, walk_away
from threadline.app import create_app
from threadline.config import Settings
from threadline.services import Services
from threadline.store.engine import Database
from threadline.store.tables import api_keys, events

LIMIT = 2
# Several chunks' worth (export.CHUNK_ROWS a chunk), so a client leaving after the first chunk
# leaves in the middle of the stream.
ROWS = 3_500
EXPORT = "/query/events/export"
EVERY_ID = json.dumps({"select": [{"type": "field", "field": "id"}]}).encode()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, max_concurrent_exports=LIMIT)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def store_events(db: Database, rows: int = ROWS) -> None:
    """`rows` events of the (only) key's project in the last seconds, straight into the
    database (HTTP is slow)."""
    now_us = time.time_ns() // 1000
    with db.writer.begin() as connection:
        project_id, integration_id = connection.execute(
            select(api_keys.c.project_id, api_keys.c.integration_id)
        ).one()
        connection.execute(
            insert(events),
            [
                {
                    "project_id": project_id,
                    "id": f"evt-{i:06d}",
                    "integration_id": integration_id,
                    "entity_type": "message",
                    "type": "message:copied",
                    "message_id": f"m-{i}",
                    "created_at": now_us - i * 1000,
                }
                for i in range(rows)
            ],
        )


def services(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("way", WAYS)
def test_clients_that_leave_mid_export_give_their_slot_back(
    client: TestClient, api_headers: dict[str, str], db: Database, way: WalkAway
) -> None:
    store_events(db)
    headers = {**api_headers, "Content-Type": "application/json"}
    for _ in range(LIMIT * 3):
        visit = walk_away(client, way, "POST", EXPORT, headers, EVERY_ID)
        assert visit.status == 200
        assert visit.body.startswith(b"id\r\n")
        assert visit.body.count(b"\r\n") < ROWS, "the client left before the end"
    assert services(client).exports.running == 0
    whole = client.post(EXPORT, content=EVERY_ID, headers=headers)
    assert whole.status_code == 200, whole.text
    assert whole.text.count("\r\n") == ROWS + 1


def test_clients_that_stop_reading_lose_their_slot_after_the_send_timeout(
    database_url: str, api_headers: dict[str, str], db: Database
) -> None:
    settings = Settings(
        database_url=database_url, max_concurrent_exports=LIMIT, send_timeout_seconds=0.2
    )
    store_events(db)
    headers = {**api_headers, "Content-Type": "application/json"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for _ in range(LIMIT * 2):
            visit = walk_away(client, "stall", "POST", EXPORT, headers, EVERY_ID)
            assert visit.status == 200 and visit.body_chunks == 1
        assert services(client).exports.running == 0
        assert client.post(EXPORT, content=EVERY_ID, headers=headers).status_code == 200


def test_clients_that_leave_before_the_first_byte_give_their_slot_back(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    store_events(db)
    headers = {**api_headers, "Content-Type": "application/json"}
    for _ in range(LIMIT * 3):
        visit = walk_away(client, "early", "POST", EXPORT, headers, EVERY_ID)
        assert visit.body.count(b"\r\n") < ROWS, "the client left before the end"
    assert client.post(EXPORT, content=EVERY_ID, headers=headers).status_code == 200
    assert services(client).exports.running == 0


def test_exports_beyond_the_limit_are_503_until_one_ends(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    store_events(db, rows=10)
    slots = services(client).exports
    held = [slots.take(retry_after=1) for _ in range(LIMIT)]
    assert client.get("/ready").json()["exports"] == {"running": LIMIT, "limit": LIMIT}
    refused = client.post(EXPORT, content=EVERY_ID, headers=api_headers)
    body = assert_problem(refused, 503)
    assert "Too many exports" in body["detail"]
    assert refused.headers["retry-after"] == "1"
    held.pop().release()
    assert client.post(EXPORT, content=EVERY_ID, headers=api_headers).status_code == 200
    assert slots.running == LIMIT - 1


def test_a_refused_query_gives_its_slot_back(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    unknown = json.dumps({"select": [{"type": "field", "field": "nope"}]}).encode()
    for _ in range(LIMIT + 1):
        assert_problem(client.post(EXPORT, content=unknown, headers=api_headers), 400)
    assert services(client).exports.running == 0
