"""Import checkpoints in the target database (table `imports`, migration 0013).

A cursor is written in the transaction that writes the rows it covers: after a crash, a
SIGINT or a network cut, the stored cursor and the stored rows agree, and a rerun resumes
exactly where the last commit left off.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, select

from threadline.store.tables import imports
from threadline.timestamps import now_us


def load(connection: Connection, project_id: str, source: str, kind: str) -> dict[str, Any]:
    """The stored cursor, or {} before the first run."""
    stored = connection.execute(
        select(imports.c.cursor).where(
            imports.c.project_id == project_id, imports.c.source == source, imports.c.kind == kind
        )
    ).scalar()
    if stored is None:
        return {}
    cursor = msgspec.json.decode(stored)
    return cursor if isinstance(cursor, dict) else {}


def save(
    connection: Connection, project_id: str, source: str, kind: str, cursor: dict[str, Any]
) -> None:
    text = msgspec.json.encode(cursor).decode()
    key = (
        imports.c.project_id == project_id,
        imports.c.source == source,
        imports.c.kind == kind,
    )
    updated = connection.execute(
        imports.update().where(*key).values(cursor=text, updated_at=now_us())
    )
    if updated.rowcount == 0:
        connection.execute(
            imports.insert().values(
                project_id=project_id, source=source, kind=kind, cursor=text, updated_at=now_us()
            )
        )
