"""The real server, as an operator meets it: the banner, the documented curl flows, and that a 200
means committed, even when SIGTERM arrives in the middle of a burst of writes."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from tests.contract import (
    CONVERSATION_KEYS,
    MESSAGE_KEYS,
    REFERENCE_CONVERSATION,
    SEED_EVENT_RESPONSE_KEYS,
    SEED_FEEDBACK_REQUEST,
)
from tests.e2e.conftest import LiveServer
from threadline.store import tables
from threadline.store.engine import open_database

pytestmark = pytest.mark.e2e

# The request body of the curl example on the "Submit Feedback" docs page (SEED-FB), verbatim.
SEED_FEEDBACK_BODY = """{
    "id": "string",
    "type": "positive",
    "messageId": "string",
    "createdAt": "2019-08-24T14:15:22Z",
    "reasons": [
      {
        "label": "string",
        "details": "string"
      }
    ],
    "properties": {},
    "userProperties": {
      "id": "string",
      "identificationType": "COOKIED",
      "userId": "string",
      "supportAgentName": "string"
    }
  }"""

# Its documented 200 response echoes the request; `createdAt` is the placeholder "string" there.
SEED_FEEDBACK_RESPONSE = {k: v for k, v in SEED_FEEDBACK_REQUEST.items() if k != "createdAt"}

# The minimal request of the "Log Event" curl example (SEED-EV).
SEED_EVENT_BODY = '{\n"type": "string",\n"messageId": "string",\n"entityType": "message"\n}'

CONVERSATION_BODY = REFERENCE_CONVERSATION
MESSAGE_OPTIONAL_KEYS = {"name", "links", "properties", "userProperties", "tool_calls"}
MESSAGE_REQUIRED_KEYS = MESSAGE_KEYS - MESSAGE_OPTIONAL_KEYS


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_banner_names_the_url_and_how_to_get_a_key(live_server: LiveServer) -> None:
    log = live_server.log
    assert f"listening on {live_server.base_url}" in log, log
    assert "threadline keys create" in log, log


def test_feedback_seed_example(live_server: LiveServer) -> None:
    key = live_server.create_key("api")
    with live_server.client() as client:
        response = client.post("/feedback", content=SEED_FEEDBACK_BODY, headers=_headers(key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    for field, value in SEED_FEEDBACK_RESPONSE.items():
        assert body[field] == value, field
    assert _instant(body["createdAt"]) == _instant("2019-08-24T14:15:22Z")
    assert isinstance(body["updatedAt"], str)


def test_event_seed_minimal_request(live_server: LiveServer) -> None:
    key = live_server.create_key("web")
    with live_server.client() as client:
        response = client.post("/events", content=SEED_EVENT_BODY, headers=_headers(key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == SEED_EVENT_RESPONSE_KEYS
    assert body["type"] == "string"
    assert body["messageId"] == "string"
    assert body["entityType"] == "message"
    for field in ("id", "createdAt", "projectId", "integrationId"):
        assert isinstance(body[field], str) and body[field], field


def test_conversation_reference_example(live_server: LiveServer) -> None:
    key = live_server.create_key("web")
    with live_server.client() as client:
        response = client.post("/conversations", json=CONVERSATION_BODY, headers=_headers(key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == CONVERSATION_KEYS | {"messagesOpenAIFormat"}
    assert body["id"] == "conv_1234"
    assert body["type"] == "openai"
    for field in ("externalId", "externalUrl", "supportTicketConversationId", "tags", "visibility"):
        assert body[field] is None, field
    assert body["properties"] == CONVERSATION_BODY["properties"]
    assert body["userProperties"] == CONVERSATION_BODY["userProperties"]
    assert len(body["messages"]) == 2
    for sent, message in zip(CONVERSATION_BODY["messages"], body["messages"], strict=True):
        assert (
            MESSAGE_REQUIRED_KEYS <= set(message) <= MESSAGE_REQUIRED_KEYS | MESSAGE_OPTIONAL_KEYS
        )
        assert message["type"] == "openai"
        assert message["conversationId"] == "conv_1234"
        assert (message["role"], message["content"]) == (sent["role"], sent["content"])
    assert body["messages"][1]["links"] == CONVERSATION_BODY["messages"][1]["links"]
    assert body["messagesOpenAIFormat"] == [
        {"role": "user", "content": "How do I log feedback?"},
        {"role": "assistant", "content": "POST /feedback"},
    ]


def _stored(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """What a fresh process finds in the database: ids (and a detail) of every stored write."""
    database = open_database(database_url, read_pool_size=1)
    queries = {
        "conversations": select(tables.conversations.c.id, tables.conversations.c.message_count),
        "messages": select(tables.messages.c.id).order_by(tables.messages.c.position),
        "feedback": select(tables.feedback.c.id, tables.feedback.c.type),
        "events": select(tables.events.c.id),
    }
    try:
        with database.reader.connect() as connection:
            return {
                name: [tuple(row) for row in connection.execute(q)] for name, q in queries.items()
            }
    finally:
        database.dispose()


def _write_one_of_each(live_server: LiveServer) -> list[str]:
    """POST a conversation, a feedback and an event (all 200); returns the message ids."""
    key = live_server.create_key("api")
    event = {"id": "evt-durable", "type": "copied", "messageId": "string", "entityType": "message"}
    with live_server.client(headers=_headers(key)) as client:
        conversation = client.post("/conversations", json=CONVERSATION_BODY)
        feedback = client.post("/feedback", content=SEED_FEEDBACK_BODY)
        logged = client.post("/events", json=event)
    for response in (conversation, feedback, logged):
        assert response.status_code == 200, response.text
    return [m["id"] for m in conversation.json()["messages"]]


def _assert_one_of_each_stored(database_url: str, message_ids: list[str]) -> None:
    assert _stored(database_url) == {
        "conversations": [("conv_1234", 2)],
        "messages": [(message_id,) for message_id in message_ids],
        "feedback": [("string", "positive")],
        "events": [("evt-durable",)],
    }


def test_sigterm_shuts_down_gracefully_with_status_zero(live_server: LiveServer) -> None:
    live_server.stop_cleanly()
    assert "Application shutdown complete" in live_server.log


def test_acknowledged_writes_survive_shutdown(live_server: LiveServer, database_url: str) -> None:
    message_ids = _write_one_of_each(live_server)
    live_server.stop()  # the fixture asserts the exit status
    _assert_one_of_each_stored(database_url, message_ids)


def test_acknowledged_writes_survive_sigkill(live_server: LiveServer, database_url: str) -> None:
    # A 200 means committed (store/writer.py), not merely queued: no drain is needed.
    message_ids = _write_one_of_each(live_server)
    live_server.kill()
    _assert_one_of_each_stored(database_url, message_ids)


BURST = 200
ACKS_BEFORE_SIGTERM = 20


def test_sigterm_during_a_write_burst_loses_no_acknowledged_write(
    live_server: LiveServer, database_url: str
) -> None:
    key = live_server.create_key("api")
    run = uuid.uuid4().hex[:12]
    acks = Counter[str]()
    lock = threading.Lock()
    enough_acks = threading.Event()

    def send(client: httpx.Client, i: int) -> tuple[str, str]:
        event_id = f"burst-{run}-{i:03d}"
        body = {"id": event_id, "type": "burst", "searchQuery": f"q{i}", "entityType": "search"}
        try:
            response = client.post("/events", json=body)
        except httpx.TransportError as exc:
            return event_id, type(exc).__name__
        outcome = str(response.status_code)
        if response.status_code == 503:
            # Refusals during shutdown are back-pressure the SDK retries (reference §10.10).
            assert response.headers["content-type"] == "application/problem+json"
            assert "retry-after" in response.headers
        with lock:
            acks[outcome] += 1
            if acks["200"] >= ACKS_BEFORE_SIGTERM:
                enough_acks.set()
        return event_id, outcome

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    with (
        live_server.client(timeout=20, headers=_headers(key), limits=limits) as client,
        ThreadPoolExecutor(max_workers=32) as pool,
    ):
        futures = [pool.submit(send, client, i) for i in range(BURST)]
        assert enough_acks.wait(timeout=30), f"no burst of 200s\n{live_server.log}"
        live_server.stop()  # the fixture asserts the exit status
        outcomes = dict(future.result(timeout=60) for future in futures)

    summary = Counter(outcomes.values())
    allowed = {"200", "503"}
    unexpected = {o for o in summary if o not in allowed and not o.endswith("Error")}
    assert not unexpected, f"outcomes {summary}\n--- server log ---\n{live_server.log}"
    assert "Traceback" not in live_server.log, live_server.log
    acknowledged = {event_id for event_id, outcome in outcomes.items() if outcome == "200"}

    database = open_database(database_url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            stored = dict(
                connection.execute(
                    select(tables.events.c.id, func.count())
                    .where(tables.events.c.id.like(f"burst-{run}-%"))
                    .group_by(tables.events.c.id)
                ).all()
            )
    finally:
        database.dispose()
    lost = sorted(acknowledged - stored.keys())
    assert not lost, f"{len(lost)} acknowledged writes lost (outcomes {summary}): {lost[:10]}"
    duplicated = {event_id: n for event_id, n in stored.items() if n != 1}
    assert not duplicated, duplicated
