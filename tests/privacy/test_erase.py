"""Erasing an end user (DELETE /users/{userId}, `threadline users erase`): after it, nothing of
the user is found through any API view, export, the dashboard, the database or the columnar copy,
and another user's data is all there."""

from __future__ import annotations

import time
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, insert, text
from starlette.testclient import TestClient

from tests.assertions import snapshot
from tests.conftest import KeyMaker
from tests.dashboard.conftest import sign_in
from tests.dashboard.threads import insert_threads, services_of, thread
from threadline.cli import main
from threadline.privacy.erase import erase_user, find_named_events
from threadline.store.engine import Database
from threadline.store.tables import insights_queue, thread_vectors

ERIN = "erin-7731"  # the user to erase; all her texts carry ERINTEXT
VICTOR = "victor-4410"  # another user of the same project; his texts carry VICTEXT


def _post(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _conversation(cid: str, user: dict[str, Any], marker: str) -> dict[str, Any]:
    return {
        "id": cid,
        "type": "openai",
        "userProperties": user,
        "properties": {"plan": f"{marker}-plan"},
        "messages": [
            {"id": f"{cid}-q", "role": "user", "content": f"{marker} how do I install?"},
            {"id": f"{cid}-a", "role": "assistant", "content": f"{marker} run the installer."},
        ],
    }


def _seed(client: TestClient, headers: dict[str, str]) -> None:
    idem = {**headers, "Idempotency-Key": "erin-conv"}
    _post(client, "/conversations", _conversation("c-erin", {"userId": ERIN}, "ERINTEXT"), idem)
    _post(client, "/conversations", _conversation("c-erin-2", {"id": ERIN}, "ERINTEXT"), headers)
    victor = _conversation("c-victor", {"userId": VICTOR}, "VICTEXT")
    _post(client, "/conversations", victor, {**headers, "Idempotency-Key": "victor-conv"})
    # A support ticket of Victor's in which Erin wrote a message.
    ticket = {
        "id": "t-victor",
        "type": "support_ticket",
        "userProperties": {"userId": VICTOR},
        "messages": [
            {"id": "t-1", "role": "customer", "content": "VICTEXT opened"},
            {
                "id": "t-2",
                "role": "user",
                "content": "ERINTEXT chimed in",
                "userProperties": {"userId": ERIN},
            },
        ],
    }
    _post(client, "/conversations", ticket, headers)
    feedback = [
        {"type": "negative", "messageId": "c-erin-a", "details": "ERINTEXT was wrong"},
        {"type": "positive", "messageId": "c-victor-a", "userProperties": {"userId": ERIN}},
        {"type": "positive", "messageId": "c-victor-a", "details": "VICTEXT liked it"},
    ]
    for body in feedback:
        _post(client, "/feedback", body, headers)
    events = [
        {"type": "message:copied", "entityType": "message", "messageId": "c-erin-a"},
        {"type": "chat_shared", "entityType": "conversation", "conversationId": "c-erin-2"},
        {
            "type": "search_query_submitted",
            "entityType": "search",
            "searchQuery": "ERINTEXT pricing",
            "userProperties": {"userId": ERIN},
        },
        {
            "type": "page_viewed",
            "entityType": "message",
            "messageId": "x",
            "userProperties": {"id": ERIN},
        },
        {
            "type": "search_query_submitted",
            "entityType": "search",
            "searchQuery": "VICTEXT pricing",
            "userProperties": {"userId": VICTOR},
        },
    ]
    for body in events:
        _post(client, "/events", body, headers)
    batch = {
        "items": [
            {
                "kind": "event",
                "body": {
                    "type": "opened",
                    "entityType": "conversation",
                    "conversationId": "c-erin",
                },
            }
        ]
    }
    _post(client, "/batch", batch, {**headers, "Idempotency-Key": "erin-batch"})


def _seed_insights(client: TestClient, project_id: str) -> None:
    insert_threads(
        client,
        [
            thread(1, project_id="docs", question="ERINTEXT install?", conversation_ids=["c-erin"]),
            thread(
                2, project_id="docs", question="ERINTEXT again?", user_properties={"userId": ERIN}
            ),
            thread(
                3, project_id="docs", question="VICTEXT install?", conversation_ids=["c-victor"]
            ),
        ],
    )

    def job(connection: Connection) -> None:
        for conversation_id, thread_id in (
            ("c-erin", "docs-thread-1"),
            ("c-victor", "docs-thread-3"),
        ):
            connection.execute(
                insert(thread_vectors),
                {
                    "project_id": project_id,
                    "thread_id": thread_id,
                    "conversation_id": conversation_id,
                    "content_hash": "h",
                    "vector": b"\x00" * 8,
                    "created_at": 1,
                },
            )
            connection.execute(
                insert(insights_queue),
                {
                    "project_id": project_id,
                    "conversation_id": conversation_id,
                    "due_at": 1,
                    "version": 1,
                    "attempts": 0,
                },
            )

    client.portal.call(services_of(client).writer.submit, job)  # type: ignore[union-attr]


def _everything_visible(client: TestClient, headers: dict[str, str]) -> str:
    """The text of every API view of the project: lists, queries, exports, property values,
    search statistics."""
    seen = [
        client.get("/conversations?limit=100", headers=headers).text,
        client.get("/feedback?limit=100", headers=headers).text,
        client.get("/query/top-search-queries", headers=headers).text,
        client.get("/query/weekly-search-users", headers=headers).text,
    ]
    fields = {
        "conversations": ["id", "userProperties", "properties"],
        "events": ["id", "searchQuery", "userProperties", "messageId", "conversationId"],
        "feedback": ["id", "details", "userProperties", "messageId", "reasons"],
        "semantic-threads": ["id", "question", "userProperties", "conversationIds"],
    }
    for view, names in fields.items():
        query = {"select": [{"type": "field", "field": name} for name in names]}
        for suffix in ("", "/export"):
            response = client.post(f"/query/{view}{suffix}", json=query, headers=headers)
            assert response.status_code == 200, (view, response.text)
            seen.append(response.text)
    for field in ("properties", "userProperties"):
        for key in ("userId", "id", "plan"):
            body = {"field": field, "key": key}
            response = client.post("/query/property-values", json=body, headers=headers)
            assert response.status_code == 200, response.text
            seen.append(response.text)
    seen.append(client.get("/conversations/c-erin", headers=headers).text)
    return "\n".join(seen)


def _columnar_text(client: TestClient, project_id: str) -> str:
    """Every row of the project in the columnar copy, once it has taken in every write."""
    services = services_of(client)
    copy = services.columnar
    assert copy is not None
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    rows = []
    with copy.engine.connect() as connection:
        for table in ("conversations", "messages", "feedback", "events", "semantic_threads"):
            query = text(f"SELECT * FROM {table} WHERE project_id = :p")
            rows += [str(row) for row in connection.execute(query, {"p": project_id})]
    return "\n".join(rows)


def _dashboard_text(client: TestClient, key: str) -> str:
    assert sign_in(client, key).status_code == 303
    pages = ["/", "/conversations", "/feedback", "/search", "/events", "/conversations/c-erin"]
    text_of = "\n".join(client.get(f"/dashboard{page}").text for page in pages)
    client.cookies.clear()
    return text_of


def test_erasing_a_user_leaves_nothing_of_them_anywhere_and_others_untouched(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    key = make_key("api", project="docs")
    headers = {"Authorization": f"Bearer {key}"}
    other = make_key.headers("api", project="elsewhere")
    _seed(client, headers)
    # The same user id in another project is another project's business: it stays.
    _post(client, "/conversations", _conversation("c-erin", {"userId": ERIN}, "ERINTEXT"), other)
    project_id = client.post(
        "/events", json={"type": "t", "entityType": "message", "messageId": "z"}, headers=headers
    ).json()["projectId"]
    _seed_insights(client, project_id)
    before = _everything_visible(client, headers) + _columnar_text(client, project_id)
    before += _dashboard_text(client, key)
    assert "ERINTEXT" in before and ERIN in before and "VICTEXT" in before

    web = make_key.headers("web", project="docs")
    assert client.delete(f"/users/{ERIN}", headers=web).status_code == 403
    response = client.delete(f"/users/{ERIN}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "userId": ERIN,
        "deleted": {
            "conversations": 2,
            "messages": 5,  # two conversations of two, and her message in Victor's ticket
            "feedback": 2,  # on her message, and hers on Victor's answer
            "events": 5,  # on her message and conversations (one through /batch), and hers
            "semanticThreads": 2,
            "threadEmbeddings": 1,
            "insightQueue": 1,
            "idempotencyAnswers": 2,  # her conversation, and the batch about it
        },
    }

    after = _everything_visible(client, headers)
    assert "ERINTEXT" not in after and ERIN not in after
    assert "VICTEXT" in after and VICTOR in after
    columnar = _columnar_text(client, project_id)
    assert "ERINTEXT" not in columnar and ERIN not in columnar and "VICTEXT" in columnar
    dashboard = _dashboard_text(client, key)
    assert "ERINTEXT" not in dashboard and ERIN not in dashboard and "VICTEXT" in dashboard
    stored = snapshot(db)
    in_docs = {
        table: [row for row in rows if project_id in row]
        for table, rows in stored.items()
        if table != "changes"
    }
    assert "ERINTEXT" not in str(in_docs) and ERIN not in str(in_docs)
    assert "ERINTEXT" in str(stored["conversations"])  # the other project's Erin
    ticket = client.get("/conversations/t-victor", headers=headers).json()
    assert [m["id"] for m in ticket["messages"]] == ["t-1"]
    query = {
        "select": [{"type": "field", "field": "userMessageCount"}],
        "where": {"condition": {"field": "id", "operator": "eq", "value": "t-victor"}},
    }
    views = client.post("/query/conversations", json=query, headers=headers)
    assert views.json()["data"]["result"] == [{"userMessageCount": 0}]
    # Victor's idempotent retry still replays; Erin's is a new write (nothing to hand out).
    victor = _conversation("c-victor", {"userId": VICTOR}, "VICTEXT")
    replay = client.post(
        "/conversations", json=victor, headers={**headers, "Idempotency-Key": "victor-conv"}
    )
    assert replay.headers.get("idempotent-replayed") == "true"
    # Erasing again finds nothing more.
    again = client.delete(f"/users/{ERIN}", headers=headers).json()
    assert set(again["deleted"].values()) == {0}


def test_the_cli_erases_a_user_and_prints_the_counts(
    client: TestClient, make_key: KeyMaker, database_url: str
) -> None:
    headers = make_key.headers("api", project="docs")
    _post(client, "/conversations", _conversation("c-1", {"userId": 42}, "ERINTEXT"), headers)
    _post(client, "/conversations", _conversation("c-2", {"userId": "43"}, "VICTEXT"), headers)
    runner = CliRunner()
    args = ["users", "erase", "--project", "docs", "--user-id", "42"]
    result = runner.invoke(main, [*args, "--database-url", database_url])
    assert result.exit_code == 0, result.output
    counts = dict(line.split("\t") for line in result.stdout.splitlines())
    assert (counts["conversations"], counts["messages"]) == ("1", "2")
    listed = client.get("/conversations", headers=headers).json()["conversations"]
    assert [c["id"] for c in listed] == ["c-2"]
    missing = runner.invoke(
        main,
        ["users", "erase", "--project", "nope", "--user-id", "42", "--database-url", database_url],
    )
    assert missing.exit_code == 1 and "no project 'nope'" in missing.stderr


@pytest.mark.parametrize("path", ["/users/x", "/users/erin%20smith"])
def test_erasing_an_unknown_user_is_a_200_of_zeros(
    client: TestClient, api_headers: dict[str, str], path: str
) -> None:
    response = client.delete(path, headers=api_headers)
    assert response.status_code == 200
    assert set(response.json()["deleted"].values()) == {0}


def test_events_written_after_the_scan_are_erased_too(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    """The events' scan runs on a reader before the write transaction (the API and the CLI do
    so); an event of the user committed in between is found by the transaction itself."""
    headers = make_key.headers("api", project="docs")
    first = {"type": "a", "entityType": "message", "messageId": "m", "userProperties": {"id": ERIN}}
    project_id = _post(client, "/events", first, headers).json()["projectId"]
    with db.reader.connect() as connection:
        named = find_named_events(connection, project_id=project_id, user_id=ERIN)
    assert len(named.ids) == 1
    _post(client, "/events", {**first, "type": "b"}, headers)
    _post(client, "/events", {**first, "type": "c", "userProperties": {"id": VICTOR}}, headers)
    with db.writer.begin() as connection:
        erased = erase_user(connection, project_id=project_id, user_id=ERIN, named_events=named)
    assert erased.events == 2
    with db.reader.connect() as connection:
        left = connection.execute(text("SELECT type FROM events")).scalars().all()
    assert left == ["c"]
