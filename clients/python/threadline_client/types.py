"""The wire types, as TypedDicts named after the Inkeep Analytics API's: what you send (…In)
and what you read back. Plain dicts at run time, checked by mypy/pyright in your code."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

Kind = Literal["event", "feedback", "conversation"]


class UserProperties(TypedDict, total=False):
    id: str
    identificationType: Literal["COOKIED", "ID_PROVIDED"]
    userId: str
    supportAgentName: str


class Link(TypedDict, total=False):
    url: str
    title: str
    description: str
    type: str
    breadcrumbs: list[str]


class MessageIn(TypedDict):
    role: str
    content: str | list[dict[str, Any]]
    id: NotRequired[str]
    createdAt: NotRequired[str]
    name: NotRequired[str]
    links: NotRequired[list[Link]]
    properties: NotRequired[dict[str, Any]]
    userProperties: NotRequired[UserProperties]


class ConversationIn(TypedDict):
    """POST /conversations: the whole history so far, upserted by `id` (post it after every
    turn; messages are matched by id or position and never duplicated)."""

    type: Literal["openai", "support_ticket", "support_copilot"]
    messages: list[MessageIn]
    id: NotRequired[str]
    externalId: NotRequired[str]
    externalUrl: NotRequired[str]
    createdAt: NotRequired[str]
    properties: NotRequired[dict[str, Any]]
    userProperties: NotRequired[UserProperties]
    tags: NotRequired[list[str]]


class Reason(TypedDict):
    label: str
    details: NotRequired[str]


class FeedbackIn(TypedDict):
    type: Literal["positive", "negative"]
    messageId: str
    id: NotRequired[str]
    createdAt: NotRequired[str]
    reasons: NotRequired[list[Reason]]
    details: NotRequired[str]
    properties: NotRequired[dict[str, Any]]
    userProperties: NotRequired[UserProperties]


class EventIn(TypedDict):
    """POST /events: `entityType` message (with messageId), conversation (conversationId) or
    search (searchQuery)."""

    type: str
    entityType: Literal["message", "conversation", "search"]
    id: NotRequired[str]
    messageId: NotRequired[str]
    conversationId: NotRequired[str]
    searchQuery: NotRequired[str]
    createdAt: NotRequired[str]
    properties: NotRequired[dict[str, Any]]
    userProperties: NotRequired[UserProperties]


class Message(TypedDict):
    id: str
    type: str
    role: str
    content: Any
    conversationId: str
    createdAt: str
    updatedAt: str
    externalId: str | None
    externalUrl: str | None
    name: str | None
    links: list[Link] | None
    properties: dict[str, Any] | None
    userProperties: UserProperties | None


class Conversation(TypedDict):
    id: str
    type: str
    createdAt: str
    updatedAt: str
    projectId: str | None
    integrationId: str | None
    externalId: str | None
    externalUrl: str | None
    supportTicketConversationId: str | None
    properties: dict[str, Any] | None
    userProperties: UserProperties | None
    tags: list[str] | None
    visibility: str | None
    messages: list[Message]


class ConversationList(TypedDict):
    conversations: list[Conversation]
    total: int
    pageSize: int
    count: int


class Feedback(TypedDict):
    id: str
    type: Literal["positive", "negative"]
    messageId: str
    createdAt: str
    updatedAt: str
    reasons: list[Reason] | None
    details: str | None
    properties: dict[str, Any] | None
    userProperties: UserProperties | None


class FeedbackWithContext(Feedback):
    conversation: Conversation
    message: Message


class FeedbackList(TypedDict):
    positiveFeedbackCount: int
    negativeFeedbackCount: int
    positiveFeedback: list[FeedbackWithContext]
    negativeFeedback: list[FeedbackWithContext]


class Event(TypedDict):
    id: str
    type: str
    entityType: str
    createdAt: str
    projectId: str | None
    integrationId: str | None
    properties: dict[str, Any] | None
    userProperties: UserProperties | None


class QueryData(TypedDict):
    result: list[dict[str, Any]]
    total: int
    pageSize: int
    count: int


class QueryResult(TypedDict):
    """POST /query/{view}: the first 1,000 rows and how many there are (`export` has all)."""

    status: Literal["ok"]
    data: QueryData


QueryView = Literal["conversations", "events", "feedback", "semantic-threads"]
