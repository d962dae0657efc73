"""Bearer keys: generation, hashing, and turning an Authorization header into a Principal.

Keys are 256-bit random tokens, so a plain SHA-256 is enough to store them safely (a slow
password hash guards low-entropy secrets, which these are not) and lets a lookup be one indexed
query. Verified keys are cached for `key_cache_seconds`, so revocation takes effect within that
time on every instance; expiry is checked on every request, cached or not, so an expired key is
refused from the moment it expires. A request that passes is then counted against its key's
rate limit, if one is configured, and its use noted in memory: `record_key_use` writes the
last-used times through the writer at most once a minute, never on a request's way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from threadline.errors import Forbidden, Unauthorized, Unprocessable
from threadline.ratelimit import RateLimiter
from threadline.store import keys as key_store
from threadline.store.engine import reading
from threadline.store.keys import (
    KeyKind,
    KeyRecord,
    ensure_integration,
    ensure_project,
    find_active_key,
    insert_key,
    key_hash_exists,
)
from threadline.store.writer import Writer
from threadline.timestamps import now_us

log = logging.getLogger(__name__)

WEB: frozenset[KeyKind] = frozenset({"web", "api"})
API_ONLY: frozenset[KeyKind] = frozenset({"api"})
_PREFIX_LENGTH = 15
_CACHE_LIMIT = 10_000
# Last-used times are written this often (and at shutdown): at most one write per key and
# process a minute, whatever the traffic.
KEY_USE_SECONDS = 60
_US = 1_000_000


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
    expires_at: int | None = None,
) -> IssuedKey:
    """A new key of `kind` for the project and integration (by name or id; created if new), or
    `secret`, a key made elsewhere, registered as one; it expires at `expires_at` (None: never).
    Only its hash is stored: `secret` is the one time the key exists in the clear."""
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
        expires_at=expires_at,
    )
    return IssuedKey(new_key.secret, key_id, project_id, integration_id)


@dataclasses.dataclass(frozen=True)
class Rotation:
    new: IssuedKey
    new_expires_at: int | None
    # The old key, with the moment it stops working.
    old: KeyRecord


def rotate_key(
    connection: Connection,
    key: str,
    *,
    grace_seconds: float,
    expires_in_seconds: float | None = None,
    now: int | None = None,
) -> Rotation:
    """A new key for the same project, integration and kind as `key` (its id or prefix); the
    old one expires `grace_seconds` from now (at once for 0), or sooner if it was going to.
    The new key lives `expires_in_seconds`, else as long as the old one was made to live."""
    moment = now_us() if now is None else now
    old = key_store.find_key(connection, key)
    if not old.active(moment):
        raise Unprocessable(f"key {old.id} is revoked or expired; create a new one instead")
    if expires_in_seconds is None and old.expires_at is not None:
        expires_in_seconds = (old.expires_at - old.created_at) / _US
    expires_at = None if expires_in_seconds is None else moment + int(expires_in_seconds * _US)
    new_key = generate_key(old.kind)
    key_id = insert_key(
        connection,
        project_id=old.project_id,
        integration_id=old.integration_id,
        kind=old.kind,
        key_hash=new_key.hash,
        prefix=new_key.prefix,
        expires_at=expires_at,
    )
    issued = IssuedKey(new_key.secret, key_id, old.project_id, old.integration_id)
    old = key_store.expire_key(connection, old, moment + int(grace_seconds * _US))
    return Rotation(issued, expires_at, old)


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
        wall_clock: Callable[[], int] = now_us,
    ) -> None:
        self._reader = reader
        self._cache_seconds = cache_seconds
        self._limiter = limiter
        self._clock = clock
        self._wall_clock = wall_clock
        # key hash -> (cached until, on `clock`; the key, or None if unknown; its expiry).
        self._cache: dict[str, tuple[float, Principal | None, int | None]] = {}
        # key hash -> its lookup now running (_look_up_once).
        self._lookups: dict[str, asyncio.Future[tuple[Principal | None, int | None]]] = {}
        # key id -> when it was last used, not yet written (record_key_use takes them).
        self._used: dict[str, int] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        key_hash = hash_key(bearer_token(authorization))
        now = self._clock()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            _, principal, expires_at = cached
        else:
            principal, expires_at = await self._look_up_once(key_hash, now)
        wall = self._wall_clock()
        if principal is None or (expires_at is not None and expires_at <= wall):
            raise Unauthorized("Unknown or revoked key.")
        if self._limiter is not None:
            # Only once the key is known: made-up keys are 401 and cannot fill the limiter.
            self._limiter.check(principal.key_id)
        self.note_use(principal.key_id, wall)
        return principal

    async def _look_up_once(self, key_hash: str, now: float) -> tuple[Principal | None, int | None]:
        """The key's lookup, one at a time per key: when its cache entry runs out under load,
        the requests that arrive meanwhile wait for the one lookup already running instead of
        each sending its own to a worker thread (64 at once, every `cache_seconds`)."""
        running = self._lookups.get(key_hash)
        if running is None:
            running = asyncio.ensure_future(self._look_up_and_cache(key_hash, now))
            self._lookups[key_hash] = running
            running.add_done_callback(lambda done: self._lookup_done(key_hash, done))
        # Shielded: a waiter that goes away must not cancel the others' lookup.
        return await asyncio.shield(running)

    def _lookup_done(self, key_hash: str, done: asyncio.Future[Any]) -> None:
        self._lookups.pop(key_hash, None)
        if not done.cancelled():
            done.exception()  # retrieved here: every waiter may have gone

    async def _look_up_and_cache(
        self, key_hash: str, now: float
    ) -> tuple[Principal | None, int | None]:
        principal, expires_at = await run_in_threadpool(self._lookup, key_hash)
        if self._cache_seconds > 0:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key_hash] = (now + self._cache_seconds, principal, expires_at)
        return principal, expires_at

    def _lookup(self, key_hash: str) -> tuple[Principal | None, int | None]:
        with reading(self._reader) as connection:
            record = find_active_key(connection, key_hash, self._wall_clock())
        if record is None:
            return None, None
        principal = Principal(record.id, record.project_id, record.integration_id, record.kind)
        return principal, record.expires_at

    def note_use(self, key_id: str, at: int | None = None) -> None:
        """The key was used (a request, a dashboard page): kept in memory until written."""
        self._used[key_id] = self._wall_clock() if at is None else at

    def take_key_use(self) -> dict[str, int]:
        """The keys used since the last call, with when each was last used."""
        used, self._used = self._used, {}
        return used

    def give_back_key_use(self, used: dict[str, int]) -> None:
        """Keys whose use could not be written, to be written next time."""
        for key_id, at in used.items():
            self._used[key_id] = max(at, self._used.get(key_id, at))


async def record_key_use(writer: Writer, auth: Authenticator) -> None:
    """Writes the last-used times noted since the previous call, in one writer job; on failure
    (storage down) they are kept for the next call."""
    used = auth.take_key_use()
    if not used:
        return
    try:
        await writer.submit(functools.partial(key_store.record_key_use, used=used))
    except Exception:
        auth.give_back_key_use(used)
        raise


async def record_key_use_forever(writer: Writer, auth: Authenticator) -> None:
    """Every KEY_USE_SECONDS: record_key_use (cancelled on shutdown, which records once more)."""
    while True:
        await asyncio.sleep(KEY_USE_SECONDS)
        try:
            await record_key_use(writer, auth)
        except Exception:  # kept for the next tick; never stop the loop
            log.warning("recording when keys were last used failed", exc_info=True)
