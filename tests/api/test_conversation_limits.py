"""The caps on messages per post and per conversation (docs/operations.md): beyond either, 422
naming `$.messages` and nothing written, on POST /conversations and inside POST /batch."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem, snapshot
from tests.contract import CONVERSATION_KEYS, MESSAGE_KEYS
from threadline.config import Settings
from threadline.store.engine import Database

PER_POST = 4
PER_CONVERSATION = 6


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        max_messages_per_post=PER_POST,
        max_messages_per_conversation=PER_CONVERSATION,
    )


def _messages(first: int, last: int) -> list[dict[str, Any]]:
    return [
        {"id": f"m{i}", "role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"}
        for i in range(first, last)
    ]


def _conversation(first: int, last: int) -> dict[str, Any]:
    # A user the web key may go on writing for (store.ownership).
    user = {"id": "u1"}
    return {
        "id": "c1",
        "type": "openai",
        "userProperties": user,
        "messages": _messages(first, last),
    }


def _post(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/conversations", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _refused(client: TestClient, db: Database, headers: dict[str, str], body: Any) -> str:
    before = snapshot(db)
    response = client.post("/conversations", json=body, headers=headers)
    problem = assert_problem(response, 422, "/conversations")
    assert [violation["field"] for violation in problem["errors"]] == ["$.messages"]
    assert snapshot(db) == before
    detail: str = problem["detail"]
    return detail


def test_a_post_beyond_the_per_post_cap_is_refused_and_changes_nothing(
    client: TestClient, web_headers: dict[str, str], db: Database
) -> None:
    detail = _refused(client, db, web_headers, _conversation(0, PER_POST + 1))
    assert f"at most {PER_POST}" in detail
    _post(client, web_headers, _conversation(0, PER_POST))  # at the cap: accepted


def test_a_conversation_beyond_its_cap_is_refused_and_changes_nothing(
    client: TestClient, web_headers: dict[str, str], db: Database
) -> None:
    _post(client, web_headers, _conversation(0, PER_POST))
    # Messages left out of a post are kept, so smaller posts can still grow the conversation.
    _post(client, web_headers, _conversation(PER_POST, PER_CONVERSATION))
    full = client.get("/conversations/c1", headers=web_headers).json()
    assert len(full["messages"]) == PER_CONVERSATION
    detail = _refused(
        client, db, web_headers, _conversation(PER_CONVERSATION, PER_CONVERSATION + 1)
    )
    assert f"at most {PER_CONVERSATION}" in detail and "'c1'" in detail
    # Re-posting what is stored, even changed, adds nothing and is still accepted.
    edited = _conversation(0, PER_POST)
    edited["messages"][0]["content"] = "edited"
    again = _post(client, web_headers, edited)
    assert again["messages"][0]["content"] == "edited"


def test_the_answer_holds_the_posted_messages_and_get_holds_all(
    client: TestClient, web_headers: dict[str, str]
) -> None:
    # The widget posts the whole history and replaces its conversation with the answer (widget
    # §3), so it gets every message back; a small post of a long conversation gets a small
    # answer (docs/decisions.md), and GET still answers the whole conversation.
    _post(client, web_headers, _conversation(0, PER_POST - 1))
    whole = _post(client, web_headers, _conversation(0, PER_POST))
    assert [m["id"] for m in whole["messages"]] == [f"m{i}" for i in range(PER_POST)]
    small = _post(client, web_headers, _conversation(1, 2))
    assert set(small) == CONVERSATION_KEYS | {"messagesOpenAIFormat"}
    assert [m["id"] for m in small["messages"]] == ["m1"]
    assert all(set(m) == MESSAGE_KEYS | {"tool_calls"} for m in small["messages"])
    assert small["messagesOpenAIFormat"] == [{"role": "assistant", "content": "turn 1"}]
    stored = client.get("/conversations/c1", headers=web_headers).json()
    assert stored["messages"] == whole["messages"]


def _batch(client: TestClient, headers: dict[str, str], *items: Any) -> dict[str, Any]:
    response = client.post("/batch", json={"items": list(items)}, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_batch_items_beyond_a_cap_are_refused_alone(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    _post(client, api_headers, _conversation(0, PER_POST))
    before = snapshot(db)
    event = {"type": "page_viewed", "entityType": "search", "searchQuery": "install"}
    too_long_post = {**_conversation(0, PER_POST + 1), "id": "c2"}
    too_long_conversation = _conversation(PER_POST, PER_CONVERSATION + 1)
    answer = _batch(
        client,
        api_headers,
        {"kind": "conversation", "body": too_long_post},
        {"kind": "event", "body": event},
        {"kind": "conversation", "body": too_long_conversation},
    )
    assert [r["status"] for r in answer["results"]] == [422, 200, 422]
    for index in (0, 2):
        error = answer["results"][index]["error"]
        assert error["instance"] == f"/batch#/items/{index}"
        assert [v["field"] for v in error["errors"]] == ["$.messages"]
    after = snapshot(db)
    assert after["conversations"] == before["conversations"]
    assert after["messages"] == before["messages"]
    assert len(after["events"]) == len(before["events"]) + 1
