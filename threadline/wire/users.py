"""DELETE /users/{userId} (threadline's own, issue 16): what erasing an end user deleted."""

from __future__ import annotations

from msgspec import Struct


class Erased(Struct, kw_only=True):
    """Rows deleted, by kind (threadline.privacy.erase says which rows are a user's)."""

    conversations: int = 0
    messages: int = 0
    feedback: int = 0
    events: int = 0
    semanticThreads: int = 0
    threadEmbeddings: int = 0
    insightQueue: int = 0
    idempotencyAnswers: int = 0


class UserErased(Struct, kw_only=True):
    userId: str
    deleted: Erased
