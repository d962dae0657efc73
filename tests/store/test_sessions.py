"""Dashboard session rows: found with their active key only, and swept once idle or too old."""

from __future__ import annotations

from threadline.auth import issue_key
from threadline.store.engine import Database
from threadline.store.keys import revoke_key
from threadline.store.sessions import (
    delete_session,
    find_session,
    forget_sessions,
    insert_session,
    touch_session,
)


def test_a_session_is_found_while_its_key_is_active(db: Database) -> None:
    with db.writer.begin() as connection:
        key = issue_key(connection, project="docs", integration="site", kind="api")
        insert_session(connection, session_id="s1", key_id=key.key_id, now=1_000)
        touch_session(connection, session_id="s1", now=5_000)
        found = find_session(connection, "s1")
        assert found is not None
        assert (found.key.id, found.created_at, found.last_seen_at) == (key.key_id, 1_000, 5_000)
        assert find_session(connection, "s2") is None
        revoke_key(connection, key.key_id)
        assert find_session(connection, "s1") is None
        delete_session(connection, session_id="s1")
        assert find_session(connection, "s1") is None


def test_sweeping_forgets_idle_and_old_sessions_only(db: Database) -> None:
    with db.writer.begin() as connection:
        key = issue_key(connection, project="docs", integration="site", kind="api")
        for name, created, seen in (("idle", 100, 100), ("old", 10, 900), ("live", 500, 900)):
            insert_session(connection, session_id=name, key_id=key.key_id, now=created)
            touch_session(connection, session_id=name, now=seen)
        assert forget_sessions(connection, seen_before=200, created_before=50) == 2
        assert find_session(connection, "live") is not None
        assert find_session(connection, "idle") is None and find_session(connection, "old") is None
