"""The thread vectors of each searched project, held in memory so a semantic search scores a
million threads in one numpy pass instead of reading 400 MB of blobs from the store each time.

Kept current from the change log (the triggers log every write of a semantic thread, and its
vector is written in the same transaction): each search first reads the changes since the last,
marks the changed threads' old vectors dead and appends the new ones as a small segment;
segments are merged once there are many or many dead rows. Scores are exact integer dot
products of the int8 vectors (query.semantic), so every path ranks the same.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, and_, func, select

from threadline.insights.embed import DIMENSIONS
from threadline.store.follow import Follower
from threadline.store.tables import changes, semantic_threads, thread_vectors

# Changes re-read below the log's top when a project is first loaded: a transaction still open
# then (several writers on PostgreSQL) may commit rows under it (as analytics.columnar does).
REPLAY_MARGIN = 1_000
# Rows read per round trip when loading, and seqs per `IN (...)` when refreshing.
LOAD_BATCH = 20_000
IN_BATCH = 500
# Merge the segments when there are more than this many, or this share of rows is dead.
MAX_SEGMENTS = 16
MAX_DEAD_SHARE = 0.25

# Rows scored per task, and the threads scoring them: a million vectors take ~60 ms of one
# core (docs/insights.md, "Search at a million threads").
SCORE_CHUNK = 65_536
# Rows widened to float32 at a time within a task: small enough to stay in the core's cache and
# for OpenBLAS to score them on the calling thread (at 4,096 rows it starts threads of its own,
# which cost 2.5x the CPU on two cores).
WIDEN_ROWS = 1_024
_SCORING = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="scores")

Int8Matrix = npt.NDArray[np.int8]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class Segment:
    """Vectors loaded together: rows in `seqs` order (semantic_threads.seq)."""

    seqs: Ints
    ids: npt.NDArray[np.object_]
    vectors: Int8Matrix
    norms: Floats  # each int8 row's length


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One consistent state of a project's vectors; never changed, replaced on refresh. Row i of
    the concatenated arrays is row i of the segments in order."""

    segments: tuple[Segment, ...]
    alive: npt.NDArray[np.bool_]
    seqs: Ints
    ids: npt.NDArray[np.object_]
    # The seqs of the project's threads that have no vector (written before they could be
    # embedded), sorted: semantic search still finds them by their words.
    unembedded: Ints

    @classmethod
    def of(
        cls, segments: Sequence[Segment], alive: npt.NDArray[np.bool_], unembedded: Ints
    ) -> Snapshot:
        seqs = np.concatenate([s.seqs for s in segments]) if segments else np.zeros(0, np.int64)
        ids = np.concatenate([s.ids for s in segments]) if segments else np.zeros(0, object)
        return cls(tuple(segments), alive, seqs, ids, unembedded)

    def __len__(self) -> int:
        return len(self.seqs)

    def dots(self, query: npt.NDArray[np.float32]) -> Floats:
        """Each row's integer dot product with `query` (int8 values held as float32): exact,
        whatever the order of summation, since every partial sum is an integer below 2**24.
        In chunks on the scoring threads: numpy lets go of the GIL while it sums."""
        out = np.empty(len(self.seqs), dtype=np.float32)
        chunks: list[tuple[Int8Matrix, npt.NDArray[np.float32]]] = []
        offset = 0
        for segment in self.segments:
            for start in range(0, len(segment.vectors), SCORE_CHUNK):
                rows = segment.vectors[start : start + SCORE_CHUNK]
                chunks.append((rows, out[offset + start : offset + start + len(rows)]))
            offset += len(segment.vectors)
        list(_SCORING.map(lambda chunk: _score(chunk[0], chunk[1], query), chunks))
        return out.astype(np.float64)

    def rows_of(self, seqs: Ints) -> Ints:
        """The row holding each seq, -1 where none does. Each segment is in seq order (a
        binary search); a seq in several segments is in the last one alive, if any."""
        found = np.full(len(seqs), -1, dtype=np.int64)
        offset = 0
        for segment in self.segments:
            if len(segment.seqs):
                at = np.searchsorted(segment.seqs, seqs).clip(0, len(segment.seqs) - 1)
                hit = segment.seqs[at] == seqs
                found[hit] = offset + at[hit]
            offset += len(segment.seqs)
        return found

    def norms(self) -> Floats:
        parts = [s.norms for s in self.segments]
        return np.concatenate(parts) if parts else np.zeros(0)


def _score(rows: Int8Matrix, into: npt.NDArray[np.float32], query: npt.NDArray[np.float32]) -> None:
    """into[i] = rows[i] . query. A few rows at a time widened to float32 into one buffer, then
    BLAS's matrix-vector product: about twice as fast as numpy's einsum straight on the int8
    values, which widens each value inside its loop (116 against 62 ms of CPU per million rows
    of 384, docs/insights.md)."""
    wide = np.empty((min(WIDEN_ROWS, len(rows)), rows.shape[1]), dtype=np.float32)
    for start in range(0, len(rows), WIDEN_ROWS):
        part = rows[start : start + WIDEN_ROWS]
        buffer = wide[: len(part)]
        np.copyto(buffer, part, casting="unsafe")
        np.matmul(buffer, query, out=into[start : start + len(part)])


def segment_of(rows: Iterable[Any]) -> Segment:
    """A segment from (seq, id, vector blob) rows, in any order."""
    rows = list(rows)
    seqs = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ids = np.empty(len(rows), dtype=object)
    ids[:] = [r[1] for r in rows]
    blob = b"".join(r[2] for r in rows)
    vectors = np.frombuffer(blob, dtype=np.int8).reshape(len(rows), DIMENSIONS)
    order = np.argsort(seqs, kind="stable")
    seqs, ids, vectors = seqs[order], ids[order], vectors[order]
    squares = np.einsum("ij,ij->i", vectors, vectors, dtype=np.int64, casting="unsafe")
    return Segment(seqs, ids, vectors, np.sqrt(squares.astype(np.float64)))


def merged(segments: Sequence[Segment], alive: npt.NDArray[np.bool_]) -> Segment:
    """The live rows of several segments as one."""
    keep = np.flatnonzero(alive)
    return Segment(
        np.concatenate([s.seqs for s in segments])[keep],
        np.concatenate([s.ids for s in segments])[keep],
        np.concatenate([s.vectors for s in segments])[keep],
        np.concatenate([s.norms for s in segments])[keep],
    )


class ProjectVectors:
    """One project's vectors and where in the change log they are current to."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self.follower: Follower | None = None
        self.snapshot = Snapshot.of([], np.zeros(0, dtype=bool), np.zeros(0, np.int64))
        self.lock = threading.Lock()

    def current(self, connection: Connection) -> Snapshot:
        with self.lock:
            if self.follower is None:
                self._load(connection)
            else:
                self._refresh(connection)
            return self.snapshot

    def _rows(self, connection: Connection, *conditions: Any) -> Iterable[Any]:
        t, v = semantic_threads.c, thread_vectors.c
        statement = (
            select(t.seq, t.id, v.vector)
            .select_from(
                semantic_threads.join(
                    thread_vectors, and_(v.project_id == t.project_id, v.thread_id == t.id)
                )
            )
            .where(t.project_id == self.project_id, *conditions)
        )  # no ORDER BY: SQLite would sort the blobs (3x slower); segment_of sorts by seq
        result = connection.execution_options(yield_per=LOAD_BATCH).execute(statement)
        for rows in result.partitions():
            yield from rows

    def _unembedded(self, connection: Connection, *conditions: Any) -> Ints:
        """Seqs of the project's threads (among `conditions`) that have no vector."""
        t, v = semantic_threads.c, thread_vectors.c
        vector = select(v.thread_id).where(v.project_id == t.project_id, v.thread_id == t.id)
        statement = select(t.seq).where(
            t.project_id == self.project_id, ~vector.exists(), *conditions
        )
        return np.asarray(connection.execute(statement).scalars().all(), dtype=np.int64)

    def _load(self, connection: Connection) -> None:
        c = changes.c
        oldest, top = connection.execute(select(func.min(c.seq), func.max(c.seq))).one()
        segment = segment_of(self._rows(connection))
        alive = np.ones(len(segment.seqs), dtype=bool)
        self.snapshot = Snapshot.of([segment], alive, np.sort(self._unembedded(connection)))
        cursor = max(0, (top or 0) - REPLAY_MARGIN, (oldest or 1) - 1)
        self.follower = Follower(cursor=cursor)
        self._refresh(connection)

    def _refresh(self, connection: Connection) -> None:
        assert self.follower is not None
        c = changes.c
        oldest = connection.execute(select(func.min(c.seq))).scalar()
        if oldest is not None and oldest > self.follower.cursor + 1:
            # The log was pruned past what this copy has seen (a day without a search):
            # what changed meanwhile is no longer told, so read it all again.
            self._load(connection)
            return
        logged = connection.execute(
            select(c.seq, c.table_name, c.row_seq).where(self.follower.newer(c.seq)).order_by(c.seq)
        ).all()
        self.follower.saw([row.seq for row in logged], time.monotonic())
        changed = sorted({r.row_seq for r in logged if r.table_name == "semantic_threads"})
        if not changed:
            return
        snapshot = self.snapshot
        unembedded = [
            self._unembedded(
                connection, semantic_threads.c.seq.in_(changed[start : start + IN_BATCH])
            )
            for start in range(0, len(changed), IN_BATCH)
        ]
        kept = snapshot.unembedded[~np.isin(snapshot.unembedded, changed)]
        unembedded_now = np.sort(np.concatenate([kept, *unembedded]))
        alive = snapshot.alive.copy()
        rows = snapshot.rows_of(np.asarray(changed, dtype=np.int64))
        alive[rows[rows >= 0]] = False
        added = [
            row
            for start in range(0, len(changed), IN_BATCH)
            for row in self._rows(
                connection, semantic_threads.c.seq.in_(changed[start : start + IN_BATCH])
            )
        ]
        segments = list(snapshot.segments)
        if added:
            segments.append(segment_of(added))
            alive = np.concatenate([alive, np.ones(len(added), dtype=bool)])
        dead = len(alive) - int(alive.sum())
        if len(segments) > MAX_SEGMENTS or dead > MAX_DEAD_SHARE * max(1, len(alive)):
            segments = [merged(segments, alive)]
            alive = np.ones(len(segments[0].seqs), dtype=bool)
        self.snapshot = Snapshot.of(segments, alive, unembedded_now)


class VectorIndex:
    """The projects' vectors of one database, for one process (held by Services)."""

    def __init__(self) -> None:
        self._projects: dict[str, ProjectVectors] = {}
        self._lock = threading.Lock()

    def snapshot(self, connection: Connection, project_id: str) -> Snapshot:
        """The project's vectors as of now, loaded on its first search."""
        with self._lock:
            project = self._projects.setdefault(project_id, ProjectVectors(project_id))
        return project.current(connection)
