"""CSV downloads of the dashboard's tables, through the same export code as
POST /query/<view>/export: every row the table's filters match, streamed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.query import export_response
from threadline.dashboard.viewer import TABLES, viewer
from threadline.errors import NotFound


async def export_table(request: Request) -> Response:
    v = await viewer(request)
    name = request.path_params["table"]
    if name not in TABLES:
        raise NotFound(f"No table named {name!r} to download.")
    view, body = await TABLES[name](v)
    filename = f"{name}-{v.period.first_day}-{v.period.last_day}.csv"
    return await export_response(
        v.ctx, view=view, body=body, project_id=v.project_id, filename=filename
    )
