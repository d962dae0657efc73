"""A source project filled through the API: conversations of every type with links, parts and
tool calls; feedback with reasons; events of every entity type, with properties that are not
all strings, and more events at one instant than a query page holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CONVERSATIONS = 23
LISTED_FEEDBACK = 10
UNLISTED_FEEDBACK = 1  # its message is not stored: counted by GET /feedback, not listed
SAME_INSTANT_EVENTS = 1100  # more than one page of the query language (1,000)
SPREAD_EVENTS = 400


def _at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _conversation(i: int) -> dict[str, Any]:
    if i == 5:
        return {
            "type": "support_ticket",
            "id": f"conv_{i}",
            "createdAt": _at(i * 60),
            "updatedAt": _at(i * 60 + 30),
            "tags": ["billing"],
            "messages": [
                {
                    "id": f"m_{i}_0",
                    "role": "customer",
                    "content": "Refund?",
                    "createdAt": _at(i * 60),
                },
                {"id": f"m_{i}_1", "role": "agent", "content": None, "createdAt": _at(i * 60 + 1)},
            ],
        }
    assistant: dict[str, Any] = {
        "id": f"m_{i}_1",
        "role": "assistant",
        "content": f"Answer {i}",
        "createdAt": _at(i * 60 + 2.5),
        "links": [{"url": f"https://docs.example.com/{i}", "title": "Docs"}],
    }
    if i == 4:
        assistant["tool_calls"] = [
            {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
        ]
    question: Any = f"Question {i}?"
    if i == 3:
        question = [{"type": "text", "text": "Parts?"}]
    return {
        "type": "openai",
        "id": f"conv_{i}",
        "externalId": f"ext-{i}" if i % 3 == 0 else None,
        "createdAt": _at(i * 60),
        "updatedAt": _at(i * 60 + 3.123456),
        "properties": {"n": i, "nested": {"a": [1, None]}, "flag": i % 2 == 0},
        "userProperties": {"id": f"u{i % 5}", "identificationType": "COOKIED"},
        "visibility": "private" if i % 4 else None,
        "messages": [
            {"id": f"m_{i}_0", "role": "user", "content": question, "createdAt": _at(i * 60)},
            assistant,
        ],
    }


def _feedback(i: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"fb_{i}",
        "type": "positive" if i % 2 == 0 else "negative",
        "messageId": f"m_{i}_1",
        "createdAt": _at(i * 60 + 10),
        "updatedAt": _at(i * 60 + 11),
    }
    if i % 2:
        body["reasons"] = [{"label": "outdated", "details": "v1 docs"}]
        body["details"] = "wrong version"
    return body


def _event(i: int, web: bool) -> dict[str, Any]:
    entity = ("message", "conversation", "search")[i % 3]
    body: dict[str, Any] = {
        "id": f"evt_{i:05d}",
        "type": ("message:copied", "chat_shared", "searched")[i % 3],
        "entityType": entity,
        "createdAt": _at(5000) if i < SAME_INSTANT_EVENTS else _at(5000 + i * 0.25),
        "properties": {"count": i, "s": "x", "none": None, "deep": {"l": [i]}},
        "userProperties": {"id": f"u{i % 7}"} if web else None,
    }
    target = {"message": "messageId", "conversation": "conversationId", "search": "searchQuery"}
    body[target[entity]] = f"m_{i % CONVERSATIONS}_1" if entity == "message" else f"q {i}"
    if entity == "conversation":
        body["conversationId"] = f"conv_{i % CONVERSATIONS}"
    return body


def _batch(client: httpx.Client | TestClient, key: str, items: list[dict[str, Any]]) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    for start in range(0, len(items), 1000):
        answer = client.post("/batch", json={"items": items[start : start + 1000]}, headers=headers)
        assert answer.status_code == 200, answer.text
        statuses = answer.json()["rejected"]
        assert statuses == 0, answer.text


def fill(client: httpx.Client | TestClient, api_key: str, web_key: str) -> None:
    """Fill the source project through its API (api key: most of it; web key: some)."""
    api_items: list[dict[str, Any]] = []
    web_items: list[dict[str, Any]] = []
    for i in range(CONVERSATIONS):
        (web_items if i >= CONVERSATIONS - 2 else api_items).append(
            {"kind": "conversation", "body": _conversation(i)}
        )
    _batch(client, api_key, api_items)
    _batch(client, web_key, web_items)
    feedback = [{"kind": "feedback", "body": _feedback(i)} for i in range(LISTED_FEEDBACK)]
    feedback.append(
        {
            "kind": "feedback",
            "body": {"id": "fb_lost", "type": "negative", "messageId": "m_nowhere"},
        }
    )
    _batch(client, api_key, feedback)
    total = SAME_INSTANT_EVENTS + SPREAD_EVENTS
    _batch(
        client, api_key, [{"kind": "event", "body": _event(i, False)} for i in range(0, total, 2)]
    )
    _batch(
        client, web_key, [{"kind": "event", "body": _event(i, True)} for i in range(1, total, 2)]
    )
