"""DELETE /users/{userId}: erase an end user (threadline's own, issue 16; docs/operations.md)."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import read
from threadline.api.responses import JSONResponse, authorized
from threadline.api.routing import route
from threadline.api.writes import commit
from threadline.auth import API_ONLY
from threadline.privacy.erase import erase_user, find_named_events
from threadline.wire.users import UserErased


async def erase_user_by_id(request: Request) -> Response:
    # Api keys only: a web key is public, and erasure is not the widget's to ask.
    ctx, principal = await authorized(request, API_ONLY)
    user_id = request.path_params["userId"]
    # The events' scan first, on a reader: the writer is held only for the indexed rest.
    named = await read(ctx, find_named_events, project_id=principal.project_id, user_id=user_id)
    job = functools.partial(
        erase_user, project_id=principal.project_id, user_id=user_id, named_events=named
    )
    erased = await commit(ctx, job)
    return JSONResponse(UserErased(userId=user_id, deleted=erased))


routes = [route("/users/{userId}", DELETE=erase_user_by_id)]
