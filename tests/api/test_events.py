"""POST /events, as seed 001 and reference §5.1 describe it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_refused, count
from tests.conftest import KeyMaker
from tests.contract import SEED_EVENT_RESPONSE_KEYS
from threadline.store.engine import Database

SEED_RESPONSE_KEYS = SEED_EVENT_RESPONSE_KEYS
USER_PROPERTIES = {
    "id": "string",
    "identificationType": "COOKIED",
    "userId": "string",
    "supportAgentName": "string",
    "userType": "string",
}


def test_seed_minimal_request_gets_the_documented_shape(
    client: TestClient, web_headers: dict[str, str]
) -> None:
    response = client.post(
        "/events",
        json={"type": "string", "messageId": "string", "entityType": "message"},
        headers=web_headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == SEED_RESPONSE_KEYS
    assert body["id"].startswith("evt_")
    assert (body["type"], body["messageId"], body["entityType"]) == ("string", "string", "message")
    assert body["projectId"].startswith("proj_") and body["integrationId"].startswith("int_")
    assert body["properties"] is None and body["userProperties"] is None


def test_project_and_integration_come_from_the_key(client: TestClient, make_key: KeyMaker) -> None:
    headers = make_key.headers("web", project="docs")
    body = client.post(
        "/events",
        json={
            "type": "x",
            "messageId": "m",
            "entityType": "message",
            "projectId": "someone-elses",
            "integrationId": "forged",
        },
        headers=headers,
    ).json()
    assert body["projectId"] != "someone-elses" and body["integrationId"] != "forged"


@pytest.mark.parametrize(
    ("entity_type", "target", "value"),
    [
        ("message", "messageId", "msg_1"),
        ("conversation", "conversationId", "conv_1"),
        ("search", "searchQuery", "how to log feedback"),
    ],
)
def test_every_entity_type_round_trips(
    client: TestClient, api_headers: dict[str, str], entity_type: str, target: str, value: str
) -> None:
    sent = {
        "type": "answer_copied",
        target: value,
        "entityType": entity_type,
        "createdAt": "2026-02-01T10:00:00.000Z",
        "properties": {"source": "docs", "nested": {"a": [1, 2]}},
        "userProperties": USER_PROPERTIES,
    }
    body = client.post("/events", json=sent, headers=api_headers).json()
    assert body == {
        **sent,
        "id": body["id"],
        "projectId": body["projectId"],
        "integrationId": body["integrationId"],
    }
    assert set(body) == SEED_RESPONSE_KEYS - {"messageId"} | {target}


def test_a_client_event_id_is_stored_once(
    client: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    sent = {"id": "evt-client-1", "type": "a", "messageId": "m", "entityType": "message"}
    first = client.post("/events", json=sent, headers=api_headers).json()
    # A retry, even one whose body changed, answers with the event stored first.
    again = client.post(
        "/events", json={**sent, "type": "b", "properties": {"x": 1}}, headers=api_headers
    ).json()
    assert again == first
    assert count(db, "events") == 1


def test_event_ids_are_per_project(client: TestClient, make_key: KeyMaker, db: Database) -> None:
    sent = {"id": "same", "type": "a", "messageId": "m", "entityType": "message"}
    docs = client.post("/events", json=sent, headers=make_key.headers("web", "docs")).json()
    shop = client.post("/events", json=sent, headers=make_key.headers("web", "shop")).json()
    assert docs["projectId"] != shop["projectId"]
    assert count(db, "events") == 2


def test_the_widget_envelope_is_accepted(client: TestClient, web_headers: dict[str, str]) -> None:
    # What @inkeep/cxkit-react 0.5.119 sends (widget §5): eventName is an extra key.
    conversation = {"id": "conv_1", "type": "openai", "messages": [{"id": "1-a-1", "role": "user"}]}
    sent = {
        "eventName": "user_message_submitted",
        "type": "user_message_submitted",
        "entityType": "conversation",
        "conversationId": "conv_1",
        "properties": {
            "widgetLibraryVersion": "0.5.119",
            "componentType": "EmbeddedChat",
            "tags": ["probe"],
            "conversation": conversation,
        },
        "userProperties": {"identificationType": "ID_PROVIDED", "id": "user-1", "email": "u@x"},
    }
    response = client.post("/events", json=sent, headers=web_headers)
    assert response.status_code == 200
    assert response.json()["properties"]["conversation"] == conversation
    assert "eventName" not in response.json()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"type": "x", "messageId": "m"}, ["$.entityType"]),
        ({"type": "x", "messageId": "m", "entityType": "page"}, ["$.entityType"]),
        ({"type": "", "messageId": "m", "entityType": "message"}, ["$.type"]),
        ({"messageId": "m", "entityType": "message"}, ["$.type"]),
        ({"type": "x", "entityType": "message"}, ["$.messageId"]),
        ({"type": "x", "messageId": "m", "entityType": "conversation"}, ["$.conversationId"]),
        ({"type": "x", "entityType": "search"}, ["$.searchQuery"]),
        ({"id": "", "type": "x", "messageId": "m", "entityType": "message"}, ["$.id"]),
        (
            {"type": "x", "messageId": "m", "entityType": "message", "createdAt": "2026-02-01"},
            ["$.createdAt"],
        ),
        (
            {
                "type": 1,
                "entityType": "message",
                "properties": "p",
                "userProperties": {"userType": 2},
            },
            ["$.messageId", "$.properties", "$.type", "$.userProperties.userType"],
        ),
    ],
)
def test_invalid_events_name_every_violation_and_change_nothing(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    body: dict[str, object],
    fields: list[str],
) -> None:
    assert_refused(client, db, "/events", body, api_headers, fields)


EPOCH = "1970-01-01T00:00:00.000Z"


def test_a_timestamp_at_the_epoch_is_kept_not_taken_for_now(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    # Zero microseconds is a real back-filled time, not "absent".
    event = {"entityType": "search", "type": "q", "searchQuery": "x", "createdAt": EPOCH}
    assert client.post("/events", json=event, headers=api_headers).json()["createdAt"] == EPOCH
    rated = {"type": "positive", "messageId": "m", "createdAt": EPOCH, "updatedAt": EPOCH}
    body = client.post("/feedback", json=rated, headers=api_headers).json()
    assert (body["createdAt"], body["updatedAt"]) == (EPOCH, EPOCH)
    conversation = {
        "id": "c_epoch",
        "type": "openai",
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
        "messages": [{"id": "m_epoch", "role": "user", "content": "hi", "createdAt": EPOCH}],
    }
    body = client.post("/conversations", json=conversation, headers=api_headers).json()
    assert (body["createdAt"], body["updatedAt"]) == (EPOCH, EPOCH)
    assert body["messages"][0]["createdAt"] == EPOCH
