"""POST /batch: mixed items, answered item by item, the good ones committed together."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_problem, count, snapshot
from threadline.store.engine import Database

EVENT = {"type": "answer_copied", "messageId": "m1", "entityType": "message"}
# With a user, so the web key that wrote it may post it again (store.ownership).
FEEDBACK = {"id": "fb-1", "type": "positive", "messageId": "m1", "userProperties": {"id": "u1"}}
CONVERSATION = {
    "id": "c1",
    "type": "openai",
    "messages": [{"id": "m1", "role": "user", "content": "hi"}],
}


def batch(client: TestClient, headers: dict[str, str], *items: tuple[str, Any]) -> dict[str, Any]:
    body = {"items": [{"kind": kind, "body": item} for kind, item in items]}
    response = client.post("/batch", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_every_kind_is_answered_as_its_own_endpoint_would(
    client: TestClient, web_headers: dict[str, str], db: Database
) -> None:
    answer = batch(
        client,
        web_headers,
        ("conversation", CONVERSATION),
        ("event", EVENT),
        ("feedback", FEEDBACK),
    )
    assert (answer["accepted"], answer["rejected"]) == (3, 0)
    conversation, event, feedback = answer["results"]
    assert conversation["status"] == 200 and conversation["body"]["messages"][0]["id"] == "m1"
    assert event["body"]["entityType"] == "message" and event["body"]["id"].startswith("evt_")
    assert feedback["body"]["id"] == "fb-1" and "updatedAt" in feedback["body"]
    single = client.post("/feedback", json=FEEDBACK, headers=web_headers).json()
    assert set(single) == set(feedback["body"])
    assert [count(db, t) for t in ("conversations", "messages", "events", "feedback")] == [
        1,
        1,
        1,
        1,
    ]


def test_a_bad_item_does_not_sink_the_rest(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    batch(client, api_headers, ("conversation", CONVERSATION))
    answer = batch(
        client,
        api_headers,
        ("event", EVENT),
        ("event", {"type": "", "entityType": "message"}),  # 400: two violations
        ("conversation", {**CONVERSATION, "type": "support_ticket"}),  # 422: type change
        ("feedback", FEEDBACK),
        ("event", {**EVENT, "id": "e-2"}),
    )
    assert [r["status"] for r in answer["results"]] == [200, 400, 422, 200, 200]
    assert (answer["accepted"], answer["rejected"]) == (3, 2)
    invalid = answer["results"][1]["error"]
    assert invalid["code"] == "bad_request" and invalid["instance"] == "/batch#/items/1"
    assert [v["field"] for v in invalid["errors"]] == ["$.messageId", "$.type"]
    assert answer["results"][2]["error"]["code"] == "unprocessable_entity"
    assert count(db, "events") == 2 and count(db, "feedback") == 1
    assert count(db, "messages") == 1  # the refused conversation changed nothing


def test_a_client_id_repeated_within_a_batch_is_stored_once(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    answer = batch(
        client,
        api_headers,
        ("event", {**EVENT, "id": "same"}),
        ("event", {**EVENT, "id": "same", "type": "other"}),
    )
    first, second = (r["body"] for r in answer["results"])
    assert first == second and first["type"] == "answer_copied"
    assert count(db, "events") == 1


def test_a_thousand_events_in_one_request(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    items = [("event", {**EVENT, "id": f"e{i}"}) for i in range(1000)]
    assert batch(client, api_headers, *items)["accepted"] == 1000
    assert count(db, "events") == 1000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "$.items"),
        ({"items": []}, "$.items"),
        ({"items": [{"kind": "page", "body": {}}]}, "$.items[0].kind"),
        ({"items": [{"kind": "event"}]}, "$.items[0].body"),
        ({"items": [{"kind": "event", "body": EVENT}] * 1001}, "$.items"),
    ],
)
def test_a_bad_envelope_is_refused_whole(
    client: TestClient, api_headers: dict[str, str], db: Database, body: Any, field: str
) -> None:
    before = snapshot(db)
    problem = assert_problem(client.post("/batch", json=body, headers=api_headers), 400, "/batch")
    assert field in [v["field"] for v in problem["errors"]]
    assert snapshot(db) == before


def test_batch_needs_a_key(client: TestClient) -> None:
    assert_problem(client.post("/batch", json={"items": []}), 401, "/batch")
