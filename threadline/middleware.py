"""Pure ASGI middleware: a request id on every request, Location headers that are paths, a
problem+json 500 for any crash, one quiet log line for a client that hung up mid-body, and each
answered request handed to an observer (threadline.observe: metrics and the request log) with
its status and duration; in this one layer, as a second middleware cost the event loop more.

Location: Starlette's trailing-slash redirects (GET /dashboard -> /dashboard/, GET /feedback/ ->
/feedback) build an absolute URL from the request's Host header, which any client chooses. A
path-only Location cannot point at another host, whatever a cache or a proxy in front made of
that header.

It sits inside the CORS middleware, so even a 500 carries Access-Control-Allow-Origin and a
browser can read it.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.errors import InternalError, ResponseCut, problem_response

log = logging.getLogger("threadline.requests")

# Called once a request is answered, with its final status and seconds (threadline.observe).
Observer = Callable[[Scope, int, float], None]
# Nginx's number for a client that went away before any answer was sent.
CLIENT_CLOSED = 499


# Request ids need to be unique, not secret: a random per-process prefix and a counter, which
# costs nothing per request (secrets.token_hex per request took ~4% of the event loop).
_PROCESS_PREFIX = secrets.token_hex(6)
_counter = itertools.count(1)


def new_request_id() -> str:
    return f"req_{_PROCESS_PREFIX}{next(_counter):010x}"


def log_disconnect(scope: Scope, request_id: str) -> None:
    """The client hung up before its body was in: nothing was written and nobody is left to
    answer. Routine on the internet, so one line, not an error with a traceback."""
    log.info(
        "client disconnected before sending its whole body: %s %s (requestId=%s)",
        scope["method"],
        scope["path"],
        request_id,
    )


def log_crash(scope: Scope, request_id: str) -> None:
    """An unhandled error, with its traceback (called from an except block)."""
    log.exception(
        "unhandled error on %s %s (requestId=%s)", scope["method"], scope["path"], request_id
    )


def path_only(location: str) -> str:
    """The path, query and fragment of a URL; never "//host" (a protocol-relative URL)."""
    parts = urlsplit(location)
    return urlunsplit(("", "", "/" + parts.path.lstrip("/"), parts.query, parts.fragment))


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, observer: Observer | None = None) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        status = CLIENT_CLOSED  # until an answer starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if "x-request-id" not in headers:
                    headers.append("X-Request-ID", request_id)
                location = headers.get("location")
                if location is not None:
                    headers["location"] = path_only(location)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ResponseCut:
            raise  # logged where it was decided; the server drops the connection
        except ClientDisconnect:
            log_disconnect(scope, request_id)
        except Exception:
            log_crash(scope, request_id)
            if status != CLIENT_CLOSED:
                raise
            # The detail stays generic: no stack trace or internals leave the process.
            response = problem_response(
                InternalError(), instance=scope["path"], request_id=request_id
            )
            status = 500
            await response(scope, receive, send)
        finally:
            if self.observer is not None:
                self.observer(scope, status, time.perf_counter() - began)
