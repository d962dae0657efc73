"""Dashboard sessions: a signed, HttpOnly cookie holding a random token, a database row for it
(store.sessions), and the CSRF tokens of the dashboard's forms.

The row names the API key that signed in, never the key itself. Each request reads the row and
that key again, so signing out (the row is deleted), idling past THREADLINE_SESSION_IDLE_MINUTES,
passing THREADLINE_SESSION_LIFETIME_HOURS, revoking the key or its expiry ends a session at
once, on every instance. CSRF tokens are an HMAC of the session token (or, before sign-in, of a
random cookie), checked on every POST; the cookies are SameSite=Lax, and over https Secure and
`__Host-` named.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import hmac
import logging
import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import read
from threadline.api.responses import services
from threadline.config import Settings
from threadline.errors import Forbidden, Unauthorized, Unavailable
from threadline.store.keys import KeyRecord
from threadline.store.sessions import (
    SessionRecord,
    delete_session,
    find_session,
    forget_sessions,
    insert_session,
    touch_session,
)
from threadline.store.writer import Writer
from threadline.timestamps import now_us

log = logging.getLogger(__name__)

SESSION_COOKIE = "tl_session"
# Before sign-in: the seed of the sign-in form's CSRF token.
PRESESSION_COOKIE = "tl_csrf"
TIMEZONE_COOKIE = "tl_tz"
TIMEZONE_SECONDS = 365 * 86_400  # as the page script stores it
COOKIE_PATH = "/dashboard"
# Over https, cookie names take this prefix: a browser then keeps them only if Secure, for
# Path=/ and no Domain, so neither a sibling subdomain nor a plain-http page can plant one.
HOST_PREFIX = "__Host-"
# last_seen_at is written when older than this: a page view is a read, not a write.
TOUCH_SECONDS = 60
_SWEEP_SECONDS = 600
_US = 1_000_000


@dataclasses.dataclass(frozen=True)
class Session:
    """Who is signed in: every page reads only `project_id`'s data."""

    key: KeyRecord
    # The cookie's random token: the row's id is its hash, and CSRF tokens are its HMAC.
    token: str

    @property
    def project_id(self) -> str:
        return self.key.project_id


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionKeys:
    """The secret everything here is signed with (THREADLINE_SESSION_SECRET, else random)."""

    def __init__(self, secret: str) -> None:
        self._secret = (secret or secrets.token_urlsafe(32)).encode()
        self._serializer = URLSafeSerializer(self._secret, salt="threadline-dashboard")

    def dump(self, token: str) -> str:
        return self._serializer.dumps({"session": token})

    def load(self, cookie: str) -> str | None:
        """The token of a cookie this secret signed; a forged one never reaches the database."""
        try:
            data = self._serializer.loads(cookie)
        except BadSignature:
            return None
        token = data.get("session") if isinstance(data, dict) else None
        return token if isinstance(token, str) else None

    @staticmethod
    def new_seed() -> str:
        return secrets.token_urlsafe(16)

    def csrf_token(self, seed: str) -> str:
        return hmac.new(self._secret, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def session_keys(request: Request) -> SessionKeys:
    return request.app.state.session_keys  # type: ignore[no-any-return]


def is_https(request: Request) -> bool:
    """As the client sees it: X-Forwarded-Proto counts from THREADLINE_TRUSTED_PROXIES only
    (threadline.app applies them), so a client cannot claim https it does not have."""
    return request.url.scheme == "https"


def cookie_name(request: Request, name: str) -> str:
    return HOST_PREFIX + name if is_https(request) else name


def _alive(found: SessionRecord, settings: Settings, now: int) -> bool:
    idle = now - found.last_seen_at > settings.session_idle_minutes * 60 * _US
    old = now - found.created_at > settings.session_lifetime_hours * 3600 * _US
    return found.key.kind == "api" and not idle and not old


async def _touch(writer: Writer, found: SessionRecord, token: str, now: int) -> None:
    if now - found.last_seen_at < TOUCH_SECONDS * _US:
        return
    # A saturated writer refuses the touch: the page still opens, a later one records the visit.
    with contextlib.suppress(Unavailable):
        await writer.submit(functools.partial(touch_session, session_id=session_id(token), now=now))


async def current_session(request: Request) -> Session | None:
    """The signed-in session, if its cookie and row are valid and its key is still active."""
    cookie = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    token = session_keys(request).load(cookie) if cookie else None
    if token is None:
        return None
    ctx = services(request)
    found = await read(ctx, find_session, session_id=session_id(token))
    now = now_us()
    if found is None or not _alive(found, ctx.settings, now):
        return None  # an expired row is deleted by sweep_old_sessions
    await _touch(ctx.writer, found, token, now)
    ctx.auth.note_use(found.key.id)  # a dashboard page is a use of its key too
    return Session(found.key, token)


async def require_session(request: Request) -> Session:
    """The session, or Unauthorized (which the dashboard answers with the sign-in page)."""
    session = await current_session(request)
    if session is None:
        raise Unauthorized("Sign in with an API key of your project.")
    request.state.session = session
    request.state.project_id = session.project_id  # for the request log
    return session


def csrf_seed(request: Request, session: Session | None) -> str:
    if session is not None:
        return session.token
    return request.cookies.get(cookie_name(request, PRESESSION_COOKIE), "")


def check_csrf(request: Request, session: Session | None, token: str) -> None:
    seed = csrf_seed(request, session)
    expected = session_keys(request).csrf_token(seed)
    if not seed or not hmac.compare_digest(expected, token):
        raise Forbidden("This form has expired or did not come from this dashboard; try again.")


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """Sets a dashboard cookie: Secure, Path=/ and `__Host-` named over https (the prefix
    demands Path=/), plain and Path=/dashboard over http."""
    secure = is_https(request)
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        path="/" if secure else COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def _lifetime_seconds(request: Request) -> int:
    return int(services(request).settings.session_lifetime_hours * 3600)


def ensure_presession(request: Request, response: Response, seed: str) -> None:
    if request.cookies.get(cookie_name(request, PRESESSION_COOKIE)) != seed:
        _set_cookie(request, response, PRESESSION_COOKIE, seed, _lifetime_seconds(request))


async def start_session(request: Request, response: Response, key_id: str) -> None:
    """Stores a new session for the key (committed before the cookie is sent) and sets it."""
    token = secrets.token_urlsafe(32)
    job = functools.partial(
        insert_session, session_id=session_id(token), key_id=key_id, now=now_us()
    )
    await services(request).writer.submit(job)
    cookie = session_keys(request).dump(token)
    _set_cookie(request, response, SESSION_COOKIE, cookie, _lifetime_seconds(request))


async def end_session(request: Request, response: Response, session: Session) -> None:
    """Deletes the session's row, so the cookie is worthless even if it was copied."""
    job = functools.partial(delete_session, session_id=session_id(session.token))
    await services(request).writer.submit(job)
    secure = is_https(request)
    response.delete_cookie(
        cookie_name(request, SESSION_COOKIE),
        path="/" if secure else COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="lax",
    )


async def sweep_old_sessions(writer: Writer, settings: Settings) -> None:
    """Forever: delete sessions past their idle timeout or lifetime (cancelled on shutdown)."""
    while True:
        await asyncio.sleep(_SWEEP_SECONDS)
        now = now_us()
        job = functools.partial(
            forget_sessions,
            seen_before=now - int(settings.session_idle_minutes * 60 * _US),
            created_before=now - int(settings.session_lifetime_hours * 3600 * _US),
        )
        try:
            log.debug("forgot %d dashboard sessions", await writer.submit(job))
        except Exception:  # a failed sweep is retried at the next tick; never stop the loop
            log.warning("dashboard session sweep failed", exc_info=True)
