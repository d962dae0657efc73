"""Stored rows in their wire shapes: a message (reference §4.3) and a conversation (§4.2).

Shared by the API's answers and `threadline export` (transfer/ndjson.py), so an exported message
is exactly what GET /conversations/{id} returns for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET

from threadline.timestamps import to_iso
from threadline.wire.conversations import (
    ConversationOut,
    MessageOut,
    OpenAIChatCompletionMessage,
    OpenAIConversationOut,
    OpenAIMessageOut,
    SupportCopilotConversationOut,
    SupportCopilotMessageOut,
    SupportTicketConversationOut,
    SupportTicketMessageOut,
)

if TYPE_CHECKING:
    from threadline.store.conversations import StoredConversation

_MESSAGE_OUT = {
    "openai": OpenAIMessageOut,
    "support_ticket": SupportTicketMessageOut,
    "support_copilot": SupportCopilotMessageOut,
}
_CONVERSATION_OUT = {
    "openai": OpenAIConversationOut,
    "support_ticket": SupportTicketConversationOut,
    "support_copilot": SupportCopilotConversationOut,
}


def message_out(kind: str, row: Mapping[Any, Any]) -> MessageOut:
    """A stored message in the shape of its conversation's type (reference §4.2, §4.3)."""
    fields: dict[str, Any] = {
        "id": row["id"],
        "externalId": row["external_id"],
        "externalUrl": row["external_url"],
        "conversationId": row["conversation_id"],
        "createdAt": to_iso(row["created_at"]),
        "updatedAt": to_iso(row["updated_at"]),
        "role": row["role"],
        "name": row["name"],
        "links": row["links"],
        "properties": row["properties"],
        "userProperties": row["user_properties"],
        "metadata": UNSET if row["metadata"] is None else row["metadata"],
    }
    if kind == "openai":
        content = row["content"] if row["content"] is not None else row["content_parts"]
        # A support message may hold null content, an OpenAI one never does.
        fields["content"] = content if content is not None else ""
        fields["tool_calls"] = row["tool_calls"]
    else:
        fields["content"] = row["content"]
    # Stored JSON is plain data; convert so nested Structs (links, parts) are validated shapes.
    return msgspec.convert(fields, _MESSAGE_OUT[kind])  # type: ignore[no-any-return]


def _openai_format(message: OpenAIMessageOut) -> OpenAIChatCompletionMessage:
    return OpenAIChatCompletionMessage(
        role=message.role,
        content=message.content,
        name=message.name if message.name is not None else UNSET,
        tool_calls=message.tool_calls if message.tool_calls else UNSET,
    )


def conversation_out(stored: StoredConversation) -> ConversationOut:
    """A stored conversation with its messages (reference §4.2)."""
    row = stored.conversation
    kind = row["type"]
    messages = [message_out(kind, message) for message in stored.messages]
    fields: dict[str, Any] = {
        "id": row["id"],
        "externalId": row["external_id"],
        "externalUrl": row["external_url"],
        "supportTicketConversationId": row["support_ticket_conversation_id"],
        "createdAt": to_iso(row["created_at"]),
        "updatedAt": to_iso(row["updated_at"]),
        "projectId": row["project_id"],
        "integrationId": row["integration_id"],
        "properties": row["properties"],
        "userProperties": row["user_properties"],
        "tags": row["tags"],
        "visibility": row["visibility"],
        "messages": messages,
    }
    if kind == "openai":
        fields["messagesOpenAIFormat"] = [_openai_format(m) for m in messages]  # type: ignore[arg-type]
    return _CONVERSATION_OUT[kind](**fields)  # type: ignore[no-any-return]
