"""The HTTP protocol `threadline serve` runs: uvicorn's httptools protocol plus a deadline on
request heads, which uvicorn 0.54 lacks (it times out idle keep-alive connections only).

Without it a connection that sends nothing, or half a request line, stays open for ever
(slowloris). The deadline is armed when a connection opens and when a response ends, and
disarmed when the next request's head is complete; the body has a deadline of its own
(threadline.api.body). When it passes, the connection is closed without an answer, as nginx
does for `client_header_timeout`: there is no complete request to answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("threadline.requests")


class HeadDeadlineProtocol(HttpToolsProtocol):
    """One connection; `head_timeout` is set per server by `with_head_timeout`."""

    head_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
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


def with_head_timeout(seconds: float) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's `http=` option, with this head deadline."""
    return type(HeadDeadlineProtocol.__name__, (HeadDeadlineProtocol,), {"head_timeout": seconds})
