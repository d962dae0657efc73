"""POST /conversations request and the Conversation response (reference §4).

Both are unions tagged by the conversation `type`: openai, support_ticket, support_copilot.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from threadline.wire.common import (
    ContentItem,
    Id,
    Link,
    Properties,
    Timestamp,
    ToolCall,
    UserProperties,
    check_user_properties,
)

OpenAIRole = Literal["system", "user", "assistant"]
Visibility = Literal["private", "public"]
ConversationType = Literal["openai", "support_ticket", "support_copilot"]


class _MessageIn(Struct, kw_only=True):
    id: Id | UnsetType = UNSET
    externalId: str | None | UnsetType = UNSET
    externalUrl: str | None | UnsetType = UNSET
    createdAt: Timestamp | None | UnsetType = UNSET
    updatedAt: Timestamp | None | UnsetType = UNSET
    name: str | None | UnsetType = UNSET
    links: list[Link] | None | UnsetType = UNSET
    properties: Properties | None | UnsetType = UNSET
    userProperties: UserProperties | None | UnsetType = UNSET
    # The Inkeep widget attaches workflow context and attachments here (widget §5); kept
    # verbatim and returned, because the widget reads it back when it opens a shared chat.
    metadata: Any | UnsetType = UNSET

    def __post_init__(self) -> None:
        check_user_properties(self.userProperties)


class OpenAIMessageIn(_MessageIn, kw_only=True):
    role: OpenAIRole
    content: str | list[ContentItem]
    # Not in the SDK's input model, but the docs' examples and the widget's share copy send it.
    type: Literal["openai"] | UnsetType = UNSET
    tool_calls: list[ToolCall] | None | UnsetType = UNSET
    # cxkit-js 0.5.64 sends camelCase toolCalls (widget §7); stored as tool_calls.
    toolCalls: list[ToolCall] | None | UnsetType = UNSET


class SupportMessageIn(_MessageIn, kw_only=True):
    role: str
    content: str | None | UnsetType = UNSET
    type: Literal["support_ticket", "support_copilot"] | UnsetType = UNSET


class _ConversationIn(Struct, kw_only=True, tag_field="type"):
    id: Id | UnsetType = UNSET
    externalId: str | None | UnsetType = UNSET
    externalUrl: str | None | UnsetType = UNSET
    supportTicketConversationId: str | None | UnsetType = UNSET
    createdAt: Timestamp | None | UnsetType = UNSET
    updatedAt: Timestamp | None | UnsetType = UNSET
    # Accepted for compatibility but never trusted: the key decides (reference §10.6).
    projectId: str | None | UnsetType = UNSET
    integrationId: str | None | UnsetType = UNSET
    properties: Properties | None | UnsetType = UNSET
    userProperties: UserProperties | None | UnsetType = UNSET
    tags: list[str] | None | UnsetType = UNSET
    visibility: Visibility | None | UnsetType = UNSET

    def __post_init__(self) -> None:
        check_user_properties(self.userProperties)


class OpenAIConversationIn(_ConversationIn, tag="openai"):
    messages: Annotated[list[OpenAIMessageIn], Meta(min_length=1)]


class SupportTicketConversationIn(_ConversationIn, tag="support_ticket"):
    messages: Annotated[list[SupportMessageIn], Meta(min_length=1)]


class SupportCopilotConversationIn(_ConversationIn, tag="support_copilot"):
    messages: Annotated[list[SupportMessageIn], Meta(min_length=1)]


ConversationIn = OpenAIConversationIn | SupportTicketConversationIn | SupportCopilotConversationIn


class _MessageOut(Struct, kw_only=True, tag_field="type"):
    id: str
    externalId: str | None
    externalUrl: str | None
    conversationId: str
    createdAt: str
    updatedAt: str
    name: str | None
    links: list[Link] | None
    properties: Properties | None
    userProperties: UserProperties | None
    metadata: Any | UnsetType = UNSET


class OpenAIMessageOut(_MessageOut, tag="openai"):
    role: OpenAIRole
    content: str | list[ContentItem]
    tool_calls: list[ToolCall] | None


class SupportTicketMessageOut(_MessageOut, tag="support_ticket"):
    role: str
    content: str | None


class SupportCopilotMessageOut(_MessageOut, tag="support_copilot"):
    role: str
    content: str | None


MessageOut = OpenAIMessageOut | SupportTicketMessageOut | SupportCopilotMessageOut


class OpenAIChatCompletionMessage(Struct, kw_only=True):
    """A message of `messagesOpenAIFormat`: the conversation as a plain OpenAI array."""

    role: OpenAIRole
    content: str | list[ContentItem]
    name: str | UnsetType = UNSET
    tool_calls: list[ToolCall] | UnsetType = UNSET


class _ConversationOut(Struct, kw_only=True, tag_field="type"):
    id: str
    externalId: str | None
    externalUrl: str | None
    supportTicketConversationId: str | None
    createdAt: str
    updatedAt: str
    projectId: str | None
    integrationId: str | None
    properties: Properties | None
    userProperties: UserProperties | None
    tags: list[str] | None
    visibility: Visibility | None


class OpenAIConversationOut(_ConversationOut, tag="openai"):
    messages: list[OpenAIMessageOut]
    messagesOpenAIFormat: list[OpenAIChatCompletionMessage]


class SupportTicketConversationOut(_ConversationOut, tag="support_ticket"):
    messages: list[SupportTicketMessageOut]


class SupportCopilotConversationOut(_ConversationOut, tag="support_copilot"):
    messages: list[SupportCopilotMessageOut]


ConversationOut = (
    OpenAIConversationOut | SupportTicketConversationOut | SupportCopilotConversationOut
)


class ConversationList(Struct, kw_only=True):
    """GET /conversations (reference §4.5): one page, newest first."""

    conversations: list[ConversationOut]
    total: int
    pageSize: int
    count: int
