"""Clients that walk away from a streamed response, driven straight through the ASGI app.

TestClient reads a response whole, so it cannot leave in the middle. These helpers call the app
on the TestClient's own event loop (its portal, where the lifespan started the services) with
a receive() and send() of their own, the two ways a server reports a client that is gone:
- "disconnect": ASGI 2.3, as uvicorn does: receive() answers `http.disconnect` once the first
  body chunk was sent (Starlette then cancels the streaming task);
- "oserror": ASGI 2.4: send() raises OSError on the body chunk after the first one;
- "early": ASGI 2.3, `http.disconnect` as soon as the request was read (a download cancelled
  before its first byte);
- "stall": ASGI 2.3, the client stays connected but reads nothing after the first chunk
  (a paused download, or an attacker): send() never returns, nor does receive(). The app must
  end the response itself; STALL_WAIT bounds the wait, so a test fails rather than hangs.
"""

from __future__ import annotations

import contextlib
from typing import Literal
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
from starlette.requests import ClientDisconnect
from starlette.testclient import TestClient
from starlette.types import Message

from threadline.errors import ResponseCut

WalkAway = Literal["disconnect", "oserror", "early", "stall"]
STALL_WAIT = 10.0  # seconds
# The ways to leave after reading the first chunk.
WAYS: tuple[WalkAway, ...] = ("disconnect", "oserror")


class Visit:
    """What the client saw before it left."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.body_chunks = 0


async def _walk_away(
    client: TestClient,
    way: WalkAway,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
) -> Visit:
    visit = Visit()
    first_chunk_sent = anyio.Event()
    request_sent = False
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4" if way == "oserror" else "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if way == "stall":
            await anyio.sleep_forever()
        if way != "early":
            await first_chunk_sent.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        # A real socket write yields to the event loop; so does this one.
        await anyio.lowlevel.checkpoint()
        if message["type"] == "http.response.start":
            visit.status = message["status"]
            visit.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            return
        if first_chunk_sent.is_set() and way == "oserror":
            raise OSError("Broken pipe")
        if first_chunk_sent.is_set() and way == "stall":
            await anyio.sleep_forever()  # a socket whose buffers are full
        visit.body += message.get("body", b"")
        visit.body_chunks += 1
        first_chunk_sent.set()

    # What a server swallows for a client that is gone (a cut response: it drops the
    # connection).
    with (
        anyio.move_on_after(STALL_WAIT) as waited,
        contextlib.suppress(OSError, ClientDisconnect, ResponseCut),
    ):
        await client.app(scope, receive, send)
    if waited.cancel_called:
        raise AssertionError(f"the app was still answering after {STALL_WAIT} s")
    return visit


def walk_away(
    client: TestClient,
    way: WalkAway,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> Visit:
    """Request `url`, read the first body chunk (unless "early"), then leave in `way`;
    returns what was seen.
    The client must be started (`with TestClient(...)`), since its portal runs the app."""
    portal = client.portal
    assert portal is not None, "start the TestClient first (with TestClient(app) as client)"
    return portal.call(_walk_away, client, way, method, url, headers or {}, body)
