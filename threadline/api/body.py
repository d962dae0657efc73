"""Reading a JSON request body: content type, the size limit, then decoding into a wire Struct."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from threadline.errors import BadRequest, PayloadTooLarge
from threadline.wire.decode import decode


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the {limit}-byte limit.")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)  # refused before a byte of it is read
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, type_: Any, limit: int) -> Any:
    """The body decoded as type_ (a wire Struct or union), or a 400/413 naming the problem."""
    content_type = request.headers.get("content-type")
    # A missing Content-Type is read as JSON; a different one is a client bug worth naming.
    if content_type is not None and not _is_json(content_type):
        raise BadRequest(f"Content-Type must be application/json, not {content_type!r}.")
    body = await read_body(request, limit)
    if not body.strip():
        raise BadRequest("The request body is empty; send a JSON object.")
    return decode(body, type_)
