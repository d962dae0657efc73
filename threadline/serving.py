"""Running the app under uvicorn, saying where it listens only once its socket is bound."""

from __future__ import annotations

import gc
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

# uvicorn's own exit status when its start-up fails (a port in use, the lifespan failing).
STARTUP_FAILURE = 3
# The cyclic garbage collector's thresholds while serving. With the default (700, 10, 10) a
# server taking batches spent ~7 µs of CPU per event in collections, most of it in full ones
# walking the objects of every request in flight; with these ~2 µs (docs/performance.md, issue
# 14 session 4). Requests make little cyclic garbage: it waits for 10,000 allocations instead
# of 700, which costs no memory that shows.
GC_THRESHOLDS = (10_000, 20, 20)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, listening: Callable[[int], None]) -> None:
        super().__init__(config)
        self._listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            # The port bound, which --port 0 leaves to the system.
            self._listening(self.servers[0].sockets[0].getsockname()[1])


def run_server(app: Any, listening: Callable[[int], None], **options: Any) -> None:
    """uvicorn.run(app, **options), calling `listening(port)` once the app has started and its
    socket is bound: a banner printed before could announce a server that never comes up."""
    gc.set_threshold(*GC_THRESHOLDS)
    config = uvicorn.Config(app, **options)
    server = _Server(config, listening)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
