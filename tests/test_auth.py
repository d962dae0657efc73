"""Keys and principals (threadline.auth): generating, hashing, parsing, looking up, caching."""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest

from tests.assertions import snapshot
from tests.conftest import KeyMaker
from threadline.auth import (
    API_ONLY,
    WEB,
    Authenticator,
    Principal,
    bearer_token,
    generate_key,
    hash_key,
)
from threadline.errors import Forbidden, TooManyRequests, Unauthorized, Unavailable
from threadline.ratelimit import RateLimiter
from threadline.store import keys as key_store
from threadline.store.engine import Database, open_database
from threadline.store.keys import KeyKind


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def authenticate(authenticator: Authenticator, key: str) -> Principal:
    return asyncio.run(authenticator.authenticate(f"Bearer {key}"))


def revoke(db: Database, secret: str) -> None:
    with db.writer.begin() as connection:
        record = key_store.find_active_key(connection, hash_key(secret))
        assert record is not None
        key_store.revoke_key(connection, record.id)


@pytest.mark.parametrize("kind", ["web", "api"])
def test_generated_keys_carry_their_kind_and_are_distinct(kind: KeyKind) -> None:
    keys = [generate_key(kind) for _ in range(50)]
    assert all(key.secret.startswith(f"tl_{kind}_") for key in keys)
    assert len({key.secret for key in keys}) == 50
    assert all(key.secret.startswith(key.prefix) and key.prefix != key.secret for key in keys)


def test_hash_key_is_sha256_hex() -> None:
    key = generate_key("api")
    assert key.hash == hash_key(key.secret) == hashlib.sha256(key.secret.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", key.hash)


def test_the_secret_is_never_stored(make_key: KeyMaker, db: Database) -> None:
    secret = make_key("api")
    rows = snapshot(db)
    assert rows["api_keys"], "the key was not stored at all"
    assert secret not in repr(rows)
    assert hash_key(secret) in repr(rows["api_keys"])


@pytest.mark.parametrize("header", ["Bearer tl_x", "bearer tl_x", "BEARER tl_x", " Bearer  tl_x "])
def test_bearer_token_accepts_the_scheme_in_any_case(header: str) -> None:
    assert bearer_token(header) == "tl_x"


@pytest.mark.parametrize("header", [None, "", "Basic tl_x", "Bearer", "Bearer ", "tl_x"])
def test_bearer_token_refuses_anything_else(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        bearer_token(header)


def test_require_forbids_a_web_key_an_api_only_operation() -> None:
    web = Principal("key_1", "proj_1", "int_1", "web")
    api = Principal("key_2", "proj_1", "int_1", "api")
    web.require(WEB)
    api.require(WEB)
    api.require(API_ONLY)
    with pytest.raises(Forbidden):
        web.require(API_ONLY)


def test_authenticate_returns_the_keys_principal(make_key: KeyMaker, db: Database) -> None:
    secret = make_key("web", project="docs", integration="site")
    with db.reader.connect() as connection:
        (record,) = key_store.list_keys(connection)
    principal = authenticate(Authenticator(db.reader, cache_seconds=5), secret)
    assert principal == Principal(record.id, record.project_id, record.integration_id, "web")


def test_authenticate_refuses_unknown_keys_and_bad_headers(
    make_key: KeyMaker, db: Database
) -> None:
    make_key("api")
    authenticator = Authenticator(db.reader, cache_seconds=5)
    with pytest.raises(Unauthorized):
        authenticate(authenticator, generate_key("api").secret)
    with pytest.raises(Unauthorized):
        asyncio.run(authenticator.authenticate(None))


def test_a_revoked_key_passes_until_its_cache_entry_expires(
    make_key: KeyMaker, db: Database
) -> None:
    secret = make_key("api")
    clock = FakeClock()
    authenticator = Authenticator(db.reader, cache_seconds=5, clock=clock)
    principal = authenticate(authenticator, secret)
    revoke(db, secret)
    clock.now += 4.9
    assert authenticate(authenticator, secret) == principal
    clock.now += 0.1
    with pytest.raises(Unauthorized):
        authenticate(authenticator, secret)


def test_without_a_cache_revocation_is_immediate(make_key: KeyMaker, db: Database) -> None:
    secret = make_key("api")
    clock = FakeClock()
    authenticator = Authenticator(db.reader, cache_seconds=0, clock=clock)
    authenticate(authenticator, secret)
    revoke(db, secret)
    with pytest.raises(Unauthorized):
        authenticate(authenticator, secret)


class CountingAuthenticator(Authenticator):
    """Counts the lookups that reach the database."""

    lookups = 0

    def _lookup(self, key_hash: str) -> tuple[Principal | None, int | None]:
        self.lookups += 1
        return super()._lookup(key_hash)


def test_concurrent_requests_with_an_uncached_key_share_one_lookup(
    make_key: KeyMaker, db: Database
) -> None:
    secret = make_key("web")
    clock = FakeClock()
    authenticator = CountingAuthenticator(db.reader, cache_seconds=5, clock=clock)

    async def many() -> list[Principal]:
        return await asyncio.gather(
            *(authenticator.authenticate(f"Bearer {secret}") for _ in range(20))
        )

    principals = asyncio.run(many())
    assert len(set(principals)) == 1
    assert authenticator.lookups == 1
    # Its entry run out, the key is looked up again (once) and a revocation is seen.
    revoke(db, secret)
    clock.now += 5
    with pytest.raises(Unauthorized):
        asyncio.run(many())
    assert authenticator.lookups == 2


def test_a_limiter_counts_each_known_key_after_it_is_verified(
    make_key: KeyMaker, db: Database
) -> None:
    first, second = make_key("api"), make_key("web")
    limiter = RateLimiter(1, 1, clock=FakeClock())
    authenticator = Authenticator(db.reader, cache_seconds=5, limiter=limiter)
    authenticate(authenticator, first)
    with pytest.raises(TooManyRequests):
        authenticate(authenticator, first)
    authenticate(authenticator, second)
    for _ in range(3):  # unknown keys are 401, and take no bucket
        with pytest.raises(Unauthorized):
            authenticate(authenticator, generate_key("api").secret)
    assert len(limiter._buckets) == 2


def test_an_unreachable_database_is_503_not_500() -> None:
    # Nothing listens on port 1: a key that is not cached cannot be checked, so retry later.
    database = open_database("postgresql://postgres@127.0.0.1:1/none")
    try:
        authenticator = Authenticator(database.reader, cache_seconds=5)
        with pytest.raises(Unavailable):
            asyncio.run(authenticator.authenticate("Bearer tl_api_whatever"))
    finally:
        database.dispose()
