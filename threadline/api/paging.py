"""`limit` and `offset` of the list endpoints (reference §4.5, §6.3, §10.9)."""

from __future__ import annotations

import dataclasses
import re

from starlette.requests import Request

from threadline.errors import BadRequest, FieldViolation

MAX_LIMIT = 100
# The largest OFFSET PostgreSQL takes (a bigint); beyond it a request is refused, not a 500.
_MAX_OFFSET = 2**63 - 1
_DIGITS = re.compile(r"[0-9]+")


@dataclasses.dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def _integer(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    # Both are `integer | null`: an empty value is the null, and means the default.
    if raw is None or raw == "":
        return default
    # Digits only: int() would also take "+5", " 5" and "1_0" (and refuse 5,000 digits).
    if not _DIGITS.fullmatch(raw) or len(raw) > 19 or int(raw) > maximum:
        message = f"must be an integer from 0 to {maximum}, got {raw[:40]!r}"
        raise BadRequest(f"{name} {message}", violations=[FieldViolation(name, message)])
    return int(raw)


def page(request: Request, *, default_limit: int) -> Page:
    """The page asked for; a 400 naming the parameter if it is not an integer in range."""
    return Page(
        limit=_integer(request, "limit", default_limit, MAX_LIMIT),
        offset=_integer(request, "offset", 0, _MAX_OFFSET),
    )
