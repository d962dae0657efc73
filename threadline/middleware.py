"""Pure ASGI middleware: a request id on every request, Location headers that are paths, a
problem+json 500 for any crash, and one quiet log line for a client that hung up mid-body.

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
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.errors import InternalError, ResponseCut, problem_response

log = logging.getLogger("threadline.requests")


# Request ids need to be unique, not secret: a random per-process prefix and a counter, which
# costs nothing per request (secrets.token_hex per request took ~4% of the event loop).
_PROCESS_PREFIX = secrets.token_hex(6)
_counter = itertools.count(1)


def new_request_id() -> str:
    return f"req_{_PROCESS_PREFIX}{next(_counter):010x}"


def path_only(location: str) -> str:
    """The path, query and fragment of a URL; never "//host" (a protocol-relative URL)."""
    parts = urlsplit(location)
    return urlunsplit(("", "", "/" + parts.path.lstrip("/"), parts.query, parts.fragment))


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # threadline.observe gives each request its id first; made here when it sits alone.
        state = scope.setdefault("state", {})
        request_id = state.get("request_id") or new_request_id()
        state["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
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
            # The client hung up before its body was in: nothing was written and nobody is left
            # to answer. Routine on the internet, so one line, not an error with a traceback.
            log.info(
                "client disconnected before sending its whole body: %s %s (requestId=%s)",
                scope["method"],
                scope["path"],
                request_id,
            )
        except Exception:
            log.exception(
                "unhandled error on %s %s (requestId=%s)",
                scope["method"],
                scope["path"],
                request_id,
            )
            if started:
                raise
            # The detail stays generic: no stack trace or internals leave the process.
            response = problem_response(
                InternalError(), instance=scope["path"], request_id=request_id
            )
            await response(scope, receive, send)
