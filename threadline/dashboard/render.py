"""Rendering pages: the Jinja2 environment (templates/ inside the package, autoescaped), the
filters templates use for times and numbers, and what every page's layout needs."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import msgspec
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from threadline import __version__
from threadline.dashboard.markdown import render_markdown
from threadline.dashboard.period import RANGES, Period, zone_named
from threadline.dashboard.session import (
    TIMEZONE_COOKIE,
    Session,
    csrf_seed,
    ensure_presession,
    session_keys,
)

PAGE_ROWS = 25
NAV = (
    ("overview", "Overview", "/dashboard/"),
    ("conversations", "Conversations", "/dashboard/conversations"),
    ("feedback", "Feedback", "/dashboard/feedback"),
    ("search", "Search", "/dashboard/search"),
    ("events", "Events", "/dashboard/events"),
    ("insights", "Insights", "/dashboard/insights"),
)


def viewer_zone(request: Request) -> ZoneInfo:
    """The browser's IANA timezone, which the dashboard's script stores in a cookie."""
    raw = request.cookies.get(TIMEZONE_COOKIE)
    # Written by the server (quoted when it holds "/") or by the page script (as is).
    return zone_named(unquote(raw).strip('"') if raw else None)


def _instant(value: Any) -> datetime | None:
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1_000_000, ZoneInfo("UTC"))
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _when(value: Any, zone: ZoneInfo, style: str = "datetime") -> Markup:
    """A stored time (µs or ISO 8601) in the viewer's zone; the markup keeps the UTC instant so
    the page script can re-format it in the browser's locale."""
    instant = _instant(value)
    if instant is None:
        return Markup("")
    local = instant.astimezone(zone)
    text = f"{local:%b %-d, %Y}" if style == "date" else f"{local:%b %-d, %Y %H:%M}"
    utc = instant.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup(f'<time datetime="{utc}" data-style="{style}">{text}</time>')


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _link(value: Any) -> str:
    """A stored URL for an href: http(s) and mailto only. Links arrive from clients (message
    links, feedback sources); a javascript: URL must never become clickable here."""
    if isinstance(value, str) and value.lower().startswith(("https://", "http://", "mailto:")):
        return value
    return ""


def _json(value: Any) -> str:
    return "" if value is None else msgspec.json.encode(value).decode()


def change(current: int, previous: int) -> dict[str, Any]:
    """A comparison with the previous period, for the overview's cards."""
    if previous == 0:
        return {"text": "new" if current else "no change", "direction": "up" if current else ""}
    percent = (current - previous) * 100 / previous
    direction = "up" if percent > 0 else "down" if percent < 0 else ""
    return {"text": f"{percent:+.0f}% vs previous", "direction": direction}


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("threadline.dashboard", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["json"] = _json
    env.filters["link"] = _link
    env.filters["markdown"] = render_markdown
    env.globals["version"] = __version__
    env.globals["nav"] = NAV
    env.globals["ranges"] = RANGES
    return env


@dataclasses.dataclass
class Renderer:
    env: Environment = dataclasses.field(default_factory=_environment)

    def page(
        self,
        request: Request,
        template: str,
        *,
        session: Session | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        zone = viewer_zone(request)
        seed = csrf_seed(request, session) or session_keys(request).new_seed()
        values = {
            "request": request,
            "session": session,
            "zone": zone,
            "zone_name": str(zone.key),
            "csrf": session_keys(request).csrf_token(seed),
            "when": lambda value, style="datetime": _when(value, zone, style),
            "current": "",
            **context,
        }
        html = self.env.get_template(template).render(values)
        response = HTMLResponse(html, status_code=status)
        if session is None:
            ensure_presession(request, response, seed)
        # Pages show one project's data: never cached by a shared cache, never framed.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            # Inline style attributes only draw the bar lists' widths.
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
        )
        return response


def renderer(request: Request) -> Renderer:
    return request.app.state.renderer  # type: ignore[no-any-return]


def period_links(period: Period) -> list[tuple[str, str, bool]]:
    """(key, label, selected) of the range picker's presets."""
    return [(key, f"Last {days} days", period.key == key) for key, days in RANGES.items()]
