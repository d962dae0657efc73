"""Semantic search over threads: the `query` text of a semantic-threads request ranked by
meaning. numpy scores every thread of the project held in memory (query.vector_index) by the
cosine of the query text's embedding to each thread question's; the best are checked against
the `where` filters in SQL on the primary store, best first, until a page is found; the ids
then restrict and order the real query, on whichever read path answers it (docs/insights.md,
"Search")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
from msgspec import UNSET
from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from threadline.insights.embed import Vectors
from threadline.query.catalogue import SEMANTIC_THREADS
from threadline.query.compile import QueryCompiler
from threadline.query.dialects import sql_of
from threadline.query.vector_index import IN_BATCH, Floats, Snapshot, VectorIndex, segment_of
from threadline.store.tables import semantic_threads, thread_vectors

# Threads a search answers at most (a query's page is 1,000 rows; exports get as many).
SEARCH_LIMIT = 1_000
# Below this cosine a thread is not about the query at all (MiniLM: unrelated text scores
# -0.1 to 0.15).
MIN_SIMILARITY = 0.2
# The best threads first checked against the `where` filters; each further round checks four
# times as many, up to FULL_CHECK, beyond which one scan of the filtered rows is cheaper.
FIRST_CHECK = 2_000
FULL_CHECK = 40_000
# Added to the similarity of threads whose question or answer contains the query text.
LITERAL_BONUS = 0.5


def search_text(body: Any) -> str | None:
    text = getattr(body, "query", UNSET)
    if text in (UNSET, None) or not text.strip():
        return None
    return str(text).strip()


def rank_threads(
    connection: Connection,
    *,
    body: Any,
    project_id: str,
    embed: Callable[[str], Vectors],
    index: VectorIndex,
) -> list[str]:
    """Ids of the threads matching the body's filters, most similar to its `query` first."""
    text = search_text(body)
    assert text is not None
    unsearched = msgspec.structs.replace(body, query=UNSET)
    conditions = QueryCompiler(SEMANTIC_THREADS, sql_of(connection), unsearched, project_id).where
    snapshot = index.snapshot(connection, project_id)
    query = quantised(embed(text))
    similarity = similarities(snapshot, query)
    filtered = body.where not in (UNSET, None)
    scores = _most_similar(connection, snapshot, similarity, conditions if filtered else None)
    # The words themselves count too: a product or error name typed exactly finds its threads
    # (also those not embedded yet), ahead of threads that are merely similar.
    for thread_id, score in _literal_matches(connection, conditions, text, query):
        scores[thread_id] = (score if score >= MIN_SIMILARITY else 0.0) + LITERAL_BONUS
    return list(_best(scores))


def quantised(vector: Vectors) -> npt.NDArray[np.float32]:
    """The query's embedding rounded to int8 like the stored vectors (held as float32), so a
    score is an exact integer dot product over two lengths: the same on every path."""
    rounded: npt.NDArray[np.float32] = np.clip(np.rint(vector * 127.0), -127, 127).astype(
        np.float32
    )
    return rounded


def similarities(snapshot: Snapshot, query: npt.NDArray[np.float32]) -> Floats:
    """The cosine of each row to the query; dead rows (replaced or deleted) get -inf."""
    length = float(np.sqrt(np.dot(query.astype(np.float64), query.astype(np.float64))))
    scores = snapshot.dots(query) / np.maximum(snapshot.norms() * length, 1e-9)
    scores[~snapshot.alive] = -np.inf
    return scores


def _most_similar(
    connection: Connection,
    snapshot: Snapshot,
    similarity: Floats,
    conditions: list[ColumnElement[bool]] | None,
) -> dict[str, float]:
    """The SEARCH_LIMIT most similar threads of the snapshot that the filters admit: the best
    are checked first, in growing rounds; a search the filters leave little of scans them."""
    candidates = np.flatnonzero(similarity >= MIN_SIMILARITY)
    if conditions is None:
        return _ranked(snapshot, similarity, candidates, SEARCH_LIMIT)
    found: dict[str, float] = {}
    checked = 0
    want = FIRST_CHECK
    while checked < FULL_CHECK:
        ranked = list(_ranked(snapshot, similarity, candidates, want).items())
        admitted = _admitted(connection, conditions, snapshot, [r for r, _ in ranked[checked:]])
        found.update((i, s) for i, s in ranked[checked:] if i in admitted)
        checked = len(ranked)
        if len(found) >= SEARCH_LIMIT or checked >= len(candidates):
            return _best(found)
        want *= 4
    t = semantic_threads.c
    passing = connection.execute(select(t.seq).where(*conditions)).scalars().all()
    rows = candidates[np.isin(snapshot.seqs[candidates], np.asarray(passing, dtype=np.int64))]
    return _ranked(snapshot, similarity, rows, SEARCH_LIMIT)


def _ranked(
    snapshot: Snapshot, similarity: Floats, rows: npt.NDArray[np.int64], count: int
) -> dict[str, float]:
    """The `count` best of `rows` (with every row tied with the last), best first."""
    if len(rows) > count:
        values = similarity[rows]
        cut = np.partition(values, len(values) - count)[len(values) - count]
        rows = rows[values >= cut]
    pairs = zip(snapshot.ids[rows].tolist(), similarity[rows].tolist(), strict=True)
    return dict(sorted(pairs, key=lambda item: (-item[1], item[0])))


def _admitted(
    connection: Connection,
    conditions: list[ColumnElement[bool]],
    snapshot: Snapshot,
    thread_ids: Sequence[str],
) -> set[str]:
    """Which of these threads the filters admit."""
    t = semantic_threads.c
    admitted: set[str] = set()
    for start in range(0, len(thread_ids), IN_BATCH):
        chunk = thread_ids[start : start + IN_BATCH]
        statement = select(t.id).where(*conditions, t.id.in_(chunk))
        admitted.update(connection.execute(statement).scalars())
    return admitted


def _literal_matches(
    connection: Connection,
    conditions: list[ColumnElement[bool]],
    text: str,
    query: npt.NDArray[np.float32],
) -> list[tuple[str, float]]:
    """Threads whose question or answer holds the text (case-blind), with their similarity
    (-inf when not embedded yet)."""
    t, v = semantic_threads.c, thread_vectors.c
    needle = text.lower()
    literal = or_(
        *[func.lower(c).contains(needle, autoescape=True) for c in SEMANTIC_THREADS.searchable]
    )
    statement = (
        select(t.seq, t.id, v.vector)
        .select_from(
            semantic_threads.outerjoin(
                thread_vectors, and_(v.project_id == t.project_id, v.thread_id == t.id)
            )
        )
        .where(*conditions, literal)
        .limit(SEARCH_LIMIT)
    )
    rows = connection.execute(statement).all()
    vectors = [r for r in rows if r.vector is not None]
    embedded = Snapshot.of([segment_of(vectors)], np.ones(len(vectors), dtype=bool))
    scores = dict(zip(embedded.ids.tolist(), similarities(embedded, query).tolist(), strict=True))
    return [(r.id, scores.get(r.id, -np.inf)) for r in rows]


def _best(scores: dict[str, float]) -> dict[str, float]:
    """The SEARCH_LIMIT best, most similar first; equal scores by id, so the order is the
    same on every backend."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:SEARCH_LIMIT]
    return dict(ranked)
