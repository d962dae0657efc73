"""Dashboard sessions in the database, so every instance sees a sign-out or a revoked key at once.

The dashboard keeps the random token in its cookie; rows are keyed by the token's SHA-256.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import Connection, delete, or_, select

from threadline.store.keys import KeyRecord, find_active_key_by_id
from threadline.store.tables import dashboard_sessions


@dataclasses.dataclass(frozen=True)
class SessionRecord:
    key: KeyRecord
    created_at: int
    last_seen_at: int


def insert_session(connection: Connection, *, session_id: str, key_id: str, now: int) -> None:
    connection.execute(
        dashboard_sessions.insert().values(
            id=session_id, key_id=key_id, created_at=now, last_seen_at=now
        )
    )


def find_session(connection: Connection, session_id: str) -> SessionRecord | None:
    """The session with its key, if both exist and the key is not revoked."""
    row = connection.execute(
        select(
            dashboard_sessions.c.key_id,
            dashboard_sessions.c.created_at,
            dashboard_sessions.c.last_seen_at,
        ).where(dashboard_sessions.c.id == session_id)
    ).first()
    if row is None:
        return None
    key = find_active_key_by_id(connection, row.key_id)
    return SessionRecord(key, row.created_at, row.last_seen_at) if key is not None else None


def touch_session(connection: Connection, *, session_id: str, now: int) -> None:
    connection.execute(
        dashboard_sessions.update()
        .where(dashboard_sessions.c.id == session_id)
        .values(last_seen_at=now)
    )


def delete_session(connection: Connection, *, session_id: str) -> None:
    connection.execute(delete(dashboard_sessions).where(dashboard_sessions.c.id == session_id))


def forget_sessions(connection: Connection, *, seen_before: int, created_before: int) -> int:
    """Deletes sessions idle since `seen_before` or opened before `created_before`."""
    result = connection.execute(
        delete(dashboard_sessions).where(
            or_(
                dashboard_sessions.c.last_seen_at < seen_before,
                dashboard_sessions.c.created_at < created_before,
            )
        )
    )
    return result.rowcount
