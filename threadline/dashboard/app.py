"""The dashboard as an ASGI app mounted at /dashboard: its routes, its static files, and its
errors, which are HTML pages (error_pages.py) rather than problem+json."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from threadline.dashboard.conversations import conversations_page, transcript_page
from threadline.dashboard.error_pages import UnexpectedErrors, http_error, threadline_error
from threadline.dashboard.events import events_page
from threadline.dashboard.export import export_table
from threadline.dashboard.feedback import feedback_page
from threadline.dashboard.insights import confirm_labels, insights_page, threads_page
from threadline.dashboard.overview import overview_page
from threadline.dashboard.render import Renderer
from threadline.dashboard.search import search_page
from threadline.dashboard.session import SessionKeys
from threadline.dashboard.signin import sign_in, sign_in_form, sign_out
from threadline.errors import ThreadlineError
from threadline.services import Services


def dashboard_app(ctx: Services) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", overview_page, methods=["GET"]),
            Route("/sign-in", sign_in_form, methods=["GET"]),
            Route("/sign-in", sign_in, methods=["POST"]),
            Route("/sign-out", sign_out, methods=["POST"]),
            Route("/conversations", conversations_page, methods=["GET"]),
            Route("/conversations/{id:path}", transcript_page, methods=["GET"]),
            Route("/feedback", feedback_page, methods=["GET"]),
            Route("/search", search_page, methods=["GET"]),
            Route("/events", events_page, methods=["GET"]),
            Route("/insights", insights_page, methods=["GET"]),
            Route("/insights/threads", threads_page, methods=["GET"]),
            Route("/insights/threads/{id:path}/labels", confirm_labels, methods=["POST"]),
            Route("/export/{table}.csv", export_table, methods=["GET"]),
            Mount("/static", StaticFiles(packages=[("threadline.dashboard", "static")])),
        ],
        middleware=[Middleware(UnexpectedErrors)],
        exception_handlers={ThreadlineError: threadline_error, HTTPException: http_error},
    )
    app.state.services = ctx
    app.state.session_keys = SessionKeys(ctx.settings.session_secret)
    app.state.renderer = Renderer()
    return app
