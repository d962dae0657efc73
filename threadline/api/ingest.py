"""The write endpoints' own ASGI path: POST /events, /feedback, /conversations and /batch answered
in one layer, without Starlette's Request, middleware, exception and routing layers, which cost
the event loop more than the write itself (issue 14, docs/performance.md).

It answers exactly what the Starlette stack answers for those requests (tests/api/test_ingest.py
compares the two byte for byte): the same `api.writes.write`, the same problem+json through
`errors.problem_response`, X-Request-ID, the CORS middleware's headers (its own code, for a
request with an Origin), a logged problem+json 500 for a crash, one quiet line for a client that
hung up mid-body, and the observer (metrics, request log) with the route's template. Everything
else, CORS preflights included, goes through the Starlette app.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from threadline.api.responses import Answer
from threadline.api.writes import WriteHead, WriteOperation, write
from threadline.errors import InternalError, ThreadlineError, problem_response
from threadline.middleware import (
    CLIENT_CLOSED,
    Observer,
    log_crash,
    log_disconnect,
    new_request_id,
)
from threadline.services import Services

_JSON = (b"content-type", b"application/json")
_REPLAYED = (b"idempotent-replayed", b"true")
# What the CORS middleware adds to an answer to a request without an Origin header.
_VARY_ORIGIN = (b"vary", b"Origin")


@dataclasses.dataclass(frozen=True)
class WriteRoute:
    operation: WriteOperation
    # The Starlette route of the same path, for the metrics' route label (observe.requests).
    route: BaseRoute


def _head(scope: Scope) -> tuple[WriteHead, bool]:
    """The write's headers (the first of each, as Starlette's Headers.get reads them) and
    whether the request has an Origin."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name not in found:
            found[name] = value

    def get(name: bytes) -> str | None:
        value = found.get(name)
        return None if value is None else value.decode("latin-1")

    head = WriteHead(
        path=scope["path"],
        authorization=get(b"authorization"),
        content_type=get(b"content-type"),
        content_encoding=get(b"content-encoding"),
        content_length=get(b"content-length"),
        idempotency_key=get(b"idempotency-key"),
    )
    return head, b"origin" in found


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The body's chunks as Request.stream() gives them, ClientDisconnect included."""
    while True:
        message = await receive()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                return
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


class WriteFront:
    """Takes the write endpoints' POSTs (`takes`) and answers them (`__call__`)."""

    def __init__(
        self,
        ctx: Services,
        routes: dict[str, WriteRoute],
        *,
        cors: CORSMiddleware,
        observer: Observer | None,
    ) -> None:
        self._ctx = ctx
        self._routes = routes
        self._cors = cors
        self._observer = observer

    @property
    def cors(self) -> CORSMiddleware:
        return self._cors

    def route(self, path: str) -> BaseRoute:
        return self._routes[path].route

    def takes(self, scope: Scope) -> bool:
        # Under a root path, Starlette's routing decides what the path means.
        return (
            scope["method"] == "POST"
            and scope["path"] in self._routes
            and not scope.get("root_path")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        began = time.perf_counter()
        write_route = self._routes[scope["path"]]
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        scope["route"] = write_route.route
        status = CLIENT_CLOSED  # until an answer starts
        try:
            head, has_origin = _head(scope)
            try:
                answer = await write(
                    self._ctx, write_route.operation, head, _chunks(receive), state
                )
            except ThreadlineError as error:
                state["refusal"] = getattr(error, "reason", None)  # a 503's or 429's
                status = error.status
                await self._problem(scope, send, error, request_id, has_origin)
            else:
                status = answer.status
                await self._answer(scope, send, answer, request_id, has_origin)
        except ClientDisconnect:
            log_disconnect(scope, request_id)
        except Exception:
            log_crash(scope, request_id)
            if status != CLIENT_CLOSED:
                raise
            status = 500
            await self._problem(scope, send, InternalError(), request_id, has_origin=True)
        finally:
            if self._observer is not None:
                self._observer(scope, status, time.perf_counter() - began)

    async def _answer(
        self, scope: Scope, send: Send, answer: Answer, request_id: str, has_origin: bool
    ) -> None:
        # Starlette's Response and the middleware's order: content-length, content-type, then
        # X-Request-ID, then the CORS middleware's.
        headers = [
            (b"content-length", str(len(answer.body)).encode()),
            _JSON,
            (b"x-request-id", request_id.encode()),
        ]
        if answer.replayed:
            headers.insert(0, _REPLAYED)
        await self._start(scope, send, answer.status, headers, has_origin)
        await send({"type": "http.response.body", "body": answer.body})

    async def _problem(
        self,
        scope: Scope,
        send: Send,
        error: ThreadlineError,
        request_id: str,
        has_origin: bool,
    ) -> None:
        response = problem_response(error, instance=scope["path"], request_id=request_id)
        await self._start(scope, send, response.status_code, response.raw_headers, has_origin)
        await send({"type": "http.response.body", "body": response.body})

    async def _start(
        self,
        scope: Scope,
        send: Send,
        status: int,
        headers: list[tuple[bytes, bytes]],
        has_origin: bool,
    ) -> None:
        message: Message = {"type": "http.response.start", "status": status, "headers": headers}
        if has_origin:
            # The CORS middleware's own code, so a browser sees exactly what it always saw.
            await self._cors.send(message, send, Headers(scope=scope))
        else:
            headers.append(_VARY_ORIGIN)
            await send(message)
