"""POST /events request and response, discriminated by entityType (seed 001, reference §5)."""

from __future__ import annotations

from msgspec import UNSET, Struct, UnsetType

from threadline.wire.common import (
    Id,
    NonEmptyStr,
    Properties,
    Timestamp,
    UserProperties,
    check_user_properties,
)


class _EventIn(Struct, kw_only=True, tag_field="entityType"):
    type: NonEmptyStr
    id: Id | UnsetType = UNSET
    createdAt: Timestamp | None | UnsetType = UNSET
    # Accepted for compatibility but never trusted: the key decides (reference §10.6).
    projectId: str | None | UnsetType = UNSET
    integrationId: str | None | UnsetType = UNSET
    properties: Properties | None | UnsetType = UNSET
    userProperties: UserProperties | None | UnsetType = UNSET

    def __post_init__(self) -> None:
        check_user_properties(self.userProperties)


class MessageEventIn(_EventIn, tag="message"):
    messageId: str


class ConversationEventIn(_EventIn, tag="conversation"):
    conversationId: str


class SearchEventIn(_EventIn, tag="search"):
    searchQuery: str


EventIn = MessageEventIn | ConversationEventIn | SearchEventIn


class _EventOut(Struct, kw_only=True, tag_field="entityType"):
    id: str
    type: str
    createdAt: str
    projectId: str | None
    integrationId: str | None
    properties: Properties | None
    userProperties: UserProperties | None


class MessageEventOut(_EventOut, tag="message"):
    messageId: str


class ConversationEventOut(_EventOut, tag="conversation"):
    conversationId: str


class SearchEventOut(_EventOut, tag="search"):
    searchQuery: str


EventOut = MessageEventOut | ConversationEventOut | SearchEventOut
