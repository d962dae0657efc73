"""The insight worker: follows the change log into the queue, leases conversations, splits
them into threads, labels and embeds the threads that changed, and keeps subjects current.

One conversation's failure is logged and retried later (insight_queue.fail); the rest of the
batch goes on. Threads a person verified keep their labels; feedback flags always follow.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection

from threadline.insights import subjects as subject_model
from threadline.insights.embed import Embedder, Vectors, from_blobs, shared, to_blob
from threadline.insights.model import Labels, ProjectVocabulary, ThreadText
from threadline.insights.segment import Segment, is_question, needs_vector, segment, user_messages
from threadline.insights.subject_embed import ANSWER_CHARS, SUBJECT_DIMENSIONS, SubjectEmbedder
from threadline.insights.subject_embed import shared as shared_subject_embedder
from threadline.insights.threads import (
    content_hash,
    feedback_flags,
    message_of,
    thread_row,
    thread_text,
)
from threadline.store import insight_queue, insight_threads
from threadline.store.conversations import lock_order
from threadline.store.engine import Database
from threadline.store.writer import commit_retrying
from threadline.timestamps import now_us

log = logging.getLogger(__name__)
Labeller = Callable[[ThreadText, ProjectVocabulary], Labels]
Write = Callable[[Connection], None]
# Re-cluster a project when this share of its threads arrived since the last clustering.
RECLUSTER_SHARE = 0.2
RECLUSTER_MIN = 20


def default_labeller(thread: ThreadText, vocabulary: ProjectVocabulary) -> Labels:
    # Imported on first use: the labellers are their own package (threadline.insights.labels).
    labels = importlib.import_module("threadline.insights.labels")
    result: Labels = labels.label_thread(thread, vocabulary)
    return result


@dataclasses.dataclass
class Progress:
    claimed: int = 0
    failed: int = 0
    threads_labelled: int = 0
    # Of those, labelled by the LLM, and labelled locally instead of by the LLM (a backlog run).
    llm_labelled: int = 0
    llm_fallbacks: int = 0


@dataclasses.dataclass
class _Pending:
    """A labelled thread whose subject vector and subject are still to be found (the batch's
    threads are embedded together: batching is most of the speed)."""

    row: dict[str, Any]
    vector_row: dict[str, Any]
    question: str
    answer: str


@dataclasses.dataclass
class _Loaded:
    item: insight_queue.Claimed
    conversation: insight_threads.StoredConversation | None
    messages: list[Any]
    stored: dict[str, insight_threads.StoredThread]
    vocabulary: ProjectVocabulary
    # The project opted in to the LLM labeller (`projects set --llm on`).
    llm: bool = False


class Worker:
    def __init__(
        self,
        database: Database,
        *,
        labeller: Labeller | None = None,
        llm_labeller: Labeller | None = None,
        embedder: Embedder | None = None,
        subject_embedder: SubjectEmbedder | None = None,
        owner: str | None = None,
        batch: int = 64,
        recluster_as_it_goes: bool = True,
    ) -> None:
        self.database = database
        self.labeller = labeller or default_labeller
        # Labels the threads of projects that opted in, when an LLM endpoint is configured;
        # None: every thread is labelled locally and nothing is sent anywhere.
        self.llm_labeller = llm_labeller
        self._embedder = embedder
        self._subject_embedder = subject_embedder
        self.owner = owner or uuid.uuid4().hex
        self.batch = batch
        # A backlog run clusters once at the end instead (insights.run.run_backlog).
        self.recluster_as_it_goes = recluster_as_it_goes
        self._subjects: dict[str, subject_model.SubjectIndex] = {}
        # Projects whose threads this worker wrote (for a final clustering after a backlog).
        self.touched: set[str] = set()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = shared()
        return self._embedder

    @property
    def subject_embedder(self) -> SubjectEmbedder:
        if self._subject_embedder is None:
            self._subject_embedder = shared_subject_embedder()
        return self._subject_embedder

    def step(self, now: int | None = None) -> Progress:
        """Follows the change log once and labels one batch of due conversations."""
        now = now_us() if now is None else now
        insight_queue.enqueue_changes(self.database.writer, now)
        return self.drain_once(now)

    def drain_once(self, now: int) -> Progress:
        """Labels one batch of due conversations. Everything is computed first and written in
        one short transaction: on SQLite the worker then holds the write lock (which ingest
        needs too) once per batch, for milliseconds, not once per conversation."""
        items = insight_queue.claim(self.database.writer, self.owner, now, self.batch)
        progress = Progress(claimed=len(items))
        loaded = self._load(items)
        vectors = self._embed_users(loaded)
        writes: list[tuple[insight_queue.Claimed, Write]] = []
        touched: set[str] = set()
        pending: list[_Pending] = []
        for entry in loaded:
            item = entry.item
            try:
                labelled, write = self._process(entry, vectors.get(id(entry)), now, pending)
            except Exception as exc:  # one bad conversation must not stop the others
                log.exception("labelling conversation %s failed", item.conversation_id)
                writes.append((item, functools.partial(_fail, self.owner, item, repr(exc), now)))
                progress.failed += 1
            else:
                progress.threads_labelled += labelled
                writes.append((item, functools.partial(_done, self.owner, item, write)))
                touched.add(item.project_id)
        self._find_subjects(pending)
        progress.failed += self._write(writes, now)
        self.touched |= touched
        for project_id in sorted(touched) if self.recluster_as_it_goes else ():
            self.maybe_recluster(project_id)
        return progress

    def _write(self, writes: list[tuple[insight_queue.Claimed, Write]], now: int) -> int:
        """Writes the batch in one transaction; if that fails, each conversation in its own,
        so one row the database refuses cannot keep the others from being stored. The number
        of conversations that failed here."""
        if not writes:
            return 0
        # Each write locks its conversation's row first: in the writer's order, so the server
        # re-posting some of these conversations waits instead of deadlocking.
        writes = sorted(writes, key=lambda w: lock_order(w[0].project_id, w[0].conversation_id))

        def write_all(connection: Connection) -> None:
            for _, write in writes:
                write(connection)

        try:
            commit_retrying(self.database.writer, write_all)
            return 0
        except Exception:
            log.exception("writing a batch of %d conversations failed; one by one", len(writes))
        failed = 0
        for item, write in writes:
            try:
                commit_retrying(self.database.writer, write)
            except Exception as exc:
                log.exception("writing conversation %s failed", item.conversation_id)
                with self.database.writer.begin() as connection:
                    _fail(self.owner, item, repr(exc), now, connection)
                failed += 1
        return failed

    def _load(self, items: Sequence[insight_queue.Claimed]) -> list[_Loaded]:
        """The batch's conversations, read per project in a few queries."""
        by_project: dict[str, list[str]] = {}
        for item in items:
            by_project.setdefault(item.project_id, []).append(item.conversation_id)
        found: dict[tuple[str, str], Any] = {}
        stored: dict[tuple[str, str], dict[str, insight_threads.StoredThread]] = {}
        vocabulary: dict[str, ProjectVocabulary] = {}
        llm: dict[str, bool] = {}
        with self.database.reader.connect() as connection:
            for project_id, ids in by_project.items():
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    loaded = insight_threads.load_conversations(connection, project_id, chunk)
                    threads = insight_threads.stored_threads(connection, project_id, chunk)
                    for conversation_id in chunk:
                        key = (project_id, conversation_id)
                        found[key] = loaded.get(conversation_id)
                        stored[key] = threads.get(conversation_id, {})
                names = insight_threads.product_names(connection, project_id)
                vocabulary[project_id] = ProjectVocabulary(product_names=names)
                llm[project_id] = self.llm_labeller is not None and (
                    insight_threads.llm_opted_in(connection, project_id)
                )
        out = []
        for item in items:
            key = (item.project_id, item.conversation_id)
            conversation = found[key]
            messages = [message_of(r) for r in conversation.messages] if conversation else []
            out.append(
                _Loaded(
                    item,
                    conversation,
                    messages,
                    stored[key],
                    vocabulary[item.project_id],
                    llm[item.project_id],
                )
            )
        return out

    def _embed_users(self, loaded: Sequence[_Loaded]) -> dict[int, Vectors]:
        """The user messages of the batch that segmentation compares by meaning, in one call
        (batching is most of the speed); cued follow-ups get zeros and cost nothing."""
        texts: list[str] = []
        spans: list[tuple[int, list[int | None]]] = []
        for entry in loaded:
            users = user_messages(entry.messages)
            rows: list[int | None] = []
            for message, needed in zip(users, needs_vector(users), strict=True):
                rows.append(len(texts) if needed else None)
                if needed:
                    texts.append(message.content)
            spans.append((id(entry), rows))
        matrix = self.embedder.embed(texts)
        zero = np.zeros(matrix.shape[1], dtype=np.float32)
        return {
            key: np.stack([zero if r is None else matrix[r] for r in rows]).astype(np.float32)
            if rows
            else matrix[:0]
            for key, rows in spans
        }

    def _find_subjects(self, pending: Sequence[_Pending]) -> None:
        """Subject vectors of the batch's labelled threads, and the nearest subject of each.
        If the model fails, the threads are stored without: the next clustering embeds them."""
        if not pending:
            return
        try:
            vectors = self.subject_embedder.embed(
                [p.question for p in pending], [p.answer for p in pending]
            )
        except Exception:
            log.exception("subject vectors of %d threads failed; left to clustering", len(pending))
            return
        for thread, vector in zip(pending, vectors, strict=True):
            subject = self._subject_index(thread.row["project_id"]).nearest(vector)
            thread.vector_row["subject_vector"] = to_blob(vector)
            thread.vector_row["subject_id"] = subject.id if subject else None
            thread.row["subject"] = subject.name if subject else None
            thread.row["category"] = subject.category if subject else None

    def _process(
        self, entry: _Loaded, vectors: Vectors | None, now: int, pending: list[_Pending]
    ) -> tuple[int, Write]:
        """(threads labelled, what to write) for one conversation; its labelled threads are
        added to `pending`, whose subjects are found for the whole batch at once."""
        item, conversation = entry.item, entry.conversation
        if conversation is None:  # deleted: its threads go too
            gone = list(entry.stored)
            return 0, lambda c: insight_threads.delete_threads(c, item.project_id, gone)
        segments = segment(conversation.id, entry.messages, vectors)
        question_vector = _question_vectors(entry.messages, segments, vectors)
        names = entry.vocabulary.product_names
        labeller = self.llm_labeller if entry.llm and self.llm_labeller else self.labeller
        rows = []
        flags_only = []
        for seg in segments:
            positive, negative = feedback_flags(seg, conversation.feedback)
            digest = content_hash(seg, names, llm=entry.llm)
            before = entry.stored.get(seg.id)
            if before is not None and (before.content_hash == digest or before.verified):
                if (before.has_positive_feedback, before.has_negative_feedback) != (
                    positive,
                    negative,
                ):
                    flags_only.append((seg.id, positive, negative))
                continue
            text = thread_text(seg, positive, negative)
            labels = labeller(text, entry.vocabulary)
            if entry.llm and getattr(labeller, "fell_back", False):
                # Labelled locally after all (an error, the rate or the cap): stored as a local
                # thread, so the next `insights run` offers it to the model again.
                digest = content_hash(seg, names)
            row = thread_row(seg, text, labels, conversation, None, now)
            vector_row = {
                "project_id": item.project_id,
                "thread_id": seg.id,
                "conversation_id": conversation.id,
                "content_hash": digest,
                "vector": to_blob(question_vector[seg.id]),
                "subject_vector": None,
                "subject_id": None,
                "created_at": now,
            }
            rows.append((row, vector_row))
            pending.append(_Pending(row, vector_row, text.question, text.answer))
        stale = set(entry.stored) - {s.id for s in segments}

        def write(connection: Connection) -> None:
            if not insight_threads.conversation_still_stored(
                connection, item.project_id, conversation.id
            ):
                return  # deleted or erased while it was labelled (threadline.privacy.erase)
            for row, vector_row in rows:
                insight_threads.save_thread(connection, row, vector_row)
            for thread_id, positive, negative in flags_only:
                insight_threads.update_thread(
                    connection,
                    item.project_id,
                    thread_id,
                    has_positive_feedback=positive,
                    has_negative_feedback=negative,
                    last_updated_at=now,
                )
            insight_threads.delete_threads(connection, item.project_id, stale)

        return len(rows), write

    def _subject_index(self, project_id: str) -> subject_model.SubjectIndex:
        if project_id not in self._subjects:
            with self.database.reader.connect() as connection:
                rows = insight_threads.load_subjects(connection, project_id)
            self._subjects[project_id] = subject_model.SubjectIndex(
                [
                    subject_model.Subject(
                        r.id,
                        r.name,
                        r.category,
                        from_blobs([r.centroid], len(r.centroid))[0],
                        r.size,
                    )
                    for r in rows
                ]
            )
        return self._subjects[project_id]

    def maybe_recluster(self, project_id: str, *, force: bool = False) -> bool:
        """Re-clusters a project when enough of its threads have no subject yet."""
        with self.database.reader.connect() as connection:
            waiting = insight_threads.unassigned_count(connection, project_id)
        index = self._subject_index(project_id)
        total = sum(s.size for s in index.subjects)
        due = waiting >= max(RECLUSTER_MIN, RECLUSTER_SHARE * total) or (waiting and not total)
        if not (force or due):
            return False
        self.recluster(project_id)
        return True

    def recluster(self, project_id: str) -> None:
        with self.database.reader.connect() as connection:
            threads = insight_threads.project_threads(connection, project_id, ANSWER_CHARS)
        if not threads:
            return
        late = self._late_subject_vectors(threads)
        vectors = from_blobs(
            [late.get(t.thread_id) or t.subject_vector for t in threads], SUBJECT_DIMENSIONS
        )
        previous = self._subject_index(project_id).subjects
        subjects, ids = subject_model.recluster(
            vectors, [t.question or "" for t in threads], [t.subject_id for t in threads], previous
        )
        # Only the threads whose subject changes (another subject, or theirs renamed) are
        # written: each is time on SQLite's one write lock, which ingest waits for.
        named = {p.id: (p.name, p.category) for p in previous}
        renamed = {s.id for s in subjects if named.get(s.id) != (s.name, s.category)}
        members: dict[int, list[str]] = {}
        for thread, subject_id in zip(threads, ids, strict=True):
            if thread.subject_id != subject_id or subject_id in renamed:
                members.setdefault(subject_id, []).append(thread.thread_id)
        rows = [
            {
                "id": s.id,
                "name": s.name,
                "category": s.category,
                "centroid": to_blob(s.centroid),
                "size": s.size,
            }
            for s in subjects
        ]
        with self.database.writer.begin() as connection:
            insight_threads.set_subject_vectors(connection, project_id, late)
            insight_threads.replace_subjects(connection, project_id, rows, members)
        self._subjects[project_id] = subject_model.SubjectIndex(subjects)

    def _late_subject_vectors(self, threads: Sequence[Any]) -> dict[str, bytes]:
        """Subject vectors of the threads stored without one (labelled before migration 0014,
        or while the model failed), from their question and the start of their answer."""
        missing = [t for t in threads if t.subject_vector is None]
        vectors = self.subject_embedder.embed(
            [t.question or "" for t in missing], [t.answer_start or "" for t in missing]
        )
        return {t.thread_id: to_blob(v) for t, v in zip(missing, vectors, strict=True)}


def _done(owner: str, item: insight_queue.Claimed, write: Write, connection: Connection) -> None:
    write(connection)
    insight_queue.finish(connection, owner, item)


def _fail(
    owner: str, item: insight_queue.Claimed, error: str, now: int, connection: Connection
) -> None:
    insight_queue.fail(connection, owner, item, error, now)


def _question_vectors(
    messages: Sequence[Any], segments: Sequence[Segment], vectors: Vectors | None
) -> dict[str, Vectors]:
    """Each thread's question vector: its first user message's, already embedded."""
    position = {m.id: i for i, m in enumerate(user_messages(messages))}
    out = {}
    for seg in segments:
        first_user = next(m for m in seg.messages if is_question(m))
        out[seg.id] = (
            vectors[position[first_user.id]] if vectors is not None else np.zeros(384, np.float32)
        )
    return out
