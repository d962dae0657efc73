"""POST /conversations: the upsert of a full history (reference §4, widget §4-§5)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem, assert_refused, count, snapshot
from tests.conftest import KeyMaker
from tests.contract import CONVERSATION_KEYS, MESSAGE_KEYS, REFERENCE_CONVERSATION
from threadline.store.engine import Database

LINK = {"url": "https://docs.example.com/fb", "title": "Feedback"}
REFERENCE_EXAMPLE = REFERENCE_CONVERSATION


def post(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/conversations", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_reference_example_round_trip(client: TestClient, web_headers: dict[str, str]) -> None:
    body = post(client, web_headers, REFERENCE_EXAMPLE)
    assert set(body) == CONVERSATION_KEYS | {"messagesOpenAIFormat"}
    assert body["id"] == "conv_1234" and body["type"] == "openai"
    for key in ("externalId", "externalUrl", "supportTicketConversationId", "tags", "visibility"):
        assert body[key] is None
    assert body["properties"] == {"source": "docs"}
    assert body["userProperties"] == REFERENCE_EXAMPLE["userProperties"]
    user, assistant = body["messages"]
    for message in (user, assistant):
        assert set(message) == MESSAGE_KEYS | {"tool_calls"}
        assert message["type"] == "openai" and message["conversationId"] == "conv_1234"
    assert (user["role"], user["content"]) == ("user", "How do I log feedback?")
    assert assistant["links"] == [LINK] and user["links"] is None
    assert body["messagesOpenAIFormat"] == [
        {"role": "user", "content": "How do I log feedback?"},
        {"role": "assistant", "content": "POST /feedback"},
    ]


def test_reposting_the_history_adds_only_new_messages(
    client: TestClient, web_headers: dict[str, str], db: Database
) -> None:
    first = post(client, web_headers, REFERENCE_EXAMPLE)
    # The client re-sends everything with the ids the server returned, plus a new turn.
    history = [
        {"id": m["id"], "role": m["role"], "content": m["content"]} for m in first["messages"]
    ]
    history.append({"role": "user", "content": "Thanks!"})
    # The same user, as the widget sends on every post: a web key changes only its user's chats.
    user = REFERENCE_EXAMPLE["userProperties"]
    again = {"id": "conv_1234", "type": "openai", "messages": history, "userProperties": user}
    second = post(client, web_headers, again)
    assert [m["id"] for m in second["messages"][:2]] == [m["id"] for m in first["messages"]]
    assert [m["content"] for m in second["messages"]] == [
        "How do I log feedback?",
        "POST /feedback",
        "Thanks!",
    ]
    assert count(db, "messages") == 3 and count(db, "conversations") == 1
    # Left out of the re-post: kept as stored.
    assert second["messages"][1]["links"] == [LINK]
    assert second["properties"] == {"source": "docs"}
    assert second["createdAt"] == first["createdAt"]


def test_messages_without_ids_get_stable_ids(
    client: TestClient, web_headers: dict[str, str], db: Database
) -> None:
    first = post(client, web_headers, REFERENCE_EXAMPLE)
    again = post(client, web_headers, REFERENCE_EXAMPLE)
    assert [m["id"] for m in again["messages"]] == [m["id"] for m in first["messages"]]
    assert count(db, "messages") == 2


def test_client_message_ids_are_kept_verbatim(
    client: TestClient, web_headers: dict[str, str]
) -> None:
    # The widget's own ids: feedback and message events refer to them (widget §6.4).
    body = post(
        client,
        web_headers,
        {
            "type": "openai",
            "messages": [{"id": "1795431006200-4l34-1", "role": "user", "content": "Hi"}],
        },
    )
    assert body["id"].startswith("conv_")
    assert body["messages"][0]["id"] == "1795431006200-4l34-1"


def test_the_widget_two_turn_flow_stores_each_message_once(
    client: TestClient, web_headers: dict[str, str], db: Database
) -> None:
    user = {"id": "1795431006200-4l34-1", "role": "user", "content": "How do I log feedback?"}
    meta = {
        "tags": ["probe"],
        "properties": {"site": "local-probe"},
        "userProperties": {"identificationType": "COOKIED", "id": "cookie-1"},
    }
    started = post(client, web_headers, {"type": "openai", "messages": [user], **meta})
    assistant = {
        "id": "1795431006234-6t4z-2",
        "role": "assistant",
        "content": "Use POST /feedback with a `messageId`.",
        "links": [
            {
                "label": None,
                "url": "https://docs.example.com/feedback",
                "title": "Feedback API",
                "description": None,
                "type": "documentation",
                "breadcrumbs": ["Docs", "API"],
            }
        ],
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "provideLinks", "arguments": '{"links":[]}'},
            }
        ],
    }
    history = {"id": started["id"], "type": "openai", "messages": [user, assistant], **meta}
    post(client, web_headers, history)
    final = post(client, web_headers, history)  # posted again, unchanged
    assert [m["id"] for m in final["messages"]] == [user["id"], assistant["id"]]
    assert final["messages"][1]["links"] == assistant["links"]
    assert final["messages"][1]["tool_calls"] == assistant["tool_calls"]
    assert final["messagesOpenAIFormat"][1]["tool_calls"] == assistant["tool_calls"]
    assert final["tags"] == ["probe"]
    assert count(db, "messages") == 2


def test_what_the_server_returned_can_be_posted_back(
    client: TestClient, web_headers: dict[str, str]
) -> None:
    # The widget's Share posts the server's own messages (nulls and all) as a new copy.
    stored = post(client, web_headers, REFERENCE_EXAMPLE)
    copies = [
        {
            **{k: v for k, v in m.items() if k not in ("createdAt", "updatedAt", "conversationId")},
            "id": f"1795431009999{m['id']}",
        }
        for m in stored["messages"]
    ]
    shared = post(
        client,
        web_headers,
        {
            "type": "openai",
            "visibility": "public",
            "tags": [],
            "userProperties": {},
            "messages": copies,
        },
    )
    assert shared["id"] != stored["id"] and shared["visibility"] == "public"
    assert [m["content"] for m in shared["messages"]] == [m["content"] for m in stored["messages"]]


def test_camel_case_tool_calls_and_metadata_are_kept(
    client: TestClient, web_headers: dict[str, str]
) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    metadata = {"context": "x", "attributes": {"workflow": None, "attachments": []}}
    body = post(
        client,
        web_headers,
        {
            "type": "openai",
            "messages": [
                {"role": "user", "content": "Hi", "metadata": metadata},
                {"role": "assistant", "content": "Hello", "toolCalls": [call]},
            ],
        },
    )
    assert body["messages"][0]["metadata"] == metadata
    assert body["messages"][1]["tool_calls"] == [call]
    assert "metadata" not in body["messages"][1]


def test_array_content_round_trips_with_image_detail_defaulted(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    parts = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    body = post(
        client, api_headers, {"type": "openai", "messages": [{"role": "user", "content": parts}]}
    )
    expected = [
        parts[0],
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "auto"}},
    ]
    assert body["messages"][0]["content"] == expected
    assert body["messagesOpenAIFormat"][0]["content"] == expected


@pytest.mark.parametrize("kind", ["support_ticket", "support_copilot"])
def test_support_conversations(client: TestClient, api_headers: dict[str, str], kind: str) -> None:
    sent = {
        "id": f"{kind}-1",
        "type": kind,
        "externalId": "ticket-77",
        "externalUrl": "https://support.example.com/77",
        "supportTicketConversationId": "ticket-conv-1",
        "tags": ["billing"],
        "visibility": "private",
        "createdAt": "2026-02-01T10:00:00Z",
        "messages": [
            {"id": "s1", "role": "customer", "content": "My invoice is wrong"},
            {"id": "s2", "role": "agent", "content": None, "name": "Ann"},
        ],
    }
    body = post(client, api_headers, sent)
    assert set(body) == CONVERSATION_KEYS  # no messagesOpenAIFormat on support variants
    assert body["type"] == kind and body["externalId"] == "ticket-77"
    assert body["createdAt"] == "2026-02-01T10:00:00.000Z"
    assert [m["type"] for m in body["messages"]] == [kind, kind]
    assert [m["role"] for m in body["messages"]] == ["customer", "agent"]
    assert body["messages"][1]["content"] is None and body["messages"][1]["name"] == "Ann"
    assert all(set(m) == MESSAGE_KEYS for m in body["messages"])


def test_omitted_fields_are_kept_and_null_clears(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    post(client, api_headers, {**REFERENCE_EXAMPLE, "tags": ["a"], "externalId": "e1"})
    kept = post(
        client,
        api_headers,
        {"id": "conv_1234", "type": "openai", "messages": REFERENCE_EXAMPLE["messages"]},
    )
    assert kept["tags"] == ["a"] and kept["externalId"] == "e1"
    cleared = post(client, api_headers, {**REFERENCE_EXAMPLE, "tags": None})
    assert cleared["tags"] is None and cleared["externalId"] == "e1"


def test_a_changed_message_is_updated_in_place(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    first = post(client, api_headers, REFERENCE_EXAMPLE)
    edited = [dict(m) for m in REFERENCE_EXAMPLE["messages"]]
    edited[1]["content"] = "POST /feedback with a messageId"
    second = post(client, api_headers, {**REFERENCE_EXAMPLE, "messages": edited})
    assert second["messages"][1]["content"] == "POST /feedback with a messageId"
    assert second["messages"][1]["id"] == first["messages"][1]["id"]
    assert count(db, "messages") == 2


def test_conversation_ids_are_per_project(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    docs = post(client, make_key.headers("web", "docs"), REFERENCE_EXAMPLE)
    shop = post(
        client,
        make_key.headers("web", "shop"),
        {
            "id": "conv_1234",
            "type": "support_ticket",
            "messages": [{"role": "agent", "content": "hi"}],
        },
    )
    assert docs["projectId"] != shop["projectId"] and shop["type"] == "support_ticket"
    assert count(db, "conversations") == 2


def test_changing_the_type_is_refused_and_changes_nothing(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    post(client, api_headers, REFERENCE_EXAMPLE)
    before = snapshot(db)
    response = client.post(
        "/conversations",
        json={
            "id": "conv_1234",
            "type": "support_ticket",
            "messages": [{"role": "agent", "content": "x"}],
        },
        headers=api_headers,
    )
    assert "openai" in assert_problem(response, 422, "/conversations")["detail"]
    assert snapshot(db) == before


def test_a_message_id_of_another_conversation_is_refused(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    post(
        client,
        api_headers,
        {"id": "c1", "type": "openai", "messages": [{"id": "m1", "role": "user", "content": "a"}]},
    )
    before = snapshot(db)
    response = client.post(
        "/conversations",
        json={
            "id": "c2",
            "type": "openai",
            "messages": [
                {"id": "m2", "role": "user", "content": "b"},
                {"id": "m1", "role": "user", "content": "c"},
            ],
        },
        headers=api_headers,
    )
    assert "m1" in assert_problem(response, 422, "/conversations")["detail"]
    assert snapshot(db) == before  # not even c2 or m2 was written


def test_a_post_without_id_continues_the_conversation_holding_its_message_ids(
    client: TestClient, web_headers: dict[str, str], db: Database
) -> None:
    """Found by tests/e2e/test_widget.py: when the answer streams in before the first post's
    response, the widget posts the answered history without `id` (widget §3-§4)."""
    user = {"id": "1795431006200-4l34-1", "role": "user", "content": "How do I log feedback?"}
    answer = {"id": "1795431006234-6t4z-2", "role": "assistant", "content": "POST /feedback"}
    who = {"userProperties": {"identificationType": "COOKIED", "id": "cookie-1"}}
    first = post(client, web_headers, {"type": "openai", "messages": [user], **who})
    second = post(client, web_headers, {"type": "openai", "messages": [user, answer], **who})
    assert second["id"] == first["id"]
    assert [m["id"] for m in second["messages"]] == [user["id"], answer["id"]]
    assert count(db, "conversations") == 1 and count(db, "messages") == 2
    # The share flow's copy carries new message ids: it stays a conversation of its own.
    copy = {**answer, "id": "1795431009999" + answer["id"]}
    shared = post(
        client, web_headers, {"type": "openai", "visibility": "public", "messages": [copy]}
    )
    assert shared["id"] != first["id"]


def test_a_post_without_id_naming_two_conversations_is_refused(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    for conversation, message in (("c1", "m1"), ("c2", "m2")):
        body = {
            "id": conversation,
            "type": "openai",
            "messages": [{"id": message, "role": "user", "content": "a"}],
        }
        post(client, api_headers, body)
    before = snapshot(db)
    both = [{"id": m, "role": "user", "content": "a"} for m in ("m1", "m2")]
    response = client.post(
        "/conversations", json={"type": "openai", "messages": both}, headers=api_headers
    )
    assert_problem(response, 422, "/conversations")
    assert snapshot(db) == before


def test_a_message_id_twice_in_one_post_is_refused(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    twice = [
        {"id": "m1", "role": "user", "content": "a"},
        {"id": "m1", "role": "user", "content": "b"},
    ]
    response = client.post(
        "/conversations", json={"type": "openai", "messages": twice}, headers=api_headers
    )
    assert_problem(response, 422, "/conversations")
    assert count(db, "conversations") == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, ["$.type"]),
        ({"type": "chat", "messages": []}, ["$.type"]),
        ({"type": "openai"}, ["$.messages"]),
        ({"type": "openai", "messages": []}, ["$.messages"]),
        (
            {"type": "openai", "messages": [{"role": "tool", "content": "x"}]},
            ["$.messages[0].role"],
        ),
        ({"type": "openai", "messages": [{"role": "user"}]}, ["$.messages[0].content"]),
        (
            {"type": "openai", "messages": [{"role": "user", "content": None}]},
            ["$.messages[0].content"],
        ),
        ({"type": "openai", "id": "", "messages": [{"role": "user", "content": "x"}]}, ["$.id"]),
        (
            {
                "type": "openai",
                "visibility": "secret",
                "messages": [{"role": "user", "content": "x"}],
            },
            ["$.visibility"],
        ),
        (
            {
                "type": "openai",
                "messages": [{"role": "user", "content": "x", "links": [{"title": "t"}]}],
            },
            ["$.messages[0].links[0].url"],
        ),
        (
            {
                "type": "openai",
                "messages": [{"role": "assistant", "content": "x", "tool_calls": [{"id": "c"}]}],
            },
            ["$.messages[0].tool_calls[0].function", "$.messages[0].tool_calls[0].type"],
        ),
        (
            {"type": "support_ticket", "messages": [{"content": 3}], "tags": "a"},
            ["$.messages[0].content", "$.messages[0].role", "$.tags"],
        ),
    ],
)
def test_invalid_conversations_name_every_violation_and_change_nothing(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    body: dict[str, object],
    fields: list[str],
) -> None:
    post(client, api_headers, REFERENCE_EXAMPLE)
    assert_refused(client, db, "/conversations", body, api_headers, fields)


def test_a_conversation_reads_back_by_id_with_either_key(
    client: TestClient, make_key: KeyMaker
) -> None:
    posted = post(client, make_key.headers("web"), REFERENCE_EXAMPLE)
    for kind in ("web", "api"):
        # The widget sends Content-Type: application/json on this bodiless GET (widget §3).
        headers = make_key.headers(kind, **{"Content-Type": "application/json"})
        response = client.get("/conversations/conv_1234", headers=headers)
        assert response.status_code == 200
        assert response.json() == posted


def test_reading_an_unknown_or_foreign_conversation_is_404(
    client: TestClient, make_key: KeyMaker
) -> None:
    post(client, make_key.headers("api", "docs"), REFERENCE_EXAMPLE)
    path = "/conversations/conv_1234"
    assert_problem(client.get(path, headers=make_key.headers("api", "shop")), 404, path)
    missing = "/conversations/nope"
    assert_problem(client.get(missing, headers=make_key.headers("api", "docs")), 404, missing)
    assert_problem(client.get(path), 401, path)
