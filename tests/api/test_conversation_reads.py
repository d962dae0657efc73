"""GET /conversations, GET /conversations/external/{externalId}, DELETE /conversations/{id}
(reference §4.5, §4.7, §4.8, §10.6, §10.7, §10.9)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from tests.assertions import assert_problem, count, snapshot
from tests.conftest import KeyMaker
from tests.contract import CONVERSATION_KEYS, MESSAGE_KEYS, REFERENCE_CONVERSATION
from threadline.app import create_app
from threadline.config import Settings
from threadline.store.engine import Database

LIST_KEYS = {"conversations", "total", "pageSize", "count"}
DELETED = {"success": True, "message": "Conversation deleted successfully"}


def post(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/conversations", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def conversation(
    number: int, *, day: int | None = None, external_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A two-message conversation created on 2026-01-<day> (default: <number>)."""
    created = f"2026-01-{day or number:02d}T10:00:00Z"
    body: dict[str, Any] = {
        "id": f"conv_{number}",
        "type": "openai",
        "createdAt": created,
        "messages": [
            {"id": f"m{number}_q", "role": "user", "content": f"question {number}"},
            {"id": f"m{number}_a", "role": "assistant", "content": f"answer {number}"},
        ],
        **extra,
    }
    if external_id is not None:
        body["externalId"] = external_id
    return body


def listing(client: TestClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = client.get(f"/conversations{query}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == LIST_KEYS
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [c["id"] for c in body["conversations"]]


def test_list_returns_full_conversations_newest_first(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    for number in (2, 1, 3):
        post(client, api_headers, conversation(number))
    body = listing(client, api_headers)
    assert (body["total"], body["pageSize"], body["count"]) == (3, 20, 3)
    assert ids(body) == ["conv_3", "conv_2", "conv_1"]
    for item in body["conversations"]:
        assert set(item) == CONVERSATION_KEYS | {"messagesOpenAIFormat"}
        assert [set(m) for m in item["messages"]] == [MESSAGE_KEYS | {"tool_calls"}] * 2
    # Each conversation carries its own messages, in order.
    third = body["conversations"][0]
    assert [m["id"] for m in third["messages"]] == ["m3_q", "m3_a"]
    assert [m["content"] for m in third["messagesOpenAIFormat"]] == ["question 3", "answer 3"]
    # The list shows exactly what GET by id shows.
    one = client.get("/conversations/conv_3", headers=api_headers).json()
    assert third == one


def test_list_mixes_conversation_types(client: TestClient, api_headers: dict[str, str]) -> None:
    post(client, api_headers, conversation(1))
    support = {
        "id": "ticket_1",
        "type": "support_ticket",
        "createdAt": "2026-01-05T00:00:00Z",
        "messages": [{"role": "customer", "content": None}],
    }
    post(client, api_headers, support)
    first, second = listing(client, api_headers)["conversations"]
    assert first["type"] == "support_ticket" and "messagesOpenAIFormat" not in first
    assert set(first["messages"][0]) == MESSAGE_KEYS
    assert first["messages"][0]["content"] is None
    assert second["type"] == "openai"


def test_paging_is_stable_and_counts_are_real(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    # Five conversations on one day: the id breaks the tie, so pages never overlap.
    for number in range(1, 6):
        post(client, api_headers, conversation(number, day=7))
    post(client, api_headers, conversation(6, day=1))
    pages = [listing(client, api_headers, f"?limit=2&offset={o}") for o in (0, 2, 4, 6)]
    assert [ids(p) for p in pages] == [
        ["conv_5", "conv_4"],
        ["conv_3", "conv_2"],
        ["conv_1", "conv_6"],
        [],
    ]
    assert [(p["total"], p["pageSize"], p["count"]) for p in pages] == [
        (6, 2, 2),
        (6, 2, 2),
        (6, 2, 2),
        (6, 2, 0),
    ]
    empty = listing(client, api_headers, "?limit=0")
    assert (empty["conversations"], empty["total"], empty["pageSize"], empty["count"]) == (
        [],
        6,
        0,
        0,
    )
    assert listing(client, api_headers, "?limit=100&offset=5")["count"] == 1
    # The SDK sends null parameters as empty values: the defaults.
    assert listing(client, api_headers, "?limit=&offset=")["pageSize"] == 20


def test_an_empty_project_lists_nothing(client: TestClient, api_headers: dict[str, str]) -> None:
    assert listing(client, api_headers) == {
        "conversations": [],
        "total": 0,
        "pageSize": 20,
        "count": 0,
    }


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("?limit=101", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=1.5", "limit"),
        ("?limit=+5", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=x", "offset"),
        ("?offset=99999999999999999999", "offset"),
        ("?limit=5&offset=1e3", "offset"),
    ],
)
@pytest.mark.parametrize("path", ["/conversations", "/feedback"])
def test_bad_paging_parameters_are_400_naming_them(
    client: TestClient, api_headers: dict[str, str], path: str, query: str, name: str
) -> None:
    problem = assert_problem(client.get(path + query, headers=api_headers), 400, path)
    assert problem["detail"].startswith(name)
    assert [v["field"] for v in problem["errors"]] == [name]


def test_list_is_for_api_keys_only(client: TestClient, make_key: KeyMaker) -> None:
    assert_problem(client.get("/conversations"), 401, "/conversations")
    web = make_key.headers("web")
    assert_problem(client.get("/conversations", headers=web), 403, "/conversations")


def test_each_project_lists_only_its_own(client: TestClient, make_key: KeyMaker) -> None:
    docs, shop = make_key.headers("api", "docs"), make_key.headers("api", "shop")
    post(client, docs, conversation(1))
    post(client, docs, conversation(2))
    post(client, shop, conversation(1, tags=["shop"]))
    body = listing(client, shop)
    assert body["total"] == 1 and ids(body) == ["conv_1"]
    assert body["conversations"][0]["tags"] == ["shop"]
    assert body["conversations"][0]["messages"][0]["conversationId"] == "conv_1"
    assert listing(client, docs)["total"] == 2


def test_get_by_external_id(client: TestClient, api_headers: dict[str, str]) -> None:
    post(client, api_headers, conversation(1, external_id="ticket-1"))
    post(client, api_headers, conversation(2, external_id="ticket-2"))
    response = client.get("/conversations/external/ticket-2", headers=api_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == CONVERSATION_KEYS | {"messagesOpenAIFormat"}
    assert (body["id"], body["externalId"]) == ("conv_2", "ticket-2")
    assert body == client.get("/conversations/conv_2", headers=api_headers).json()


def test_external_ids_with_reserved_characters(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    # The SDK percent-encodes the path segment (reference §4.8).
    post(client, api_headers, conversation(1, external_id="zendesk/42 #a"))
    response = client.get("/conversations/external/zendesk%2F42%20%23a", headers=api_headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "conv_1"


def test_a_shared_external_id_gives_the_latest_updated(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    post(client, api_headers, conversation(1, external_id="dup", updatedAt="2026-02-01T00:00:00Z"))
    post(client, api_headers, conversation(2, external_id="dup", updatedAt="2026-03-01T00:00:00Z"))
    post(client, api_headers, conversation(3, external_id="dup", updatedAt="2026-01-20T00:00:00Z"))
    path = "/conversations/external/dup"
    assert client.get(path, headers=api_headers).json()["id"] == "conv_2"
    # Updating conv_1 now makes it the latest.
    post(client, api_headers, conversation(1, external_id="dup"))
    assert client.get(path, headers=api_headers).json()["id"] == "conv_1"


def test_external_id_lookup_refusals(client: TestClient, make_key: KeyMaker) -> None:
    docs = make_key.headers("api", "docs")
    post(client, docs, conversation(1, external_id="ext"))
    path = "/conversations/external/ext"
    assert_problem(client.get(path), 401, path)
    assert_problem(client.get(path, headers=make_key.headers("web", "docs")), 403, path)
    assert_problem(client.get(path, headers=make_key.headers("api", "shop")), 404, path)
    missing = "/conversations/external/nope"
    problem = assert_problem(client.get(missing, headers=docs), 404, missing)
    assert "nope" in problem["detail"]


@pytest.mark.parametrize("kind", ["api", "web"])
def test_delete_removes_the_conversation_everywhere(
    client: TestClient, make_key: KeyMaker, db: Database, kind: str
) -> None:
    api = make_key.headers("api")
    # Web keys may delete the chats their integration wrote for a user: the widget clears saved
    # chats (reference §4.7, §10.7; store.ownership).
    writer = make_key.headers(kind)
    user = {"userProperties": {"id": "u1"}}
    post(client, writer, conversation(1, external_id="ext-1", **user))
    post(client, writer, conversation(2, external_id="ext-2", **user))
    response = client.delete("/conversations/conv_1", headers=make_key.headers(kind))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == DELETED
    assert_problem(client.get("/conversations/conv_1", headers=api), 404)
    assert_problem(client.get("/conversations/external/ext-1", headers=api), 404)
    body = listing(client, api)
    assert ids(body) == ["conv_2"] and body["total"] == 1
    # The other conversation and its messages are untouched.
    assert body["conversations"][0]["messages"][0]["id"] == "m2_q"
    assert count(db, "conversations") == 1 and count(db, "messages") == 2
    # Deleting again is a 404; the ids are free to be used again.
    assert_problem(
        client.delete("/conversations/conv_1", headers=api), 404, "/conversations/conv_1"
    )
    again = post(client, api, conversation(1))
    assert [m["id"] for m in again["messages"]] == ["m1_q", "m1_a"]


def test_delete_refusals_change_nothing(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    post(client, make_key.headers("api", "docs"), conversation(1))
    before = snapshot(db)
    path = "/conversations/conv_1"
    assert_problem(client.delete(path), 401, path)
    # Another project's key cannot see it, so cannot delete it.
    for kind in ("api", "web"):
        assert_problem(client.delete(path, headers=make_key.headers(kind, "shop")), 404, path)
    missing = "/conversations/conv_9"
    assert_problem(client.delete(missing, headers=make_key.headers("api", "docs")), 404, missing)
    after = snapshot(db)
    # Only the keys made above were added.
    assert {
        k: v for k, v in after.items() if k not in ("api_keys", "integrations", "projects")
    } == {k: v for k, v in before.items() if k not in ("api_keys", "integrations", "projects")}


def test_a_project_deletes_only_its_own_conversation_of_a_shared_id(
    client: TestClient, make_key: KeyMaker
) -> None:
    docs, shop = make_key.headers("api", "docs"), make_key.headers("api", "shop")
    post(client, docs, REFERENCE_CONVERSATION)
    post(client, shop, REFERENCE_CONVERSATION)
    assert client.delete("/conversations/conv_1234", headers=shop).json() == DELETED
    kept = client.get("/conversations/conv_1234", headers=docs)
    assert kept.status_code == 200 and len(kept.json()["messages"]) == 2
    assert listing(client, shop)["total"] == 0


def test_a_page_loads_its_messages_in_one_query(
    database_url: str, api_headers: dict[str, str]
) -> None:
    # Only the request's statements are counted: the app's own reader engine, and no columnar
    # copy, whose background sync reads messages on that engine too, whenever it likes.
    settings = Settings(database_url=database_url, analytics="off")
    with TestClient(create_app(settings)) as client:
        for number in range(1, 6):
            post(client, api_headers, conversation(number))
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        reader = client.app.state.services.database.reader  # type: ignore[attr-defined]
        event.listen(reader, "before_cursor_execute", record)
        try:
            assert listing(client, api_headers, "?limit=5")["count"] == 5
        finally:
            event.remove(reader, "before_cursor_execute", record)
    assert len([s for s in statements if "FROM messages" in s]) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/conversations/a%00b"),
        ("DELETE", "/conversations/a%00b"),
        ("GET", "/conversations/external/a%00b"),
        ("GET", "/feedback/a%00b"),
        ("DELETE", "/feedback/a%00b"),
    ],
)
def test_an_id_holding_nul_is_not_found_on_every_backend(
    client: TestClient, api_headers: dict[str, str], method: str, path: str
) -> None:
    # Bodies refuse U+0000, so no stored id holds it; PostgreSQL could not even compare it.
    response = client.request(method, path, headers=api_headers)
    assert_problem(response, 404)


def test_reads_beyond_the_concurrency_bound_get_503_and_retry_after(
    database_url: str, make_key: KeyMaker
) -> None:
    # A public web key asking for one large conversation many times at once: each read holds
    # its rows and answer in memory, so only so many run (docs/operations.md).
    settings = Settings(database_url=database_url, max_concurrent_reads=2)
    with TestClient(create_app(settings)) as client:
        web = make_key.headers("web")
        post(client, web, conversation(1, userProperties={"id": "u1"}))
        services = client.app.state.services  # type: ignore[attr-defined]
        with contextlib.ExitStack() as held:
            for _ in range(2):
                held.enter_context(services.reads.take(retry_after=1))
            shed = client.get("/conversations/conv_1", headers=web)
            assert_problem(shed, 503, "/conversations/conv_1")
            assert shed.headers["retry-after"] == "1"
        assert services.reads.running == 0
        assert client.get("/conversations/conv_1", headers=web).status_code == 200
        assert services.reads.running == 0
