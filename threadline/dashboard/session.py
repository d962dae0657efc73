"""Dashboard sessions: a signed, HttpOnly cookie naming the API key that signed in, and the CSRF
tokens of its forms.

The cookie holds the key's id, never the key. Each request re-reads that key, so revoking it
(`threadline keys revoke`) ends its sessions at once. CSRF tokens are an HMAC of a per-session
nonce (or, before sign-in, of a random cookie), checked on every POST; the cookies are also
SameSite=Lax, so another site cannot post a form with them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import read
from threadline.api.responses import services
from threadline.errors import Forbidden, Unauthorized
from threadline.store.keys import KeyRecord, find_active_key_by_id

SESSION_COOKIE = "tl_session"
# Before sign-in: the seed of the sign-in form's CSRF token.
PRESESSION_COOKIE = "tl_csrf"
TIMEZONE_COOKIE = "tl_tz"
SESSION_SECONDS = 7 * 86_400
COOKIE_PATH = "/dashboard"


@dataclasses.dataclass(frozen=True)
class Session:
    """Who is signed in: every page reads only `project_id`'s data."""

    key: KeyRecord
    nonce: str

    @property
    def project_id(self) -> str:
        return self.key.project_id


class SessionKeys:
    """The secret everything here is signed with (THREADLINE_SESSION_SECRET, else random)."""

    def __init__(self, secret: str) -> None:
        self._secret = (secret or secrets.token_urlsafe(32)).encode()
        self._serializer = URLSafeTimedSerializer(self._secret, salt="threadline-dashboard")

    def dump(self, key_id: str, nonce: str) -> str:
        return self._serializer.dumps({"key": key_id, "nonce": nonce})

    def load(self, cookie: str) -> tuple[str, str] | None:
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict):
            return None
        key_id, nonce = data.get("key"), data.get("nonce")
        if isinstance(key_id, str) and isinstance(nonce, str):
            return key_id, nonce
        return None

    @staticmethod
    def new_seed() -> str:
        return secrets.token_urlsafe(16)

    def csrf_token(self, seed: str) -> str:
        return hmac.new(self._secret, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def session_keys(request: Request) -> SessionKeys:
    return request.app.state.session_keys  # type: ignore[no-any-return]


async def current_session(request: Request) -> Session | None:
    """The signed-in session, if the cookie is valid and its key is still active."""
    cookie = request.cookies.get(SESSION_COOKIE)
    loaded = session_keys(request).load(cookie) if cookie else None
    if loaded is None:
        return None
    key_id, nonce = loaded
    record = await read(services(request), find_active_key_by_id, key_id=key_id)
    if record is None or record.kind != "api":
        return None
    return Session(record, nonce)


async def require_session(request: Request) -> Session:
    """The session, or Unauthorized (which the dashboard answers with the sign-in page)."""
    session = await current_session(request)
    if session is None:
        raise Unauthorized("Sign in with an API key of your project.")
    request.state.session = session
    return session


def csrf_seed(request: Request, session: Session | None) -> str:
    return session.nonce if session is not None else request.cookies.get(PRESESSION_COOKIE, "")


def check_csrf(request: Request, session: Session | None, token: str) -> None:
    seed = csrf_seed(request, session)
    expected = session_keys(request).csrf_token(seed)
    if not seed or not hmac.compare_digest(expected, token):
        raise Forbidden("This form has expired or did not come from this dashboard; try again.")


def _cookie(response: Response, name: str, value: str, max_age: int, request: Request) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def ensure_presession(request: Request, response: Response, seed: str) -> None:
    if request.cookies.get(PRESESSION_COOKIE) != seed:
        _cookie(response, PRESESSION_COOKIE, seed, SESSION_SECONDS, request)


def start_session(request: Request, response: Response, key_id: str) -> None:
    cookie = session_keys(request).dump(key_id, secrets.token_urlsafe(16))
    _cookie(response, SESSION_COOKIE, cookie, SESSION_SECONDS, request)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
