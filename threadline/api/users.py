"""DELETE /users/{userId}: erase an end user (threadline's own, issue 16; docs/operations.md)."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.responses import JSONResponse, authorized
from threadline.api.routing import route
from threadline.api.writes import commit
from threadline.auth import API_ONLY
from threadline.privacy.erase import erase_user
from threadline.wire.users import UserErased


async def erase_user_by_id(request: Request) -> Response:
    # Api keys only: a web key is public, and erasure is not the widget's to ask.
    ctx, principal = await authorized(request, API_ONLY)
    user_id = request.path_params["userId"]
    job = functools.partial(erase_user, project_id=principal.project_id, user_id=user_id)
    erased = await commit(ctx, job)
    return JSONResponse(UserErased(userId=user_id, deleted=erased))


routes = [route("/users/{userId}", DELETE=erase_user_by_id)]
