"""Idempotency-Key: a retried write gets the first answer replayed and writes nothing new."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem, count, snapshot
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings
from threadline.store.engine import Database

WRITES: list[tuple[str, dict[str, Any], str]] = [
    ("/events", {"type": "t", "messageId": "m", "entityType": "message"}, "events"),
    ("/feedback", {"type": "positive", "messageId": "m"}, "feedback"),
    (
        "/conversations",
        {"type": "openai", "messages": [{"role": "user", "content": "hi"}]},
        "conversations",
    ),
    (
        "/batch",
        {
            "items": [
                {"kind": "event", "body": {"type": "t", "searchQuery": "q", "entityType": "search"}}
            ]
        },
        "events",
    ),
]


@pytest.mark.parametrize(("path", "body", "table"), WRITES)
def test_a_retry_replays_the_first_answer(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    path: str,
    body: dict[str, Any],
    table: str,
) -> None:
    headers = {**api_headers, "Idempotency-Key": "retry-1"}
    first = client.post(path, json=body, headers=headers)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    # Without a client id, a plain retry would have written a second row; this one does not.
    again = client.post(
        path, content=first.request.content, headers={**headers, "Content-Type": "application/json"}
    )
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert count(db, table) == 1


def test_the_same_key_with_another_body_is_422(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    headers = {**api_headers, "Idempotency-Key": "k"}
    client.post("/events", json=WRITES[0][1], headers=headers)
    before = snapshot(db)
    other = {**WRITES[0][1], "type": "other"}
    assert (
        "another request body"
        in assert_problem(client.post("/events", json=other, headers=headers), 422, "/events")[
            "detail"
        ]
    )
    assert snapshot(db) == before


def test_keys_are_per_project(client: TestClient, make_key: KeyMaker, db: Database) -> None:
    for project in ("docs", "shop"):
        headers = make_key.headers("api", project, **{"Idempotency-Key": "shared"})
        response = client.post("/events", json=WRITES[0][1], headers=headers)
        assert "idempotent-replayed" not in response.headers
    assert count(db, "events") == 2


@pytest.mark.parametrize("same_body", [True, False], ids=["same-body", "another-body"])
def test_keys_are_per_key_so_a_web_key_cannot_claim_the_api_keys(
    client: TestClient, make_key: KeyMaker, db: Database, same_body: bool
) -> None:
    # The web key is public: whoever reads it off a page must not pre-claim the backend's
    # Idempotency-Key (the README's own example, batch-001), to have it replayed or refused.
    web = make_key.headers("web", **{"Idempotency-Key": "batch-001"})
    api = make_key.headers("api", **{"Idempotency-Key": "batch-001"})
    claimed = client.post("/events", json=WRITES[0][1], headers=web)
    assert claimed.status_code == 200
    body = WRITES[0][1] if same_body else {**WRITES[0][1], "type": "other"}
    response = client.post("/events", json=body, headers=api)
    assert response.status_code == 200, response.text
    assert "idempotent-replayed" not in response.headers
    assert response.json()["id"] != claimed.json()["id"]
    assert count(db, "events") == 2
    # Each key still replays its own.
    again = client.post("/events", json=body, headers=api)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == response.content


def test_whitespace_and_key_order_do_not_make_another_request(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    headers = {**api_headers, "Idempotency-Key": "k", "Content-Type": "application/json"}
    client.post(
        "/events", content=b'{"type":"t","messageId":"m","entityType":"message"}', headers=headers
    )
    again = client.post(
        "/events",
        content=b'{ "entityType": "message", "messageId": "m", "type": "t" }',
        headers=headers,
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert count(db, "events") == 1


def test_an_invalid_key_is_400(client: TestClient, api_headers: dict[str, str]) -> None:
    headers = {**api_headers, "Idempotency-Key": "x" * 256}
    assert_problem(client.post("/events", json=WRITES[0][1], headers=headers), 400, "/events")


def test_a_retry_while_the_first_is_in_flight_is_409(
    settings: Settings, make_key: KeyMaker, db: Database
) -> None:
    app = create_app(settings)
    headers = make_key.headers("api", **{"Idempotency-Key": "busy"})

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            # The first request takes the key; the second arrives before it is answered.
            first = asyncio.ensure_future(
                client.post("/events", json=WRITES[0][1], headers=headers)
            )
            await asyncio.sleep(0)
            while not app.state.services.idempotency.in_flight:
                await asyncio.sleep(0)
            second = await client.post("/events", json=WRITES[0][1], headers=headers)
            return [(await first).status_code, second.status_code]

    services = app.state.services
    services.start()
    try:
        assert asyncio.run(scenario()) == [200, 409]
    finally:
        services.stop()
    assert count(db, "events") == 1
