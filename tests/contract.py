"""The documented examples and response key sets (seeds 000/001, reference §4), as data shared
by the API tests and the end-to-end tests."""

from __future__ import annotations

from typing import Any

# Seed 000 ("Submit Feedback"): the example request; its documented response echoes it.
SEED_FEEDBACK_REQUEST: dict[str, Any] = {
    "id": "string",
    "type": "positive",
    "messageId": "string",
    "createdAt": "2019-08-24T14:15:22Z",
    "reasons": [{"label": "string", "details": "string"}],
    "properties": {},
    "userProperties": {
        "id": "string",
        "identificationType": "COOKIED",
        "userId": "string",
        "supportAgentName": "string",
    },
}
FEEDBACK_KEYS = {
    "id",
    "type",
    "messageId",
    "createdAt",
    "updatedAt",
    "reasons",
    "details",
    "properties",
    "userProperties",
    "sources",
}

# Seed 001 ("Log Event"): the keys of the documented response to a message event.
SEED_EVENT_RESPONSE_KEYS = {
    "id",
    "type",
    "messageId",
    "createdAt",
    "projectId",
    "integrationId",
    "properties",
    "userProperties",
    "entityType",
}

# Reference §4.9: the example request; §4.2: the keys of a Conversation and of its messages.
REFERENCE_CONVERSATION: dict[str, Any] = {
    "id": "conv_1234",
    "type": "openai",
    "messages": [
        {"role": "user", "content": "How do I log feedback?"},
        {
            "role": "assistant",
            "content": "POST /feedback",
            "links": [{"url": "https://docs.example.com/fb", "title": "Feedback"}],
        },
    ],
    "properties": {"source": "docs"},
    "userProperties": {"id": "u-42", "identificationType": "COOKIED"},
}
CONVERSATION_KEYS = {
    "id",
    "externalId",
    "externalUrl",
    "type",
    "supportTicketConversationId",
    "createdAt",
    "updatedAt",
    "projectId",
    "integrationId",
    "properties",
    "userProperties",
    "tags",
    "visibility",
    "messages",
}
MESSAGE_KEYS = {
    "id",
    "type",
    "externalId",
    "externalUrl",
    "conversationId",
    "createdAt",
    "updatedAt",
    "role",
    "content",
    "name",
    "links",
    "properties",
    "userProperties",
}
