"""Server-generated ids: a readable prefix, then a time-ordered, random suffix.

Time order keeps fresh rows together in indexes; 80 random bits keep ids unguessable and
unique across several threadline instances sharing one database.
"""

from __future__ import annotations

import hashlib
import secrets
import time


def new_id(prefix: str) -> str:
    return f"{prefix}_{time.time_ns() // 1_000_000:011x}{secrets.token_hex(10)}"


def positional_message_id(conversation_id: str, position: int) -> str:
    """The id of a message sent without one: derived from its place in the conversation, so
    re-posting the same history (as clients do every turn) matches it instead of adding a copy
    (reference §10.3)."""
    digest = hashlib.sha256(f"{conversation_id}\x00{position}".encode()).hexdigest()
    return f"msg_{digest[:24]}"
