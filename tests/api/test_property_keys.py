"""POST /query/property-keys with the Inkeep widget's events (widget §5), which embed the whole
conversation in `properties.conversation`: kept whole, but not offered as a filter key."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

CONVERSATION = {
    "id": "conv_widget",
    "type": "openai",
    "messages": [
        {"id": "1795431006200-4l34-1", "role": "user", "content": "How do I log feedback?"},
        {"id": "1795431006234-6t4z-2", "role": "assistant", "content": "POST /feedback"},
    ],
}
WIDGET_EVENT = {
    "eventName": "assistant_message_received",
    "type": "assistant_message_received",
    "entityType": "conversation",
    "conversationId": "conv_widget",
    "properties": {
        "widgetLibraryVersion": "0.5.119",
        "componentType": "EmbeddedChat",
        "tags": ["docs"],
        "conversation": CONVERSATION,
        "site": "docs",
    },
    "userProperties": {"identificationType": "COOKIED", "id": "u1"},
}


def _keys(client: TestClient, headers: dict[str, str], **body: Any) -> list[str]:
    response = client.post("/query/property-keys", json=body, headers=headers)
    assert response.status_code == 200, response.text
    keys: list[str] = response.json()["results"]
    return keys


def test_the_embedded_conversation_is_stored_whole_but_not_discovered(
    client: TestClient, web_headers: dict[str, str], api_headers: dict[str, str]
) -> None:
    assert client.post("/events", json=WIDGET_EVENT, headers=web_headers).status_code == 200
    keys = _keys(client, api_headers, field="properties", views=["events_view"])
    assert keys == ["componentType", "site", "tags", "widgetLibraryVersion"]
    assert "conversation" not in _keys(client, api_headers, field="properties")

    select = [{"type": "field", "field": "properties"}]
    response = client.post("/query/events", json={"select": select}, headers=api_headers)
    assert response.status_code == 200, response.text
    (row,) = response.json()["data"]["result"]
    assert json.loads(row["properties"]["conversation"]) == CONVERSATION


def test_a_conversation_key_elsewhere_is_still_discovered(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    body = {**CONVERSATION, "properties": {"conversation": "support", "plan": "pro"}}
    assert client.post("/conversations", json=body, headers=api_headers).status_code == 200
    keys = _keys(client, api_headers, field="properties", views=["conversations_view"])
    assert keys == ["conversation", "plan"]
    event = {
        "type": "page_viewed",
        "entityType": "search",
        "searchQuery": "feedback",
        "properties": {"site": "docs"},
    }
    assert client.post("/events", json=event, headers=api_headers).status_code == 200
    user_keys = _keys(client, api_headers, field="userProperties", views=["events_view"])
    assert user_keys == []
