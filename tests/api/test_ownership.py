"""What a public web key may change (docs/decisions.md, "What a web key may change").

A web key changes only conversations and feedback that its own integration's web keys wrote for
the same `userProperties.id`, and deletes only such conversations; anything else is a 403 that
changes nothing. Api keys change anything in their project. Every write path is covered: the
upsert of an existing id, the post without id that continues a stored conversation, DELETE, and
the same writes as items of POST /batch.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem, snapshot
from tests.conftest import KeyMaker
from threadline.store.engine import Database

USER = {"id": "u1", "identificationType": "COOKIED"}
CONVERSATION: dict[str, Any] = {
    "id": "c1",
    "type": "openai",
    "userProperties": USER,
    "messages": [{"id": "m1", "role": "user", "content": "How do I log feedback?"}],
}
FEEDBACK: dict[str, Any] = {
    "id": "f1",
    "type": "positive",
    "messageId": "m1",
    "userProperties": USER,
}
UPSERTS = [("/conversations", CONVERSATION), ("/feedback", FEEDBACK)]


def _headers(make_key: KeyMaker, kind: str = "web", integration: str = "site") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(kind, 'docs', integration)}"}  # type: ignore[arg-type]


def _overwrite(body: dict[str, Any], user: dict[str, Any] | None) -> dict[str, Any]:
    """The body rewritten by someone else: other content, and the given userProperties."""
    changed = {k: v for k, v in body.items() if k != "userProperties"}
    if "messages" in changed:
        changed["messages"] = [{"id": "m1", "role": "user", "content": "overwritten"}]
    else:
        changed["type"] = "negative"
    if user is not None:
        changed["userProperties"] = user
    return changed


@pytest.fixture
def written(client: TestClient, make_key: KeyMaker) -> None:
    """c1 and f1, written by the widget's web key (integration "site") for user u1."""
    owner = _headers(make_key)
    assert client.post("/conversations", json=CONVERSATION, headers=owner).status_code == 200
    assert client.post("/feedback", json=FEEDBACK, headers=owner).status_code == 200


# Who tries to change what the widget wrote for u1, and is refused.
STRANGERS = [
    pytest.param("web", "site", {"id": "u2", "identificationType": "COOKIED"}, id="another-user"),
    pytest.param("web", "site", None, id="no-user"),
    pytest.param("web", "site", {"identificationType": "ANONYMOUS"}, id="anonymous"),
    pytest.param("web", "other site", USER, id="another-integration"),
]


@pytest.mark.usefixtures("written")
@pytest.mark.parametrize(("kind", "integration", "user"), STRANGERS)
@pytest.mark.parametrize(("path", "body"), UPSERTS)
def test_a_web_key_may_not_change_what_another_user_wrote(
    client: TestClient,
    make_key: KeyMaker,
    db: Database,
    kind: str,
    integration: str,
    user: dict[str, Any] | None,
    path: str,
    body: dict[str, Any],
) -> None:
    headers = _headers(make_key, kind, integration)
    before = snapshot(db)
    response = client.post(path, json=_overwrite(body, user), headers=headers)
    assert "may change only" in assert_problem(response, 403, path)["detail"]
    assert snapshot(db) == before


@pytest.mark.usefixtures("written")
@pytest.mark.parametrize(("path", "body"), UPSERTS)
def test_the_same_user_through_any_web_key_of_the_integration_may_change_it(
    client: TestClient, make_key: KeyMaker, path: str, body: dict[str, Any]
) -> None:
    # Another web key of the same integration: keys are rotated, the widget's user stays.
    response = client.post(path, json=_overwrite(body, USER), headers=_headers(make_key))
    assert response.status_code == 200, response.text
    assert response.json()["userProperties"] == USER


@pytest.mark.usefixtures("written")
@pytest.mark.parametrize(("path", "body"), UPSERTS)
def test_api_keys_may_change_anything_in_their_project(
    client: TestClient, make_key: KeyMaker, path: str, body: dict[str, Any]
) -> None:
    other = {"id": "u9"}
    response = client.post(path, json=_overwrite(body, other), headers=_headers(make_key, "api"))
    assert response.status_code == 200, response.text
    assert response.json()["userProperties"] == other


@pytest.mark.parametrize(("path", "body"), UPSERTS)
def test_a_web_key_may_not_change_what_an_api_key_wrote(
    client: TestClient, make_key: KeyMaker, db: Database, path: str, body: dict[str, Any]
) -> None:
    # Even with the same integration and the same user: the backend's records are not public.
    assert client.post(path, json=body, headers=_headers(make_key, "api")).status_code == 200
    web = _headers(make_key)
    before = snapshot(db)
    response = client.post(path, json=_overwrite(body, USER), headers=web)
    assert_problem(response, 403, path)
    assert snapshot(db) == before


def test_a_shared_copy_is_write_once_for_web_keys(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    # The widget's share copy: no user (widget §5), and its id is published in the share link.
    web = _headers(make_key)
    shared = {**CONVERSATION, "id": "shared", "visibility": "public", "userProperties": {}}
    shared["messages"] = [{"id": "s1", "role": "user", "content": "How do I log feedback?"}]
    assert client.post("/conversations", json=shared, headers=web).status_code == 200
    before = snapshot(db)
    again = {**shared, "messages": [{"id": "s1", "role": "user", "content": "spam"}]}
    assert_problem(client.post("/conversations", json=again, headers=web), 403, "/conversations")
    assert_problem(
        client.delete("/conversations/shared", headers=web), 403, "/conversations/shared"
    )
    assert snapshot(db) == before
    # Reading it stays open to web keys: that is what the link is for.
    assert client.get("/conversations/shared", headers=web).status_code == 200


def test_a_chat_naming_no_user_may_only_grow_through_web_keys(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    # The widget with no stored user id (privacy settings, widget §1) posts its growing history
    # with no userProperties.id: it may append, but nothing stored is rewritten.
    web = _headers(make_key)
    anonymous = {"identificationType": "ANONYMOUS"}
    first = {**CONVERSATION, "id": "anon", "userProperties": anonymous}
    first["messages"] = [{"id": "a1", "role": "user", "content": "How do I log feedback?"}]
    assert client.post("/conversations", json=first, headers=web).status_code == 200
    answer = {"id": "a2", "role": "assistant", "content": "POST /feedback."}
    grown = {**first, "messages": [*first["messages"], answer]}
    response = client.post("/conversations", json=grown, headers=web)
    assert response.status_code == 200, response.text
    stored = client.get("/conversations/anon", headers=web).json()
    assert [m["id"] for m in stored["messages"]] == ["a1", "a2"]

    rewritten = {
        **grown,
        "userProperties": {"id": "intruder"},
        "properties": {"spam": True},
        "messages": [{"id": "a1", "role": "user", "content": "spam"}, answer],
    }
    # Naming a user does not claim a conversation stored without one.
    assert_problem(client.post("/conversations", json=rewritten, headers=web), 403)
    before = snapshot(db)
    unnamed = {**rewritten, "userProperties": anonymous}
    assert client.post("/conversations", json=unnamed, headers=web).status_code == 200
    after = client.get("/conversations/anon", headers=web).json()
    assert after["messages"] == stored["messages"]
    assert after["properties"] == stored["properties"]
    assert after["userProperties"] == anonymous
    later = snapshot(db)
    assert {table for table in before if before[table] != later[table]} <= {
        "conversations",
        "changes",
    }  # the conversation's updatedAt, and the change log saying so
    # An api key may still rewrite it.
    api = _headers(make_key, "api")
    assert client.post("/conversations", json=unnamed, headers=api).status_code == 200
    assert client.get("/conversations/anon", headers=web).json()["messages"][0]["content"] == (
        "spam"
    )


@pytest.mark.usefixtures("written")
def test_a_post_without_id_that_continues_a_stored_conversation_is_checked(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    # Message ids name the conversation (store.conversations._continued): still the owner's.
    web = _headers(make_key)
    before = snapshot(db)
    body = _overwrite({k: v for k, v in CONVERSATION.items() if k != "id"}, {"id": "u2"})
    assert_problem(client.post("/conversations", json=body, headers=web), 403, "/conversations")
    assert snapshot(db) == before


@pytest.mark.usefixtures("written")
def test_a_web_key_deletes_a_chat_of_its_integration(
    client: TestClient, make_key: KeyMaker
) -> None:
    response = client.delete("/conversations/c1", headers=_headers(make_key))
    assert response.status_code == 200, response.text
    assert client.get("/conversations/c1", headers=_headers(make_key)).status_code == 404


@pytest.mark.usefixtures("written")
def test_a_web_key_of_another_integration_may_not_delete(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    stranger = _headers(make_key, "web", "other site")
    before = snapshot(db)
    response = client.delete("/conversations/c1", headers=stranger)
    assert_problem(response, 403, "/conversations/c1")
    assert snapshot(db) == before


def test_a_web_key_may_not_delete_what_an_api_key_wrote(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    api = _headers(make_key, "api")
    assert client.post("/conversations", json=CONVERSATION, headers=api).status_code == 200
    web = _headers(make_key)
    before = snapshot(db)
    assert_problem(client.delete("/conversations/c1", headers=web), 403)
    assert snapshot(db) == before
    assert client.delete("/conversations/c1", headers=api).status_code == 200


@pytest.mark.usefixtures("written")
def test_web_keys_may_not_delete_feedback(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    web = _headers(make_key)
    before = snapshot(db)
    assert_problem(client.delete("/feedback/f1", headers=web), 403, "/feedback/f1")
    assert snapshot(db) == before


@pytest.mark.usefixtures("written")
def test_batch_items_are_checked_one_by_one(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    stranger = {"id": "u2"}
    items = [
        {"kind": "conversation", "body": _overwrite(CONVERSATION, stranger)},
        {"kind": "feedback", "body": _overwrite(FEEDBACK, stranger)},
        {"kind": "feedback", "body": {"id": "f2", "type": "negative", "messageId": "m1"}},
    ]
    web = _headers(make_key)
    before = snapshot(db)
    response = client.post("/batch", json={"items": items}, headers=web)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [403, 403, 200]
    assert results[0]["error"]["code"] == "forbidden"
    assert results[0]["error"]["instance"] == "/batch#/items/0"
    after = snapshot(db)
    # Only the new feedback f2 was written; c1, its message and f1 are as they were.
    assert {k: v for k, v in after.items() if k not in ("feedback", "changes")} == {
        k: v for k, v in before.items() if k not in ("feedback", "changes")
    }
    assert all(row in after["feedback"] for row in before["feedback"])
    assert len(after["feedback"]) == len(before["feedback"]) + 1
