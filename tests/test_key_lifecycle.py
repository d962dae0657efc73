"""Key lifecycle (threadline.auth, store.keys, `threadline keys`): expiry, rotation with a grace
period, last-used times written without a write per request, and dashboard sessions ending
with their key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.assertions import assert_problem
from tests.dashboard.conftest import sign_in
from threadline.app import create_app
from threadline.auth import Authenticator, hash_key, issue_key
from threadline.cli import main
from threadline.config import Settings
from threadline.durations import parse_duration
from threadline.errors import Unauthorized
from threadline.store import keys as key_store
from threadline.store.engine import Database
from threadline.store.tables import api_keys
from threadline.timestamps import now_us, to_iso

EVENT = {"entityType": "search", "type": "search", "searchQuery": "how to install"}
US = 1_000_000


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("THREADLINE_DATABASE_URL", raising=False)


def cli(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--database-url", database_url])


def create(database_url: str, *extra: str) -> str:
    args = ["keys", "create", "--project", "docs", "--integration", "site", "--kind", "api"]
    result = cli(database_url, *args, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def listing(database_url: str) -> dict[str, dict[str, str]]:
    """`keys list` as {prefix: {column: value}}."""
    result = cli(database_url, "keys", "list")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    columns = header.split("\t")
    found = [dict(zip(columns, row.split("\t"), strict=True)) for row in rows]
    return {row["prefix"].removesuffix("…"): row for row in found}


def row_of(database_url: str, key: str) -> dict[str, str]:
    (row,) = [row for prefix, row in listing(database_url).items() if key.startswith(prefix)]
    return row


def record_of(db: Database, key: str) -> key_store.KeyRecord:
    with db.reader.connect() as connection:
        (record,) = [r for r in key_store.list_keys(connection) if key.startswith(r.prefix)]
    return record


def make_key(db: Database, *, expires_at: int | None) -> str:
    with db.writer.begin() as connection:
        issued = issue_key(
            connection, project="docs", integration="site", kind="api", expires_at=expires_at
        )
    return issued.secret


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 90 * 86_400), ("24h", 86_400), ("30m", 1800), ("0", 0)]
)
def test_durations_read_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["90", "9x", "d", "-1h", "1.h"])
def test_a_bad_duration_is_refused_saying_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="a number and a unit: s, m, h, d or w"):
        parse_duration(text)


def test_keys_create_expires_in_sets_the_expiry(database_url: str, db: Database) -> None:
    before = now_us()
    key = create(database_url, "--expires-in", "90d")
    record = record_of(db, key)
    assert record.expires_at is not None
    assert before + 90 * 86_400 * US <= record.expires_at <= now_us() + 90 * 86_400 * US
    row = row_of(database_url, key)
    assert (row["expires"], row["last used"], row["status"]) == (
        to_iso(record.expires_at),
        "never",
        "active",
    )
    assert row_of(database_url, create(database_url))["expires"] == "never"
    bad = cli(database_url, "keys", "create", "--project", "p", "--integration", "i",
              "--kind", "api", "--expires-in", "90x")  # fmt: skip
    assert bad.exit_code == 2 and "not a duration" in bad.stderr


def test_keys_import_expires_in_sets_the_expiry(database_url: str, db: Database) -> None:
    """An imported key (the widget's, made elsewhere) can be given a lifetime as a created one."""
    secret = "inkeep_web_" + "k" * 32
    args = ["keys", "import", "--project", "docs", "--integration", "widget", "--kind", "web"]
    before = now_us()
    result = CliRunner().invoke(
        main, [*args, "--expires-in", "30d", "--database-url", database_url], input=secret
    )
    assert result.exit_code == 0, result.output
    record = record_of(db, secret)
    assert record.expires_at is not None
    assert before + 30 * 86_400 * US <= record.expires_at <= now_us() + 30 * 86_400 * US
    assert f"expires {to_iso(record.expires_at)}" in result.stderr
    for bad in ("0", "90x"):
        refused = CliRunner().invoke(
            main, [*args, "--expires-in", bad, "--database-url", database_url], input="x" * 40
        )
        assert refused.exit_code == 2 and "--expires-in" in refused.stderr, refused.output
    assert len(listing(database_url)) == 1  # the refused imports registered nothing


def test_an_expired_key_gets_the_same_401_as_a_revoked_one(database_url: str, db: Database) -> None:
    expired = make_key(db, expires_at=now_us() - 1)
    revoked = make_key(db, expires_at=None)
    with db.writer.begin() as connection:
        key_store.revoke_key(connection, record_of(db, revoked).id)
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        answers = [
            client.post("/events", json=EVENT, headers={"Authorization": f"Bearer {key}"})
            for key in (expired, revoked)
        ]
    bodies = [assert_problem(answer, 401) for answer in answers]
    for body in bodies:
        body.pop("requestId", None)
    assert bodies[0] == bodies[1]
    assert row_of(database_url, expired)["status"].startswith("expired ")
    projects = cli(database_url, "projects", "list").stdout.splitlines()[1].split("\t")
    assert projects[3] == "0"  # no active keys


def test_a_cached_key_is_refused_from_the_moment_it_expires(db: Database) -> None:
    expires_at = now_us() + 3600 * US
    key = make_key(db, expires_at=expires_at)
    wall = [expires_at - 1]
    auth = Authenticator(db.reader, cache_seconds=3600, wall_clock=lambda: wall[0])
    header = f"Bearer {key}"
    assert asyncio.run(auth.authenticate(header)).kind == "api"
    # Cached for an hour, but the key's expiry comes first.
    wall[0] = expires_at
    with pytest.raises(Unauthorized, match="Unknown or revoked key"):
        asyncio.run(auth.authenticate(header))


def test_rotate_issues_a_twin_and_the_old_key_works_for_the_grace(
    database_url: str, db: Database
) -> None:
    old = create(database_url, "--expires-in", "30d")
    old_record = record_of(db, old)
    result = cli(database_url, "keys", "rotate", old_record.prefix, "--grace", "1h")
    assert result.exit_code == 0, result.output
    new = result.stdout.strip()
    assert new.startswith("tl_api_") and "\n" not in new and new != old
    assert f"the old key {old_record.id}" in result.stderr and "works until" in result.stderr
    new_record, old_after = record_of(db, new), record_of(db, old)
    same = ("project_id", "integration_id", "kind")
    assert [getattr(new_record, f) for f in same] == [getattr(old_record, f) for f in same]
    # The old key ends an hour after the rotation; the new one lives as long as the old did.
    assert old_after.expires_at is not None and new_record.expires_at is not None
    assert abs(old_after.expires_at - (new_record.created_at + 3600 * US)) < 5 * US
    lifetime = new_record.expires_at - new_record.created_at
    assert abs(lifetime - 30 * 86_400 * US) < 5 * US
    auth = Authenticator(db.reader, cache_seconds=0)
    for key in (old, new):
        asyncio.run(auth.authenticate(f"Bearer {key}"))
    late = Authenticator(db.reader, cache_seconds=0, wall_clock=lambda: old_after.expires_at or 0)
    asyncio.run(late.authenticate(f"Bearer {new}"))
    with pytest.raises(Unauthorized):
        asyncio.run(late.authenticate(f"Bearer {old}"))


def test_rotate_with_no_grace_revokes_at_once(database_url: str, db: Database) -> None:
    old = create(database_url)
    result = cli(database_url, "keys", "rotate", record_of(db, old).id, "--grace", "0")
    assert result.exit_code == 0, result.output
    new = result.stdout.strip()
    assert record_of(db, new).expires_at is None  # the old key never expired, nor does this
    assert row_of(database_url, old)["status"].startswith("revoked ")
    auth = Authenticator(db.reader, cache_seconds=0)
    asyncio.run(auth.authenticate(f"Bearer {new}"))
    with pytest.raises(Unauthorized):
        asyncio.run(auth.authenticate(f"Bearer {old}"))
    again = cli(database_url, "keys", "rotate", record_of(db, old).id)
    assert again.exit_code == 1 and "revoked or expired" in again.stderr
    assert cli(database_url, "keys", "rotate", "tl_api_none").exit_code == 1


def test_last_used_is_noted_in_memory_and_written_once(database_url: str, db: Database) -> None:
    used, unused = make_key(db, expires_at=None), make_key(db, expires_at=None)
    headers = {"Authorization": f"Bearer {used}"}

    def last_used() -> dict[str, int | None]:
        with db.reader.connect() as connection:
            rows = connection.execute(select(api_keys.c.key_hash, api_keys.c.last_used_at))
            return {row.key_hash: row.last_used_at for row in rows}

    app = create_app(Settings(database_url=database_url))
    with TestClient(app) as client:
        before = now_us()
        for _ in range(20):
            assert client.post("/events", json=EVENT, headers=headers).status_code == 200
        # Twenty requests, and not one wrote its key's use: it is noted in memory, once.
        assert last_used()[hash_key(used)] is None
        noted = app.state.services.auth.take_key_use()
        assert list(noted) == [record_of(db, used).id] and noted[record_of(db, used).id] >= before
        app.state.services.auth.give_back_key_use(noted)
    # Written at shutdown (and every minute while serving), one statement for all keys.
    times = last_used()
    assert times[hash_key(unused)] is None
    assert times[hash_key(used)] == noted[record_of(db, used).id]
    assert row_of(database_url, used)["last used"] != "never"
    assert row_of(database_url, unused)["last used"] == "never"


def test_a_later_use_is_never_overwritten_by_an_earlier_one(db: Database) -> None:
    key = make_key(db, expires_at=None)
    key_id = record_of(db, key).id
    for at in (2_000, 1_000):  # another process wrote a later time first
        with db.writer.begin() as connection:
            key_store.record_key_use(connection, {key_id: at})
    assert record_of(db, key).last_used_at == 2_000


def test_a_dashboard_session_ends_when_its_key_expires(database_url: str, db: Database) -> None:
    key = make_key(db, expires_at=now_us() + 3600 * US)
    app = create_app(Settings(database_url=database_url))
    with TestClient(app) as client:
        assert sign_in(client, key).status_code == 303
        app.state.services.auth.take_key_use()
        assert client.get("/dashboard/", follow_redirects=False).status_code == 200
        # A page is a use of the key it signed in with.
        assert list(app.state.services.auth.take_key_use()) == [record_of(db, key).id]
        with db.writer.begin() as connection:
            key_store.expire_key(connection, record_of(db, key), now_us())
        assert client.get("/dashboard/", follow_redirects=False).status_code == 303
        # An expired key cannot sign in.
        assert sign_in(client, make_key(db, expires_at=now_us() - 1)).status_code == 401
