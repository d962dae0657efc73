"""Success responses: 200 and JSON, always (reference §1: never 201 or 204)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.auth import Principal
from threadline.services import Services
from threadline.store.keys import KeyKind


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """A write's answer as bytes, encoded once, before any framework sees it: sent by the write
    endpoints' ASGI path (api.ingest) as it is, or wrapped by `answer_response`."""

    body: bytes
    status: int = 200
    # An Idempotency-Key's stored answer sent again (api.idempotency).
    replayed: bool = False


def answer_response(answer: Answer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(
        answer.body, status_code=answer.status, media_type="application/json", headers=headers
    )


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def authorized(request: Request, kinds: Collection[KeyKind]) -> tuple[Services, Principal]:
    """The process's services and the caller, whose key must be one of `kinds` (401/403)."""
    ctx = services(request)
    principal = await ctx.auth.authenticate(request.headers.get("authorization"))
    request.state.project_id = principal.project_id  # for the request log
    principal.require(kinds)
    return ctx, principal
