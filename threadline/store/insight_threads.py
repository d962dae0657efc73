"""Reading a conversation for the insight pipeline, and writing its semantic threads."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, or_, select, update

from threadline.store.dialect import insert_or_update
from threadline.store.tables import (
    conversations,
    feedback,
    insight_subjects,
    messages,
    project_settings,
    semantic_threads,
    thread_vectors,
)


@dataclasses.dataclass(frozen=True)
class StoredConversation:
    project_id: str
    id: str
    integration_id: str | None
    properties: Any
    user_properties: Any
    messages: list[Any]  # rows of `messages`, by position
    feedback: dict[str, set[str]]  # message id -> feedback types


@dataclasses.dataclass(frozen=True)
class StoredThread:
    content_hash: str
    verified: bool
    has_positive_feedback: bool
    has_negative_feedback: bool


def load_conversations(
    connection: Connection, project_id: str, conversation_ids: Sequence[str]
) -> dict[str, StoredConversation]:
    """The project's conversations of these ids (missing ones: deleted), with their messages
    and the feedback on them: three queries for a whole batch."""
    c, m, f = conversations.c, messages.c, feedback.c
    ids = list(conversation_ids)
    heads = connection.execute(
        select(c.id, c.integration_id, c.properties, c.user_properties).where(
            c.project_id == project_id, c.id.in_(ids)
        )
    ).all()
    rows = connection.execute(
        select(m.id, m.conversation_id, m.role, m.content, m.content_parts, m.links, m.created_at)
        .where(m.project_id == project_id, m.conversation_id.in_(ids))
        .order_by(m.conversation_id, m.position)
    ).all()
    by_conversation: dict[str, list[Any]] = {}
    for row in rows:
        by_conversation.setdefault(row.conversation_id, []).append(row)
    types: dict[str, set[str]] = {}
    rated = feedback.join(messages, and_(m.project_id == f.project_id, m.id == f.message_id))
    for message_id, kind in connection.execute(
        select(f.message_id, f.type)
        .select_from(rated)
        .where(f.project_id == project_id, m.conversation_id.in_(ids))
    ):
        types.setdefault(message_id, set()).add(kind)
    return {
        head.id: StoredConversation(
            project_id,
            head.id,
            head.integration_id,
            head.properties,
            head.user_properties,
            by_conversation.get(head.id, []),
            types,
        )
        for head in heads
    }


def stored_threads(
    connection: Connection, project_id: str, conversation_ids: Sequence[str]
) -> dict[str, dict[str, StoredThread]]:
    """conversation id -> thread id -> what the pipeline wrote for it before."""
    v, t = thread_vectors.c, semantic_threads.c
    rows = connection.execute(
        select(
            v.conversation_id,
            v.thread_id,
            v.content_hash,
            t.are_ai_annotations_verified,
            t.has_positive_feedback,
            t.has_negative_feedback,
        )
        .select_from(
            thread_vectors.outerjoin(
                semantic_threads, and_(t.project_id == v.project_id, t.id == v.thread_id)
            )
        )
        .where(v.project_id == project_id, v.conversation_id.in_(list(conversation_ids)))
    )
    out: dict[str, dict[str, StoredThread]] = {}
    for r in rows:
        out.setdefault(r.conversation_id, {})[r.thread_id] = StoredThread(
            r.content_hash,
            bool(r.are_ai_annotations_verified),
            bool(r.has_positive_feedback),
            bool(r.has_negative_feedback),
        )
    return out


_THREAD_KEYS = ("project_id", "id")


def conversation_still_stored(
    connection: Connection, project_id: str, conversation_id: str
) -> bool:
    """Whether the conversation is there, its row locked until the transaction ends: threads
    labelled from a conversation deleted or erased meanwhile must not be written (an erasure
    locks the row first, so one of the two waits for the other)."""
    c = conversations.c
    found = connection.execute(
        select(c.seq).where(c.project_id == project_id, c.id == conversation_id).with_for_update()
    ).first()
    return found is not None


def save_thread(connection: Connection, row: dict[str, Any], vector_row: dict[str, Any]) -> None:
    """Writes one labelled thread and its vector (insert or replace)."""
    connection.execute(
        insert_or_update(connection, semantic_threads, _THREAD_KEYS, set(row) - set(_THREAD_KEYS)),
        row,
    )
    connection.execute(
        insert_or_update(
            connection,
            thread_vectors,
            ("project_id", "thread_id"),
            set(vector_row) - {"project_id", "thread_id"},
        ),
        vector_row,
    )


def update_thread(connection: Connection, project_id: str, thread_id: str, **values: Any) -> None:
    t = semantic_threads.c
    connection.execute(
        update(semantic_threads).where(t.project_id == project_id, t.id == thread_id).values(values)
    )


def delete_threads(connection: Connection, project_id: str, thread_ids: Iterable[str]) -> None:
    """Threads a conversation no longer has (its history was rewritten); verified ones stay."""
    ids = list(thread_ids)
    if not ids:
        return
    t, v = semantic_threads.c, thread_vectors.c
    connection.execute(
        delete(semantic_threads).where(
            t.project_id == project_id,
            t.id.in_(ids),
            t.are_ai_annotations_verified.is_not(True),
        )
    )
    # A verified thread keeps its vector too: it stays searchable, and semantic search's
    # in-memory copy, which follows the threads' change log, keeps exactly the vectors of
    # threads that exist.
    remaining = select(t.id).where(t.project_id == v.project_id, t.id == v.thread_id)
    connection.execute(
        delete(thread_vectors).where(
            v.project_id == project_id, v.thread_id.in_(ids), ~remaining.exists()
        )
    )


def product_names(connection: Connection, project_id: str) -> tuple[str, ...]:
    names = connection.execute(
        select(project_settings.c.product_names).where(project_settings.c.project_id == project_id)
    ).scalar()
    return tuple(names or ())


def llm_opted_in(connection: Connection, project_id: str) -> bool:
    """Whether the project's threads may be sent to the configured LLM labeller."""
    opted = connection.execute(
        select(project_settings.c.llm).where(project_settings.c.project_id == project_id)
    ).scalar()
    return bool(opted)


def set_llm_opt_in(connection: Connection, project_id: str, opted_in: bool, now: int) -> None:
    connection.execute(
        insert_or_update(connection, project_settings, ["project_id"], ["llm", "updated_at"]),
        {"project_id": project_id, "llm": opted_in, "updated_at": now},
    )


def set_product_names(
    connection: Connection, project_id: str, names: Sequence[str], now: int
) -> None:
    connection.execute(
        insert_or_update(
            connection, project_settings, ["project_id"], ["product_names", "updated_at"]
        ),
        {"project_id": project_id, "product_names": list(names), "updated_at": now},
    )


def load_subjects(connection: Connection, project_id: str) -> list[Any]:
    s = insight_subjects.c
    return list(
        connection.execute(
            select(s.id, s.name, s.category, s.centroid, s.size)
            .where(s.project_id == project_id)
            .order_by(s.id)
        )
    )


def project_threads(connection: Connection, project_id: str, answer_chars: int) -> list[Any]:
    """Every labelled thread of a project: id, question, subject vector, subject id, and the
    first `answer_chars` of its answer where it has no subject vector yet (to embed it)."""
    v, t = thread_vectors.c, semantic_threads.c
    answer_start = case(
        (v.subject_vector.is_(None), func.substr(t.answer, 1, answer_chars)), else_=None
    )
    return list(
        connection.execute(
            select(
                v.thread_id,
                v.subject_vector,
                v.subject_id,
                t.question,
                answer_start.label("answer_start"),
            )
            .select_from(
                thread_vectors.join(
                    semantic_threads, and_(t.project_id == v.project_id, t.id == v.thread_id)
                )
            )
            .where(v.project_id == project_id)
            .order_by(v.thread_id)
        )
    )


def set_subject_vectors(connection: Connection, project_id: str, blobs: dict[str, bytes]) -> None:
    """Stores subject vectors computed late (threads labelled before migration 0014)."""
    if not blobs:
        return
    v = thread_vectors.c
    connection.execute(
        update(thread_vectors)
        .where(v.project_id == project_id, v.thread_id == bindparam("tid"))
        .values(subject_vector=bindparam("blob")),
        [{"tid": thread_id, "blob": blob} for thread_id, blob in blobs.items()],
    )


def unassigned_count(connection: Connection, project_id: str) -> int:
    v = thread_vectors.c
    return int(
        connection.execute(
            select(func.count()).where(v.project_id == project_id, v.subject_id.is_(None))
        ).scalar_one()
    )


def replace_subjects(
    connection: Connection,
    project_id: str,
    subjects: Sequence[dict[str, Any]],
    members: dict[int, list[str]],
) -> None:
    """The project's new subjects, and each thread's (verified threads keep their labels).
    Only rows whose subject changes are written: a re-clustering keeps most threads' subjects
    (subjects.recluster maps old subjects to new), and every thread written is a change-log
    row and time on SQLite's one write lock, which ingest waits for (docs/insights.md)."""
    s, v, t = insight_subjects.c, thread_vectors.c, semantic_threads.c
    connection.execute(delete(insight_subjects).where(s.project_id == project_id))
    if subjects:
        connection.execute(
            insight_subjects.insert(), [dict(r, project_id=project_id) for r in subjects]
        )
    by_id = {r["id"]: r for r in subjects}
    for subject_id, thread_ids in members.items():
        subject = by_id[subject_id]
        for start in range(0, len(thread_ids), 500):
            chunk = thread_ids[start : start + 500]
            connection.execute(
                update(thread_vectors)
                .where(
                    v.project_id == project_id,
                    v.thread_id.in_(chunk),
                    v.subject_id.is_distinct_from(subject_id),
                )
                .values(subject_id=subject_id)
            )
            connection.execute(
                update(semantic_threads)
                .where(
                    t.project_id == project_id,
                    t.id.in_(chunk),
                    t.are_ai_annotations_verified.is_not(True),
                    or_(
                        t.subject.is_distinct_from(subject["name"]),
                        t.category.is_distinct_from(subject["category"]),
                    ),
                )
                .values(subject=subject["name"], category=subject["category"])
            )
