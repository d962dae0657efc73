"""Per-project data retention: what is old, and deleting it a small batch at a time.

The rule (docs/decisions.md, "Retention"): a conversation is old when it was last updated, and
every one of its messages last updated, more than `retention_days` ago; it then goes whole,
with its messages, the feedback on them, the events naming it or its messages, its semantic
threads and their embeddings and queue rows. A conversation active today is never cut in half.
Events, feedback and semantic threads that belong to no stored conversation go by their own
time. Search data is the `search` events, so it goes with them.

Each batch is one short transaction (threadline serve runs them as writer jobs between the
writes it is acknowledging), so a large purge never holds the writer long. Every delete passes
through the `changes` triggers (events' since migration 0011), so the columnar copy and the
insight queue follow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select, text, update

from threadline.store.keys import ensure_project
from threadline.store.tables import (
    conversations,
    events,
    feedback,
    insights_queue,
    messages,
    projects,
    semantic_threads,
    thread_vectors,
)
from threadline.timestamps import DAY_US

# Conversations per batch: each brings its messages (up to 500) and their rows along.
CONVERSATIONS_PER_BATCH = 50
# Events, feedback and threads of no stored conversation, per batch.
STRAYS_PER_BATCH = 1_000


@dataclasses.dataclass
class Purged:
    """Rows deleted, by kind."""

    conversations: int = 0
    messages: int = 0
    feedback: int = 0
    events: int = 0
    semantic_threads: int = 0
    embeddings: int = 0
    queued: int = 0

    def add(self, other: Purged) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    @property
    def total(self) -> int:
        return sum(dataclasses.astuple(self))

    def describe(self) -> str:
        return ", ".join(
            f"{getattr(self, f.name):,} {f.name.replace('_', ' ')}"
            for f in dataclasses.fields(self)
        )


@dataclasses.dataclass(frozen=True)
class Policy:
    project_id: str
    project_name: str
    days: int

    def cutoff(self, now_us: int) -> int:
        """Rows last touched before this moment (microseconds) are old."""
        return now_us - self.days * DAY_US


def set_retention(connection: Connection, project: str, days: int | None) -> str:
    """Sets a project's retention (None or 0: keep forever); the project's id."""
    project_id = ensure_project(connection, project)
    connection.execute(
        update(projects).where(projects.c.id == project_id).values(retention_days=days or None)
    )
    return project_id


def policies(connection: Connection, project: str | None = None) -> list[Policy]:
    """Projects with a retention set (only `project`, by name or id, when given)."""
    statement = select(projects.c.id, projects.c.name, projects.c.retention_days).where(
        projects.c.retention_days > 0
    )
    if project is not None:
        statement = statement.where(or_(projects.c.name == project, projects.c.id == project))
    rows = connection.execute(statement.order_by(projects.c.created_at, projects.c.id))
    return [Policy(row.id, row.name, int(row.retention_days)) for row in rows]


def _count(connection: Connection, statement: Any) -> int:
    return int(connection.execute(statement).rowcount or 0)


def _in(column: Any, values: Sequence[Any]) -> Any:
    return column.in_(list(values))


# Any constant works; it only has to be the same for every threadline process (and differ from
# the migration lock's, threadline.store.migrate).
PG_LOCK_KEY = 0x74726574656E74


def purge_batch(connection: Connection, project_id: str, cutoff: int) -> Purged | None:
    """Deletes one batch of the project's rows older than `cutoff`; nothing left when the
    result's total is 0. One transaction's worth (the caller's). On PostgreSQL it first takes a
    transaction-level advisory lock, so two instances never purge at once: None (nothing done)
    when another instance holds it. The lock ends with the transaction, so no connection is
    held between batches and none can be left open by a shutdown."""
    if connection.dialect.name == "postgresql":
        query = text("SELECT pg_try_advisory_xact_lock(:k)")
        if not connection.execute(query, {"k": PG_LOCK_KEY}).scalar():
            return None
    purged = _purge_conversations(connection, project_id, cutoff)
    if purged.total == 0:
        purged = _purge_strays(connection, project_id, cutoff)
    return purged


def _purge_conversations(connection: Connection, project_id: str, cutoff: int) -> Purged:
    c, m = conversations.c, messages.c
    recent_message = exists().where(
        m.project_id == project_id, m.conversation_id == c.id, m.updated_at >= cutoff
    )
    # created_at <= updated_at: the (project_id, created_at) index finds the candidates.
    ids = list(
        connection.execute(
            select(c.id)
            .where(
                c.project_id == project_id,
                c.created_at < cutoff,
                c.updated_at < cutoff,
                ~recent_message,
            )
            .order_by(c.created_at)
            .limit(CONVERSATIONS_PER_BATCH)
        ).scalars()
    )
    purged = Purged()
    if not ids:
        return purged
    message_ids = list(
        connection.execute(
            select(m.id).where(m.project_id == project_id, _in(m.conversation_id, ids))
        ).scalars()
    )
    for part in _parts(message_ids):
        purged.feedback += _count(
            connection,
            delete(feedback).where(
                feedback.c.project_id == project_id, _in(feedback.c.message_id, part)
            ),
        )
        purged.events += _count(
            connection,
            delete(events).where(
                events.c.project_id == project_id, _in(events.c.message_id, part), _not_newest()
            ),
        )
    purged.events += _count(
        connection,
        delete(events).where(
            events.c.project_id == project_id, _in(events.c.conversation_id, ids), _not_newest()
        ),
    )
    v = thread_vectors.c
    thread_ids = list(
        connection.execute(
            select(v.thread_id).where(v.project_id == project_id, _in(v.conversation_id, ids))
        ).scalars()
    )
    for part in _parts(thread_ids):
        purged.semantic_threads += _count(
            connection,
            delete(semantic_threads).where(
                semantic_threads.c.project_id == project_id, _in(semantic_threads.c.id, part)
            ),
        )
    purged.embeddings = _count(
        connection,
        delete(thread_vectors).where(v.project_id == project_id, _in(v.conversation_id, ids)),
    )
    purged.queued = _count(
        connection,
        delete(insights_queue).where(
            insights_queue.c.project_id == project_id, _in(insights_queue.c.conversation_id, ids)
        ),
    )
    # Conversations before their messages: a message deleted from a conversation that is still
    # there has its conversation's search document built again from the rest (migration 0018).
    purged.conversations = _count(
        connection, delete(conversations).where(c.project_id == project_id, _in(c.id, ids))
    )
    purged.messages = _count(
        connection,
        delete(messages).where(m.project_id == project_id, _in(m.conversation_id, ids)),
    )
    return purged


def _purge_strays(connection: Connection, project_id: str, cutoff: int) -> Purged:
    """Old events, feedback and threads that belong to no stored conversation."""
    e, f, t, c, m = events.c, feedback.c, semantic_threads.c, conversations.c, messages.c
    kept_conversation = exists().where(c.project_id == project_id, c.id == e.conversation_id)
    event_seqs = _first(
        connection,
        select(e.seq).where(
            e.project_id == project_id,
            e.created_at < cutoff,
            or_(e.conversation_id.is_(None), ~kept_conversation),
            _not_newest(),
        ),
        e.created_at,
    )
    kept_message = exists().where(m.project_id == project_id, m.id == f.message_id)
    feedback_seqs = _first(
        connection,
        select(f.seq).where(
            f.project_id == project_id, f.created_at < cutoff, f.updated_at < cutoff, ~kept_message
        ),
        f.created_at,
    )
    # Threads the pipeline wrote have an embedding naming their conversation (gone with it);
    # others (loaded from elsewhere) go by their last message.
    has_vector = exists().where(
        thread_vectors.c.project_id == project_id, thread_vectors.c.thread_id == t.id
    )
    thread_seqs = _first(
        connection,
        select(t.seq).where(
            t.project_id == project_id,
            t.first_message_at < cutoff,
            and_(or_(t.last_message_at.is_(None), t.last_message_at < cutoff)),
            ~has_vector,
        ),
        t.first_message_at,
    )
    return Purged(
        events=_delete_seqs(connection, events, event_seqs),
        feedback=_delete_seqs(connection, feedback, feedback_seqs),
        semantic_threads=_delete_seqs(connection, semantic_threads, thread_seqs),
    )


def _not_newest() -> Any:
    """Never the event with the highest seq: SQLite gives a deleted row's rowid to the next
    insert when it was the highest, and the columnar copy follows events by seq, so a new event
    under a seq it has passed would never reach it. That event goes in a later round, once a
    newer one exists."""
    return events.c.seq < select(func.max(events.c.seq)).scalar_subquery()


def _first(connection: Connection, statement: Any, order: Any) -> list[int]:
    return list(connection.execute(statement.order_by(order).limit(STRAYS_PER_BATCH)).scalars())


def _delete_seqs(connection: Connection, table: Any, seqs: list[int]) -> int:
    if not seqs:
        return 0
    return _count(connection, delete(table).where(table.c.seq.in_(seqs)))


def _parts(values: list[Any], size: int = 1_000) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def purge_project(
    run_batch: Callable[[Callable[[Connection], Purged | None]], Purged | None],
    project_id: str,
    cutoff: int,
) -> Purged | None:
    """Every old row of the project, batch after batch, each run by `run_batch` in a
    transaction of its own; the totals, or None if another instance was purging (what this one
    deleted before that is deleted all the same)."""
    total = Purged()
    while True:
        purged = run_batch(lambda connection: purge_batch(connection, project_id, cutoff))
        if purged is None:
            return None
        if purged.total == 0:
            return total
        total.add(purged)


def parse_days(value: str) -> int | None:
    """`--retention-days`: a whole number of days from 1 to 36,500; 0 or "none": forever."""
    if value.strip().lower() in {"0", "none", "forever", "off"}:
        return None
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number of days (or 0/none: keep forever)") from None
    if not 1 <= days <= 36_500:
        raise ValueError(f"{days} is out of range: 1 to 36500 days, or 0/none to keep forever")
    return days
