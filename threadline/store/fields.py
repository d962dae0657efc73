"""Turning a decoded request Struct into column values: which keys the client actually sent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from msgspec import UNSET, Struct

from threadline.timestamps import to_us


def sent(body: Struct, columns: Mapping[str, str]) -> dict[str, Any]:
    """{column: value} for each wire field (mapped to its column) that the client sent.

    Absent fields are left out, so an update keeps what is stored (reference §10.3); an explicit
    null is kept, and clears the stored value. Timestamps become integer microseconds.
    """
    out: dict[str, Any] = {}
    for field, column in columns.items():
        value = getattr(body, field, UNSET)
        if value is UNSET:
            continue
        out[column] = to_us(value) if isinstance(value, datetime) else value
    return out
