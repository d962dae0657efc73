"""Success responses: 200 and JSON, always (reference §1: never 201 or 204)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.services import Services


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
