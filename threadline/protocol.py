"""The HTTP protocol `threadline serve` runs: uvicorn's httptools protocol plus a deadline on
request heads, which uvicorn 0.54 lacks (it times out idle keep-alive connections only), and a
bound on their size, which uvicorn's httptools protocol lacks too.

Without it a connection that sends nothing, or half a request line, stays open for ever
(slowloris). The deadline is armed when a connection opens and when a response ends, and
disarmed when the next request's head is complete; the body has a deadline of its own
(threadline.api.body). When it passes, the connection is closed without an answer, as nginx
does for `client_header_timeout`: there is no complete request to answer.

A head larger than MAX_HEAD_BYTES is answered 431 problem+json and the connection closed.
Without the bound, uvicorn keeps every header line of a head as it arrives: within the head
deadline one connection sent 256 MB of header lines and the process grew by 870 MB.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from threadline.errors import PROBLEM_MEDIA_TYPE, HeadTooLarge, problem_body
from threadline.middleware import new_request_id

log = logging.getLogger("threadline.requests")

# The most bytes of request line and headers one request may send: twice what nginx accepts
# by default (large_client_header_buffers 4 8k), so nothing a proxy passes is refused here.
# Counted in the reads that hold nothing but the head, so a head may in fact reach this plus
# two reads (asyncio reads at most 256 KiB at a time) before it is refused.
MAX_HEAD_BYTES = 64 * 1024
_INSTANCE_CHARS = 1024


class HeadDeadlineProtocol(HttpToolsProtocol):
    """One connection; `head_timeout` is set per server by `with_head_timeout`."""

    head_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._in_head = False  # between a request's first byte and the end of its headers
        self._head_bytes = 0  # of the head being read, in reads that held nothing else
        self._messages = 0  # requests begun on this connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        message, was_in_head = self._messages, self._in_head
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        # Only a read that was all one head is counted. A read in which a head began may also
        # hold the requests before it (pipelined, or the previous body's end): its share of
        # the head is unknown, and at most one read.
        if was_in_head and self._messages == message:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._head_too_large()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._messages += 1
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # A pipelined request waiting here already has its head; otherwise the next head (or the
        # rest of a body the app never read) has to arrive within the deadline.
        next_head_is_in = bool(self.pipeline)
        super().on_response_complete()
        if not next_head_is_in:
            self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        if not self.transport.is_closing():
            self._head_deadline = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            log.debug("closed a connection whose request head took over %gs", self.head_timeout)
            self.transport.close()

    def _head_too_large(self) -> None:
        self._disarm_head_deadline()
        path = self.url.split(b"?", 1)[0][:_INSTANCE_CHARS].decode("latin-1")
        request_id = new_request_id()
        error = HeadTooLarge(
            f"The request line and headers exceed {MAX_HEAD_BYTES // 1024} KiB; "
            "send fewer or smaller headers."
        )
        body = msgspec.json.encode(problem_body(error, instance=path, request_id=request_id))
        head = (
            f"HTTP/1.1 {error.status} {error.title}\r\n"
            f"content-type: {PROBLEM_MEDIA_TYPE}\r\ncontent-length: {len(body)}\r\n"
            f"x-request-id: {request_id}\r\nx-content-type-options: nosniff\r\n"
            "connection: close\r\n\r\n"
        )
        log.info("refused a request head over %d bytes (requestId=%s)", MAX_HEAD_BYTES, request_id)
        self.transport.write(head.encode() + body)
        self.transport.close()


def with_head_timeout(seconds: float) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's `http=` option, with this head deadline."""
    return type(HeadDeadlineProtocol.__name__, (HeadDeadlineProtocol,), {"head_timeout": seconds})
