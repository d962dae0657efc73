"""POST /batch (a threadline extension): many events, feedback and conversations in one request.

Each item's `body` is exactly what its own endpoint takes; each item gets the answer its own
endpoint would have given, in a list in the same order.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

MAX_BATCH_ITEMS = 1000

BatchKind = Literal["event", "feedback", "conversation"]


class BatchItemIn(Struct, kw_only=True):
    kind: BatchKind
    # Decoded later, against the schema of `kind`, so that one bad item does not refuse the rest.
    body: msgspec.Raw


class BatchIn(Struct, kw_only=True):
    items: Annotated[list[BatchItemIn], Meta(min_length=1, max_length=MAX_BATCH_ITEMS)]


class BatchResultOut(Struct, kw_only=True):
    """200 with the item's response body, or 400/422 with the problem it was refused for."""

    status: int
    body: Any | UnsetType = UNSET
    error: dict[str, Any] | UnsetType = UNSET


class BatchOut(Struct, kw_only=True):
    results: list[BatchResultOut]
    accepted: int
    rejected: int
