"""The insight pipeline's work queue: conversations whose writes it has not labelled yet.

`enqueue_changes` follows the `changes` log (migration 0004) into the queue; `claim` leases due
rows to one worker (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer at a time);
`finish` and `fail` end a lease. A failed conversation stays queued, retried with back-off.

Following `changes` on PostgreSQL: several writers commit out of seq order, so a seq skipped
over is kept as a gap (a state row) and asked for again until it shows up or GAP_WAIT_US has
passed (as threadline.store.follow does in memory; here any instance may follow next).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from threadline.store.dialect import insert_ignore
from threadline.store.tables import (
    changes,
    conversations,
    feedback,
    insights_queue,
    insights_state,
    messages,
    projects,
)

CURSOR = "changes_cursor"
GAP = "changes_gap:"
GAP_WAIT_US = 30_000_000
MAX_GAPS = 1_000
BATCH = 5_000
# A conversation is labelled this long after its last write, so a chat in progress is not
# labelled once per message (well inside the 60 s promise).
DEBOUNCE_US = 2_000_000
LEASE_US = 300_000_000
Key = tuple[str, str]  # (project_id, conversation_id)


@dataclasses.dataclass(frozen=True)
class Claimed:
    project_id: str
    conversation_id: str
    version: int
    attempts: int


def _state(connection: Connection, lock: bool) -> tuple[int, dict[int, int]]:
    statement = select(insights_state.c.name, insights_state.c.value).where(
        or_(insights_state.c.name == CURSOR, insights_state.c.name.startswith(GAP))
    )
    if lock and connection.dialect.name == "postgresql":
        # Serialises followers: the cursor row (made by the first follow) is locked.
        connection.execute(
            select(insights_state.c.value).where(insights_state.c.name == CURSOR).with_for_update()
        )
    cursor, gaps = 0, {}
    for name, value in connection.execute(statement):
        if name == CURSOR:
            cursor = int(value)
        else:
            gaps[int(name[len(GAP) :])] = int(value)
    return cursor, gaps


def _set_state(connection: Connection, name: str, value: int) -> None:
    done = connection.execute(
        update(insights_state).where(insights_state.c.name == name).values(value=value)
    )
    if not done.rowcount:
        connection.execute(insights_state.insert().values(name=name, value=value))


def enqueue_changes(engine: Engine, now: int) -> int:
    """Moves new rows of `changes` into the queue; the number of change rows read."""
    with engine.begin() as connection:
        _ensure_cursor(connection)
        cursor, gaps = _state(connection, lock=True)
        wanted = changes.c.seq > cursor
        if gaps:
            wanted = or_(wanted, changes.c.seq.in_(sorted(gaps)))
        rows = connection.execute(
            select(changes.c.seq, changes.c.table_name, changes.c.row_seq, changes.c.created_at)
            .where(wanted)
            .order_by(changes.c.seq)
            .limit(BATCH)
        ).all()
        keys = _conversations_of(connection, rows)
        if keys:
            last_write = max(int(r.created_at) for r in rows)
            enqueue(connection, keys, last_write + DEBOUNCE_US)
        _advance(connection, cursor, gaps, [int(r.seq) for r in rows], now)
        return len(rows)


def _ensure_cursor(connection: Connection) -> None:
    connection.execute(
        insert_ignore(connection, insights_state, ["name"], returning=False),
        {"name": CURSOR, "value": 0},
    )


def _advance(
    connection: Connection, cursor: int, gaps: dict[int, int], seqs: list[int], now: int
) -> None:
    seen = set(seqs)
    for seq in seen & gaps.keys():
        connection.execute(delete(insights_state).where(insights_state.c.name == f"{GAP}{seq}"))
        del gaps[seq]
    top = max(seqs, default=cursor)
    if top > cursor:
        missing = [s for s in range(cursor + 1, top) if s not in seen]
        for seq in missing[:MAX_GAPS] if cursor else []:
            _set_state(connection, f"{GAP}{seq}", now)
        _set_state(connection, CURSOR, top)
    for seq, since in gaps.items():
        if now - since > GAP_WAIT_US:
            connection.execute(delete(insights_state).where(insights_state.c.name == f"{GAP}{seq}"))


def _conversations_of(connection: Connection, rows: Iterable[object]) -> set[Key]:
    by_table: dict[str, list[int]] = {}
    for row in rows:
        by_table.setdefault(row.table_name, []).append(int(row.row_seq))  # type: ignore[attr-defined]
    keys: set[Key] = set()
    for chunk in _chunks(by_table.get("conversations", [])):
        c = conversations.c
        statement = select(c.project_id, c.id).where(c.seq.in_(chunk))
        keys.update((r[0], r[1]) for r in connection.execute(statement))
    for chunk in _chunks(by_table.get("messages", [])):
        m = messages.c
        statement = select(m.project_id, m.conversation_id).where(m.seq.in_(chunk))
        keys.update((r[0], r[1]) for r in connection.execute(statement))
    for chunk in _chunks(by_table.get("feedback", [])):
        f, m = feedback.c, messages.c
        rated = feedback.join(messages, and_(m.project_id == f.project_id, m.id == f.message_id))
        statement = (
            select(m.project_id, m.conversation_id).select_from(rated).where(f.seq.in_(chunk))
        )
        keys.update((r[0], r[1]) for r in connection.execute(statement))
    return keys


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def enqueue(connection: Connection, keys: Iterable[Key], due_at: int) -> None:
    """Queues conversations (again), in one statement: a queued row gets a new version (so a
    worker holding it does it again) and the later due time."""
    rows = [
        {"project_id": p, "conversation_id": c, "due_at": due_at, "version": 1, "attempts": 0}
        for p, c in keys
    ]
    if rows:
        connection.execute(_upsert(connection.dialect.name), rows)


@functools.cache
def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(insights_queue)
    q = insights_queue.c
    return statement.on_conflict_do_update(
        index_elements=["project_id", "conversation_id"],
        set_={
            "version": q.version + 1,
            "due_at": statement.excluded.due_at,
            "attempts": 0,
        },
    )


def claim(engine: Engine, owner: str, now: int, limit: int) -> list[Claimed]:
    """Leases up to `limit` due conversations to `owner`; no other worker gets them."""
    q = insights_queue.c
    with engine.begin() as connection:
        statement = (
            select(q.project_id, q.conversation_id, q.version, q.attempts)
            .where(q.due_at <= now, or_(q.lease_until.is_(None), q.lease_until < now))
            .order_by(q.due_at)
            .limit(limit)
        )
        if connection.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        rows = connection.execute(statement).all()
        for row in rows:
            connection.execute(
                update(insights_queue)
                .where(q.project_id == row.project_id, q.conversation_id == row.conversation_id)
                .values(lease_owner=owner, lease_until=now + LEASE_US)
            )
    return [Claimed(r.project_id, r.conversation_id, r.version, r.attempts) for r in rows]


def finish(connection: Connection, owner: str, item: Claimed) -> None:
    """Done: the row goes, unless it was queued again meanwhile (then it is due again)."""
    q = insights_queue.c
    mine = and_(
        q.project_id == item.project_id,
        q.conversation_id == item.conversation_id,
        q.lease_owner == owner,
    )
    gone = connection.execute(delete(insights_queue).where(mine, q.version == item.version))
    if not gone.rowcount:
        connection.execute(
            update(insights_queue).where(mine).values(lease_owner=None, lease_until=None)
        )


def fail(connection: Connection, owner: str, item: Claimed, error: str, now: int) -> None:
    """Kept, and due again later: 10 s, 20 s, 40 s ... up to an hour."""
    q = insights_queue.c
    delay = min(10_000_000 * 2 ** min(item.attempts, 12), 3_600_000_000)
    connection.execute(
        update(insights_queue)
        .where(
            q.project_id == item.project_id,
            q.conversation_id == item.conversation_id,
            q.lease_owner == owner,
        )
        .values(
            attempts=q.attempts + 1,
            last_error=error[:2000],
            due_at=now + delay,
            lease_owner=None,
            lease_until=None,
        )
    )


def pending(engine: Engine) -> int:
    """Conversations queued (due or not)."""
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(insights_queue)).scalar_one()
        )


def enqueue_backlog(engine: Engine, project: str | None, since_us: int | None) -> int:
    """Queues every conversation of `project` (name or id; None: all) updated since
    `since_us`, due now; the number queued (already queued ones count, and stay as they are)."""
    c, q = conversations.c, insights_queue.c
    # SQLite needs a WHERE in INSERT ... SELECT ... ON CONFLICT (else ON reads as a join's).
    conditions: list[Any] = [c.seq.is_not(None)]
    if project is not None:
        ids = select(projects.c.id).where(or_(projects.c.id == project, projects.c.name == project))
        conditions.append(c.project_id.in_(ids.scalar_subquery()))
    if since_us is not None:
        conditions.append(c.updated_at >= since_us)
    chosen = select(
        c.project_id,
        c.id,
        literal(0).label("due_at"),
        literal(1).label("version"),
        literal(0).label("attempts"),
    ).where(*conditions)
    with engine.begin() as connection:
        insert = (
            postgresql.insert(insights_queue)
            if connection.dialect.name == "postgresql"
            else sqlite.insert(insights_queue)
        )
        connection.execute(
            insert.from_select(
                [q.project_id, q.conversation_id, q.due_at, q.version, q.attempts], chosen
            ).on_conflict_do_nothing(index_elements=["project_id", "conversation_id"])
        )
        counted = select(func.count()).select_from(chosen.subquery())
        return int(connection.execute(counted).scalar_one())
