"""Bearer keys: generation, hashing, and turning an Authorization header into a Principal.

Keys are 256-bit random tokens, so a plain SHA-256 is enough to store them safely (a slow
password hash guards low-entropy secrets, which these are not) and lets a lookup be one indexed
query. Verified keys are cached for `key_cache_seconds`, so revocation takes effect within that
time on every instance. A request that passes is then counted against its key's rate limit, if
one is configured.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import time
from collections.abc import Callable, Collection

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from threadline.errors import Forbidden, Unauthorized
from threadline.ratelimit import RateLimiter
from threadline.store.engine import reading
from threadline.store.keys import (
    KeyKind,
    ensure_integration,
    ensure_project,
    find_active_key,
    insert_key,
    key_hash_exists,
)

WEB: frozenset[KeyKind] = frozenset({"web", "api"})
API_ONLY: frozenset[KeyKind] = frozenset({"api"})
_PREFIX_LENGTH = 15
_CACHE_LIMIT = 10_000


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: every read and write is confined to `project_id`."""

    key_id: str
    project_id: str
    integration_id: str
    kind: KeyKind

    def require(self, kinds: Collection[KeyKind]) -> None:
        if self.kind not in kinds:
            raise Forbidden(f"A {self.kind} key cannot call this operation; use an api key.")


@dataclasses.dataclass(frozen=True)
class NewKey:
    secret: str
    hash: str
    prefix: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(kind: KeyKind) -> NewKey:
    secret = f"tl_{kind}_{secrets.token_urlsafe(32)}"
    return NewKey(secret=secret, hash=hash_key(secret), prefix=secret[:_PREFIX_LENGTH])


# A key brought from elsewhere must be as hard to guess as ours for a plain SHA-256 to guard it.
MIN_IMPORTED_KEY_LENGTH = 32


def existing_key(secret: str) -> NewKey:
    """A key made elsewhere (the one key an Inkeep widget already sends), stored like ours."""
    secret = secret.strip()
    if len(secret) < MIN_IMPORTED_KEY_LENGTH or any(c.isspace() for c in secret):
        raise ValueError(
            f"a key to import must be one word of at least {MIN_IMPORTED_KEY_LENGTH} characters"
        )
    return NewKey(secret=secret, hash=hash_key(secret), prefix=secret[:_PREFIX_LENGTH])


@dataclasses.dataclass(frozen=True)
class IssuedKey:
    secret: str
    key_id: str
    project_id: str
    integration_id: str


def issue_key(
    connection: Connection,
    *,
    project: str,
    integration: str,
    kind: KeyKind,
    secret: str | None = None,
) -> IssuedKey:
    """A new key of `kind` for the project and integration (by name or id; created if new), or
    `secret`, a key made elsewhere, registered as one. Only its hash is stored: `secret` is
    the one time the key exists in the clear."""
    new_key = generate_key(kind) if secret is None else existing_key(secret)
    if secret is not None and key_hash_exists(connection, new_key.hash):
        raise ValueError("this key is already registered (revoked keys cannot come back)")
    project_id = ensure_project(connection, project)
    integration_id = ensure_integration(connection, project_id, integration)
    key_id = insert_key(
        connection,
        project_id=project_id,
        integration_id=integration_id,
        kind=kind,
        key_hash=new_key.hash,
        prefix=new_key.prefix,
    )
    return IssuedKey(new_key.secret, key_id, project_id, integration_id)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("Missing Authorization header; send 'Authorization: Bearer <key>'.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Malformed Authorization header; send 'Authorization: Bearer <key>'.")
    return token.strip()


class Authenticator:
    def __init__(
        self,
        reader: Engine,
        *,
        cache_seconds: float,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._cache_seconds = cache_seconds
        self._limiter = limiter
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        key_hash = hash_key(bearer_token(authorization))
        now = self._clock()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            principal = await run_in_threadpool(self._lookup, key_hash)
            if self._cache_seconds > 0:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key_hash] = (now + self._cache_seconds, principal)
        if principal is None:
            raise Unauthorized("Unknown or revoked key.")
        if self._limiter is not None:
            # Only once the key is known: made-up keys are 401 and cannot fill the limiter.
            self._limiter.check(principal.key_id)
        return principal

    def _lookup(self, key_hash: str) -> Principal | None:
        with reading(self._reader) as connection:
            record = find_active_key(connection, key_hash)
        if record is None:
            return None
        return Principal(record.id, record.project_id, record.integration_id, record.kind)
