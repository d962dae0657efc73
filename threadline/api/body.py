"""Reading a JSON request body: content type, encoding (gzip), the size limit and the time
limit, then decoding."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from starlette.requests import Request

from threadline.config import Settings
from threadline.errors import BadRequest, PayloadTooLarge, RequestTimeout
from threadline.wire.decode import decode

# 16 + the largest window: a gzip header and trailer around the deflate data, not raw zlib.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
# Compressed bytes of one body inflated on the event loop; the rest is inflated in a worker
# thread. Inflating costs up to ~0.2 µs per compressed byte (a body of many tiny gzip members),
# so this bounds one body's inflating on the loop to a few ms, while a typical small body never
# pays the thread hop, which costs more than inflating it (docs/performance.md).
INLINE_GZIP_BYTES = 16 * 1024


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the {limit}-byte limit.")


def _is_gzip(content_encoding: str | None) -> bool:
    """Whether the body is gzip; an encoding we cannot read is a 400, like any unreadable body."""
    if content_encoding is None:  # most requests: no list to build
        return False
    codings = [part.strip().lower() for part in content_encoding.split(",")]
    codings = [coding for coding in codings if coding not in ("", "identity")]
    if not codings:
        return False
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip"):  # x-gzip: RFC 9110 §8.4.1.3
        return True
    raise BadRequest(
        f"Content-Encoding {content_encoding!r} is not supported; send gzip or identity."
    )


class Gunzip:
    """Inflates a gzip body chunk by chunk, never holding more than `limit` + 1 bytes of output,
    so a gzip bomb is refused as soon as it passes the limit instead of being inflated whole."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0  # bytes of output so far
        self._inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
        self._started = False

    def feed(self, data: bytes) -> bytes:
        out = []
        self._started = self._started or bool(data)
        while data:
            if self._inflater.eof:  # a gzip body may hold several members (RFC 1952 §2.2)
                self._inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
            try:
                # max_length: one byte past the limit at most, however dense the input.
                chunk = self._inflater.decompress(data, self.limit + 1 - self.size)
            except zlib.error as exc:
                raise BadRequest(f"The request body is not valid gzip ({exc}).") from None
            self.size += len(chunk)
            if self.size > self.limit:
                raise PayloadTooLarge(
                    f"The request body is larger than the {self.limit}-byte limit once "
                    "decompressed."
                )
            out.append(chunk)
            data = (
                self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail
            )
        return b"".join(out)

    def finish(self) -> None:
        """Refuses a body that stopped before the end of its gzip stream."""
        if self._started and not self._inflater.eof:
            raise BadRequest("The gzip request body is truncated: it ends before its trailer.")


async def read_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The raw body, gunzipped if so encoded; 413 as soon as it is known to exceed `limit` bytes,
    as sent or once decompressed; 408 if it has not arrived in full within `timeout` seconds."""
    return await read_chunks(
        request.stream(),
        content_encoding=request.headers.get("content-encoding"),
        content_length=request.headers.get("content-length"),
        limit=limit,
        timeout=timeout,
    )


async def read_chunks(
    chunks: AsyncIterator[bytes],
    *,
    content_encoding: str | None,
    content_length: str | None,
    limit: int,
    timeout: float | None,
) -> bytes:
    """read_body's work on the body's chunks and the two headers it reads; the write endpoints'
    ASGI path (api.ingest) calls it without a Request."""
    gunzip = Gunzip(limit) if _is_gzip(content_encoding) else None
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise _too_large(limit)  # refused before a byte of it is read
    try:
        # One deadline for the whole body, so a trickle of bytes cannot extend it.
        async with asyncio.timeout(timeout):
            return await _read(chunks, limit, gunzip)
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive in full within {timeout:g} seconds."
        ) from None


async def _read(stream: AsyncIterator[bytes], limit: int, gunzip: Gunzip | None) -> bytes:
    chunks = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if gunzip is None:
            chunks.append(chunk)
        elif size <= INLINE_GZIP_BYTES:
            chunks.append(gunzip.feed(chunk))
        else:  # a large body: its inflating would hold the event loop (docs/performance.md)
            chunks.append(await anyio.to_thread.run_sync(gunzip.feed, chunk))
    if gunzip is not None:
        gunzip.finish()
    return b"".join(chunks)


async def read_json(request: Request, type_: Any, settings: Settings) -> Any:
    """The body decoded as type_ (a wire Struct or union), or a 400/408/413 naming the problem."""
    return await decode_json(
        request.stream(),
        content_type=request.headers.get("content-type"),
        content_encoding=request.headers.get("content-encoding"),
        content_length=request.headers.get("content-length"),
        type_=type_,
        settings=settings,
    )


async def decode_json(
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_encoding: str | None,
    content_length: str | None,
    type_: Any,
    settings: Settings,
) -> Any:
    """read_json's work on the body's chunks and the three headers it reads."""
    # A missing Content-Type is read as JSON; a different one is a client bug worth naming.
    if content_type is not None and not _is_json(content_type):
        raise BadRequest(f"Content-Type must be application/json, not {content_type!r}.")
    body = await read_chunks(
        chunks,
        content_encoding=content_encoding,
        content_length=content_length,
        limit=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
    )
    if not body.strip():
        raise BadRequest("The request body is empty; send a JSON object.")
    return decode(body, type_)
