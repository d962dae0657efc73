"""The HTTP protocol `threadline serve` runs: uvicorn's httptools protocol plus a deadline on
request heads, which uvicorn 0.54 lacks (it times out idle keep-alive connections only), and a
bound on their size, which uvicorn's httptools protocol lacks too.

Without it a connection that sends nothing, or half a request line, stays open for ever
(slowloris). The deadline is armed when a connection opens and when a response ends, and
disarmed when the next request's head is complete; the body has a deadline of its own
(threadline.api.body). When it passes, the connection is closed without an answer, as nginx
does for `client_header_timeout`: there is no complete request to answer.

A client that takes no data of a response for `send_timeout` seconds while the server has more
to send is dropped with a reset (uvicorn has no send timeout): otherwise each such connection
keeps its whole answer in memory for as long as it stays open; 200 of them asking the public
web key's GET /conversations/{id} of a 4 MB conversation held 840 MB.

A head larger than MAX_HEAD_BYTES is answered 431 problem+json and the connection closed.
Without the bound, uvicorn keeps every header line of a head as it arrives: within the head
deadline one connection sent 256 MB of header lines and the process grew by 870 MB.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
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
    send_timeout: float = 60.0  # 0: none

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._in_head = False  # between a request's first byte and the end of its headers
        self._head_bytes = 0  # of the head being read, in reads that held nothing else
        self._messages = 0  # requests begun on this connection
        self._send_deadline: asyncio.TimerHandle | None = None
        self._unsent = 0  # bytes waiting in the write buffer when the deadline was armed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        self._disarm_send_deadline()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        # The write buffer is full: the client has to take some of it within the deadline.
        super().pause_writing()
        if self.send_timeout > 0 and self._send_deadline is None:
            self._arm_send_deadline()

    def resume_writing(self) -> None:
        self._disarm_send_deadline()
        super().resume_writing()

    def _arm_send_deadline(self) -> None:
        self._unsent = self.transport.get_write_buffer_size()
        self._send_deadline = self.loop.call_later(self.send_timeout, self._send_too_slow)

    def _disarm_send_deadline(self) -> None:
        if self._send_deadline is not None:
            self._send_deadline.cancel()
            self._send_deadline = None

    def _send_too_slow(self) -> None:
        self._send_deadline = None
        if self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size() < self._unsent:
            self._arm_send_deadline()  # a slow reader, but it reads
            return
        log.info("dropped a connection that took no data for %gs", self.send_timeout)
        # A reset, not a close: a close would keep sending the buffered answer to a client
        # that does not read, and keep it in memory meanwhile (nginx: reset_timedout_connection).
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

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


def with_deadlines(*, head_timeout: float, send_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's `http=` option, with these deadlines."""
    deadlines = {"head_timeout": head_timeout, "send_timeout": send_timeout}
    return type(HeadDeadlineProtocol.__name__, (HeadDeadlineProtocol,), deadlines)
