"""Signing in with an API key of the project, and signing out.

A key is verified exactly as the API verifies a bearer key (auth.Authenticator, with its cache
and rate limit); web keys are refused, since they are embedded in public pages. Both forms are
read through forms.read_form, which refuses a large or non-urlencoded body before parsing it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from threadline.api.responses import services
from threadline.dashboard.forms import read_form
from threadline.dashboard.period import zone_named
from threadline.dashboard.render import renderer
from threadline.dashboard.session import (
    COOKIE_PATH,
    TIMEZONE_COOKIE,
    TIMEZONE_SECONDS,
    check_csrf,
    current_session,
    end_session,
    is_https,
    require_session,
    start_session,
)
from threadline.errors import Unauthorized

HOME = "/dashboard/"
# A key is 50 characters; anything far longer is not one (and is not worth hashing).
MAX_KEY_CHARS = 512


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path only, never another site."""
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return HOME


def _form(request: Request, *, error: str = "", status: int = 200) -> Response:
    return renderer(request).page(
        request,
        "signin.html",
        session=None,
        status=status,
        error=error,
        next=safe_next(request.query_params.get("next")),
    )


async def sign_in_form(request: Request) -> Response:
    if await current_session(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _form(request)


async def sign_in(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request, None, form.get("csrf", ""))
    key = form.get("key", "").strip()[:MAX_KEY_CHARS]
    if not key:
        return _form(request, error="Paste an API key of your project.", status=400)
    try:
        principal = await services(request).auth.authenticate(f"Bearer {key}")
    except Unauthorized:
        return _form(request, error="That key is unknown or has been revoked.", status=401)
    if principal.kind != "api":
        message = (
            "Web keys cannot sign in: they are public in your site's pages. "
            "Use an api key (threadline keys create --kind api)."
        )
        return _form(request, error=message, status=403)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    await start_session(request, response, principal.key_id)
    zone = form.get("tz", "")
    if zone and zone_named(zone).key == zone:
        # Readable and rewritten by the page script, which keeps it in step with the browser's
        # zone: so under its plain name and path whatever the scheme (it is no secret).
        response.set_cookie(
            TIMEZONE_COOKIE,
            zone,
            max_age=TIMEZONE_SECONDS,
            path=COOKIE_PATH,
            samesite="lax",
            secure=is_https(request),
        )
    return response


async def sign_out(request: Request) -> Response:
    form = await read_form(request)
    session = await require_session(request)
    check_csrf(request, session, form.get("csrf", ""))
    response = RedirectResponse("/dashboard/sign-in", status_code=303)
    await end_session(request, response, session)
    return response
