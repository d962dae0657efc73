"""GET /: a small page saying what this server is and where to go (the dashboard, the API's
OpenAPI document, health and metrics), so a person who opens the address finds their way."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from threadline import __version__

PAGE = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>threadline</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>threadline {__version__}</h1>
<p>A self-hosted, Inkeep-compatible analytics API.</p>
<ul>
<li><a href="dashboard/">Dashboard</a> (sign in with an api key)</li>
<li><a href="openapi.json">OpenAPI document</a> of the API</li>
<li><a href="health">Health</a> and <a href="ready">readiness</a></li>
<li><a href="metrics">Metrics</a> (Prometheus text format)</li>
</ul>
</body>
</html>
"""


async def home(_request: Request) -> Response:
    return HTMLResponse(PAGE)


# A page for people, not part of the API: outside /openapi.json.
routes = [Route("/", home, methods=["GET"], include_in_schema=False)]
