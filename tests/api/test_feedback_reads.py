"""GET /feedback, GET and DELETE /feedback/{id} (reference §6.2-§6.5, §10.15, §11.11)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem, count
from tests.conftest import KeyMaker
from tests.contract import CONVERSATION_KEYS, FEEDBACK_KEYS, MESSAGE_KEYS
from threadline.store.engine import Database

LIST_KEYS = {
    "positiveFeedbackCount",
    "negativeFeedbackCount",
    "positiveFeedback",
    "negativeFeedback",
}
CONTEXT_KEYS = FEEDBACK_KEYS | {"conversation", "message"}
DELETED = {"success": True, "message": "Feedback deleted successfully"}
CONVERSATION = {
    "id": "conv_1",
    "type": "openai",
    "messages": [
        {"id": "m_q", "role": "user", "content": "How do I log feedback?"},
        {"id": "m_a", "role": "assistant", "content": "POST /feedback"},
    ],
}


def post(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def feedback(
    number: int, kind: str = "positive", message_id: str = "m_a", **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"fb_{number}",
        "type": kind,
        "messageId": message_id,
        "createdAt": f"2026-01-{number:02d}T10:00:00Z",
        **extra,
    }


def listing(client: TestClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = client.get(f"/feedback{query}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == LIST_KEYS
    return body


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def test_feedback_by_id_carries_its_message_and_conversation(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    stored_conversation = post(client, api_headers, "/conversations", CONVERSATION)
    written = post(
        client,
        api_headers,
        "/feedback",
        feedback(1, "negative", reasons=[{"label": "wrong", "details": "outdated"}]),
    )
    response = client.get("/feedback/fb_1", headers=api_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == CONTEXT_KEYS
    # Every field of the POST /feedback answer, as it was answered.
    assert {k: body[k] for k in FEEDBACK_KEYS} == written
    assert body["conversation"] == stored_conversation
    assert set(body["conversation"]) == CONVERSATION_KEYS | {"messagesOpenAIFormat"}
    assert set(body["message"]) == MESSAGE_KEYS | {"tool_calls"}
    assert body["message"] == stored_conversation["messages"][1]
    assert body["message"]["type"] == "openai"


def test_support_conversation_feedback_has_the_support_message_shape(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    ticket = {
        "id": "t_1",
        "type": "support_copilot",
        "messages": [{"id": "s_1", "role": "agent", "content": None}],
    }
    post(client, api_headers, "/conversations", ticket)
    post(client, api_headers, "/feedback", feedback(1, message_id="s_1"))
    body = client.get("/feedback/fb_1", headers=api_headers).json()
    assert body["conversation"]["type"] == "support_copilot"
    assert "messagesOpenAIFormat" not in body["conversation"]
    assert set(body["message"]) == MESSAGE_KEYS
    assert (body["message"]["type"], body["message"]["content"]) == ("support_copilot", None)


def test_list_splits_by_type_newest_first_with_project_totals(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    post(client, api_headers, "/conversations", CONVERSATION)
    for number, kind in [(1, "positive"), (2, "negative"), (3, "positive"), (4, "positive")]:
        post(client, api_headers, "/feedback", feedback(number, kind))
    body = listing(client, api_headers)
    assert (body["positiveFeedbackCount"], body["negativeFeedbackCount"]) == (3, 1)
    assert ids(body["positiveFeedback"]) == ["fb_4", "fb_3", "fb_1"]
    assert ids(body["negativeFeedback"]) == ["fb_2"]
    for item in body["positiveFeedback"] + body["negativeFeedback"]:
        assert set(item) == CONTEXT_KEYS
        assert item["conversation"]["id"] == "conv_1"
        assert item["message"]["id"] == "m_a"
    # An item of the list is exactly what GET by id answers.
    assert body["negativeFeedback"][0] == client.get("/feedback/fb_2", headers=api_headers).json()


def test_limit_and_offset_apply_to_each_array(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    post(client, api_headers, "/conversations", CONVERSATION)
    for number in range(1, 13):
        post(client, api_headers, "/feedback", feedback(number, "positive"))
    for number in range(13, 16):
        post(client, api_headers, "/feedback", feedback(number, "negative"))
    default = listing(client, api_headers)
    assert len(default["positiveFeedback"]) == 10 and len(default["negativeFeedback"]) == 3
    page = listing(client, api_headers, "?limit=2&offset=2")
    assert ids(page["positiveFeedback"]) == ["fb_10", "fb_9"]
    assert ids(page["negativeFeedback"]) == ["fb_13"]
    assert (page["positiveFeedbackCount"], page["negativeFeedbackCount"]) == (12, 3)
    empty = listing(client, api_headers, "?limit=0")
    assert empty == {
        "positiveFeedbackCount": 12,
        "negativeFeedbackCount": 3,
        "positiveFeedback": [],
        "negativeFeedback": [],
    }
    beyond = listing(client, api_headers, "?offset=100")
    assert beyond["positiveFeedback"] == [] and beyond["positiveFeedbackCount"] == 12


def test_feedback_on_an_unknown_message_is_counted_not_listed(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    post(client, api_headers, "/conversations", CONVERSATION)
    post(client, api_headers, "/feedback", feedback(1, "positive"))
    post(client, api_headers, "/feedback", feedback(2, "positive", message_id="m_unknown"))
    post(client, api_headers, "/feedback", feedback(3, "negative", message_id="m_unknown"))
    body = listing(client, api_headers)
    assert (body["positiveFeedbackCount"], body["negativeFeedbackCount"]) == (2, 1)
    assert ids(body["positiveFeedback"]) == ["fb_1"] and body["negativeFeedback"] == []
    # Paging skips what cannot be listed, so a page is never short for it.
    assert ids(listing(client, api_headers, "?limit=1")["positiveFeedback"]) == ["fb_1"]
    problem = assert_problem(
        client.get("/feedback/fb_2", headers=api_headers), 422, "/feedback/fb_2"
    )
    assert "m_unknown" in problem["detail"] and "not stored" in problem["detail"]
    # Once the message is logged, the feedback shows.
    late = {
        "id": "conv_2",
        "type": "openai",
        "messages": [{"id": "m_unknown", "role": "user", "content": "hi"}],
    }
    post(client, api_headers, "/conversations", late)
    assert (
        client.get("/feedback/fb_2", headers=api_headers).json()["conversation"]["id"] == "conv_2"
    )
    assert ids(listing(client, api_headers)["positiveFeedback"]) == ["fb_2", "fb_1"]


def test_feedback_of_a_deleted_conversation_is_counted_not_listed(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    post(client, api_headers, "/conversations", CONVERSATION)
    post(client, api_headers, "/feedback", feedback(1))
    assert client.delete("/conversations/conv_1", headers=api_headers).status_code == 200
    # Feedback is kept (analytics history), but its context is gone.
    assert count(db, "feedback") == 1
    body = listing(client, api_headers)
    assert body["positiveFeedbackCount"] == 1 and body["positiveFeedback"] == []
    assert_problem(client.get("/feedback/fb_1", headers=api_headers), 422, "/feedback/fb_1")


def test_delete_feedback(client: TestClient, api_headers: dict[str, str], db: Database) -> None:
    post(client, api_headers, "/conversations", CONVERSATION)
    post(client, api_headers, "/feedback", feedback(1))
    post(client, api_headers, "/feedback", feedback(2, "negative"))
    response = client.delete("/feedback/fb_1", headers=api_headers)
    assert response.status_code == 200, response.text
    assert response.json() == DELETED
    assert_problem(client.get("/feedback/fb_1", headers=api_headers), 404, "/feedback/fb_1")
    body = listing(client, api_headers)
    assert (body["positiveFeedbackCount"], body["negativeFeedbackCount"]) == (0, 1)
    assert ids(body["negativeFeedback"]) == ["fb_2"]
    # The message and conversation rated stay.
    assert count(db, "feedback") == 1 and count(db, "messages") == 2
    assert_problem(client.delete("/feedback/fb_1", headers=api_headers), 404, "/feedback/fb_1")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/feedback"), ("GET", "/feedback/fb_1"), ("DELETE", "/feedback/fb_1")],
)
def test_feedback_reads_and_deletes_are_for_api_keys(
    client: TestClient, make_key: KeyMaker, db: Database, method: str, path: str
) -> None:
    api = make_key.headers("api", "docs")
    post(client, api, "/conversations", CONVERSATION)
    post(client, api, "/feedback", feedback(1))
    assert_problem(client.request(method, path), 401, path)
    assert_problem(client.request(method, path, headers=make_key.headers("web", "docs")), 403, path)
    assert count(db, "feedback") == 1


def test_another_project_sees_and_deletes_nothing(
    client: TestClient, make_key: KeyMaker, db: Database
) -> None:
    docs, shop = make_key.headers("api", "docs"), make_key.headers("api", "shop")
    post(client, docs, "/conversations", CONVERSATION)
    post(client, docs, "/feedback", feedback(1))
    assert listing(client, shop) == {
        "positiveFeedbackCount": 0,
        "negativeFeedbackCount": 0,
        "positiveFeedback": [],
        "negativeFeedback": [],
    }
    assert_problem(client.get("/feedback/fb_1", headers=shop), 404, "/feedback/fb_1")
    assert_problem(client.delete("/feedback/fb_1", headers=shop), 404, "/feedback/fb_1")
    assert count(db, "feedback") == 1
    # Shop's own feedback on a message id docs uses is not joined to docs' message.
    post(client, shop, "/feedback", feedback(2))
    assert_problem(client.get("/feedback/fb_2", headers=shop), 422, "/feedback/fb_2")
    assert listing(client, shop)["positiveFeedbackCount"] == 1
    assert client.get("/feedback/fb_1", headers=docs).status_code == 200


def test_unknown_feedback_is_404(client: TestClient, api_headers: dict[str, str]) -> None:
    problem = assert_problem(
        client.get("/feedback/nope", headers=api_headers), 404, "/feedback/nope"
    )
    assert "nope" in problem["detail"]
