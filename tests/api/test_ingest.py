"""The write endpoints' ASGI path (api.ingest) answers what the Starlette stack answers, header for
header and byte for byte: each request is sent both ways and the answers compared."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from tests.assertions import count
from tests.conftest import KeyMaker
from threadline.api.events import LOG_EVENT
from threadline.api.ingest import WriteFront, WriteRoute
from threadline.api.writes import WriteOperation
from threadline.app import ThreadlineApp, create_app
from threadline.config import Settings
from threadline.store.engine import Database

App = Callable[[dict[str, Any], Any, Any], Coroutine[Any, Any, None]]


@dataclasses.dataclass
class Answered:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    path: str = ""

    def comparable(self) -> tuple[int, list[tuple[bytes, bytes]], Any]:
        """The answer less what differs between two requests by design: the request id, and
        the stored record's generated id and times."""
        headers = [(n, b"req" if n == b"x-request-id" else v) for n, v in self.headers]
        body: Any = self.body
        if self.body.startswith(b"{"):
            body = msgspec.json.decode(self.body)
            for field in ("requestId", "id", "createdAt", "updatedAt"):
                if field in body:
                    body[field] = "..."
        return self.status, headers, body


async def post(
    app: App, path: str, headers: dict[str, str], body: bytes, chunk: int = 0
) -> Answered:
    """POST through `app` at the ASGI level, the body in `chunk`-byte messages (0: one)."""
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
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    }
    size = chunk or max(1, len(body))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages: list[Message] = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body_out = b"".join(m.get("body", b"") for m in sent[1:])
    return Answered(sent[0]["status"], list(sent[0]["headers"]), body_out, path)


Poster = Callable[[str, dict[str, str], bytes], Coroutine[Any, Any, Answered]]


def both_ways(app: ThreadlineApp) -> tuple[Poster, Poster]:
    """POST through the app as served (its write path first), and through the Starlette stack
    alone."""

    async def starlette_only(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await Starlette.__call__(app, scope, receive, send)

    async def fast(path: str, headers: dict[str, str], body: bytes) -> Answered:
        return await post(app, path, headers, body)

    async def slow(path: str, headers: dict[str, str], body: bytes) -> Answered:
        return await post(starlette_only, path, headers, body)

    return fast, slow


EVENT = b'{"type": "message:copied", "entityType": "message", "messageId": "m1"}'


def _requests(web: str) -> list[tuple[str, dict[str, str], bytes]]:
    auth = {"authorization": f"Bearer {web}", "content-type": "application/json"}
    origin = {**auth, "origin": "https://docs.example"}
    conversation = (
        b'{"id": "c1", "type": "openai", "messages": [{"role": "user", "content": "hi"}]}'
    )
    return [
        ("/events", auth, EVENT),
        ("/events", origin, EVENT),
        ("/events", {**origin, "cookie": "a=b"}, EVENT),
        ("/events", {**auth, "content-encoding": "gzip"}, gzip.compress(EVENT)),
        ("/events", {**auth, "content-encoding": "br"}, EVENT),
        ("/events", {"content-type": "application/json"}, EVENT),
        ("/events", {**origin, "authorization": "Bearer nope"}, EVENT),
        ("/events", {**auth, "content-type": "text/plain"}, EVENT),
        ("/events", {**auth, "content-length": str(10**9)}, EVENT),
        ("/events", auth, b'{"type": 1}'),
        ("/events", auth, b"{not json"),
        ("/events", auth, b"  "),
        ("/feedback", origin, b'{"type": "positive", "messageId": "m1"}'),
        ("/feedback", auth, b'{"type": "sideways", "messageId": "m1"}'),
        ("/conversations", origin, conversation),
        ("/batch", auth, b'{"items": [{"kind": "event", "body": {"type": "x"}}]}'),
        ("/batch", auth, b'{"items": 3}'),
    ]


def test_the_write_path_answers_what_the_starlette_stack_answers(
    database_url: str, make_key: KeyMaker, db: Database
) -> None:
    app = create_app(Settings(database_url=database_url, cors_origins=("https://docs.example",)))
    fast, slow = both_ways(app)
    web = make_key("web")

    async def run() -> list[tuple[Answered, Answered]]:
        pairs = []
        for path, headers, body in _requests(web):
            pairs.append((await fast(path, headers, body), await slow(path, headers, body)))
        return pairs

    services = app.state.services
    services.start()
    try:
        pairs = asyncio.run(run())
    finally:
        services.stop()
    for answered_fast, answered_slow in pairs:
        assert answered_fast.comparable() == answered_slow.comparable(), answered_fast.path
    statuses = [fast_answer.status for fast_answer, _ in pairs]
    assert statuses[:14] == [200, 200, 200, 200, 400, 401, 401, 400, 413, 400, 400, 400, 200, 400]
    assert statuses[14:] == [200, 200, 400]
    origin_answer = pairs[1][0]
    assert (b"access-control-allow-origin", b"https://docs.example") in origin_answer.headers
    refused = pairs[6][0]  # a 401 a browser must be able to read
    assert (b"access-control-allow-origin", b"https://docs.example") in refused.headers
    assert (b"access-control-expose-headers", b"Retry-After, X-Request-ID") in refused.headers
    assert count(db, "events") == 2 * 4  # four good events each way; the batch's item is refused


def test_an_idempotent_replay_is_the_same_either_way(database_url: str, make_key: KeyMaker) -> None:
    app = create_app(Settings(database_url=database_url))
    fast, slow = both_ways(app)
    headers = {"authorization": f"Bearer {make_key('web')}", "idempotency-key": "k1"}

    async def run() -> list[Answered]:
        return [await send("/events", headers, EVENT) for send in (fast, slow, fast)]

    services = app.state.services
    services.start()
    try:
        first, replayed_slow, replayed_fast = asyncio.run(run())
    finally:
        services.stop()
    assert replayed_fast.comparable() == replayed_slow.comparable()
    assert replayed_fast.body == first.body
    assert replayed_fast.headers[0] == (b"idempotent-replayed", b"true")


def test_a_body_in_many_chunks_is_read_whole(database_url: str, make_key: KeyMaker) -> None:
    app = create_app(Settings(database_url=database_url))
    headers = {"authorization": f"Bearer {make_key('web')}"}
    services = app.state.services
    services.start()
    try:
        answered = asyncio.run(post(app, "/events", headers, EVENT, chunk=7))
    finally:
        services.stop()
    assert answered.status == 200, answered.body
    assert msgspec.json.decode(answered.body)["messageId"] == "m1"


def _exploding(*_: Any) -> Any:
    raise RuntimeError("a bug in a job's preparation")


def test_a_crash_on_the_write_path_is_a_logged_500_a_browser_can_read(
    database_url: str, make_key: KeyMaker, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=database_url))
    assert app.front is not None
    explode = WriteOperation(LOG_EVENT.body_type, _exploding, LOG_EVENT.answer)
    app.front = WriteFront(
        app.state.services,
        {"/events": WriteRoute(explode, app.front.route("/events"))},
        cors=app.front.cors,
        observer=None,
    )
    headers = {"authorization": f"Bearer {make_key('web')}", "origin": "https://a.example"}
    services = app.state.services
    services.start()
    try:
        with caplog.at_level(logging.INFO):
            answered = asyncio.run(post(app, "/events", headers, EVENT))
    finally:
        services.stop()
    assert answered.status == 500
    body = msgspec.json.decode(answered.body)
    assert body["code"] == "internal_server_error"
    assert "bug" not in answered.body.decode()  # nothing of the crash leaves the process
    assert (b"access-control-allow-origin", b"*") in answered.headers
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and body["requestId"] in errors[0].getMessage()
    assert services.writes.running == 0
