"""POST /feedback request and response, and the feedback reads (seed 000, reference §6)."""

from __future__ import annotations

from typing import Literal

from msgspec import UNSET, Struct, UnsetType

from threadline.wire.common import (
    Id,
    Properties,
    Timestamp,
    UserProperties,
    check_user_properties,
)
from threadline.wire.conversations import ConversationOut, MessageOut

FeedbackType = Literal["positive", "negative"]


class Reason(Struct, kw_only=True):
    label: str
    # The SDK marks details required, but third-party clients omit it; refusing their feedback
    # would lose data, so a missing details is stored as "" (reference §11.15).
    details: str = ""


class Source(Struct, kw_only=True):
    # Required key, nullable value (reference §3.6).
    type: Literal["positive", "negative", "new"] | None
    title: str | None | UnsetType = UNSET
    url: str | None | UnsetType = UNSET


class FeedbackIn(Struct, kw_only=True):
    type: FeedbackType
    messageId: str
    id: Id | UnsetType = UNSET
    createdAt: Timestamp | None | UnsetType = UNSET
    updatedAt: Timestamp | None | UnsetType = UNSET
    reasons: list[Reason] | None | UnsetType = UNSET
    details: str | None | UnsetType = UNSET
    properties: Properties | None | UnsetType = UNSET
    userProperties: UserProperties | None | UnsetType = UNSET
    sources: list[Source] | None | UnsetType = UNSET

    def __post_init__(self) -> None:
        check_user_properties(self.userProperties)


class FeedbackOut(Struct, kw_only=True):
    id: str
    type: FeedbackType
    messageId: str
    createdAt: str
    updatedAt: str
    reasons: list[Reason] | None
    details: str | None
    properties: Properties | None
    userProperties: UserProperties | None
    sources: list[Source] | None


class FeedbackWithContext(FeedbackOut, kw_only=True):
    """A feedback with its conversation and the rated message, both required (reference §6.2)."""

    conversation: ConversationOut
    message: MessageOut


class FeedbackList(Struct, kw_only=True):
    """GET /feedback (reference §6.3); counts are project totals (docs/decisions.md)."""

    positiveFeedbackCount: int
    negativeFeedbackCount: int
    positiveFeedback: list[FeedbackWithContext]
    negativeFeedback: list[FeedbackWithContext]
