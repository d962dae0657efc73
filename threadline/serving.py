"""Running the app under uvicorn, saying where it listens only once its socket is bound."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

# uvicorn's own exit status when its start-up fails (a port in use, the lifespan failing).
STARTUP_FAILURE = 3


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
    config = uvicorn.Config(app, **options)
    server = _Server(config, listening)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
