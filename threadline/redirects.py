"""Redirects that stay on this server: every Location threadline sends is a path.

Starlette's trailing-slash redirects (GET /dashboard -> /dashboard/, GET /feedback/ -> /feedback)
build an absolute URL from the request's Host header, which any client chooses. A path-only
Location cannot point at another host, whatever a cache or a proxy in front made of that header.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def path_only(location: str) -> str:
    """The path, query and fragment of a URL; never "//host" (a protocol-relative URL)."""
    parts = urlsplit(location)
    return urlunsplit(("", "", "/" + parts.path.lstrip("/"), parts.query, parts.fragment))


class PathOnlyRedirects:
    """Pure ASGI middleware: rewrites an absolute Location to its path (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location is not None:
                    headers["location"] = path_only(location)
            await send(message)

        await self.app(scope, receive, relative)
