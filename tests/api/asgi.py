"""Driving the app at the ASGI level with a receive() the test controls: a body that never
arrives, arrives in part, or is abandoned by a client that disconnects."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import httpx2 as httpx
from starlette.types import ASGIApp, Message

Receive = Callable[[], Awaitable[Message]]


@dataclasses.dataclass
class StalledBody:
    """A receive() that hands out `chunks` (more_body=True after each), then never completes
    until `release` is set; `waiting` is set once the app waits for more."""

    chunks: list[bytes] = dataclasses.field(default_factory=list)
    then_disconnect: bool = False
    waiting: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    release: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    async def __call__(self) -> Message:
        if self.chunks:
            return {"type": "http.request", "body": self.chunks.pop(0), "more_body": True}
        if self.then_disconnect:
            return {"type": "http.disconnect"}
        self.waiting.set()
        await self.release.wait()
        return {"type": "http.disconnect"}


def whole(body: bytes) -> Receive:
    """A receive() that hands out `body` in one message, then reports a disconnect."""
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


async def call(
    app: ASGIApp, path: str, headers: dict[str, str], receive: Receive
) -> httpx.Response | None:
    """POST `path` through the app; the response it sent, or None if it sent none."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if not sent:
        return None
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return httpx.Response(start["status"], headers=start["headers"], content=body)
