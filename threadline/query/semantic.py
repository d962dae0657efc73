"""Semantic search over threads: the `query` text of a semantic-threads request ranked by
meaning. The `where` filters choose candidates in SQL (on the primary store, where the
thread vectors are); numpy ranks them by cosine similarity of the query text's embedding to
each thread question's; the ids found then restrict and order the real query, on whichever
read path answers it (docs/insights.md, "Search")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy import Connection, and_, func, or_, select

from threadline.insights.embed import Vectors, from_blobs
from threadline.query.catalogue import SEMANTIC_THREADS
from threadline.query.compile import QueryCompiler
from threadline.query.dialects import sql_of
from threadline.store.tables import semantic_threads, thread_vectors

# Threads a search answers at most (a query's page is 1,000 rows; exports get as many).
SEARCH_LIMIT = 1_000
# Below this cosine a thread is not about the query at all (MiniLM: unrelated text scores
# -0.1 to 0.15).
MIN_SIMILARITY = 0.2
CANDIDATES_PER_READ = 20_000
# Added to the similarity of threads whose question or answer contains the query text.
LITERAL_BONUS = 0.5


def search_text(body: Any) -> str | None:
    text = getattr(body, "query", UNSET)
    if text in (UNSET, None) or not text.strip():
        return None
    return str(text).strip()


def rank_threads(
    connection: Connection, *, body: Any, project_id: str, embed: Callable[[str], Vectors]
) -> list[str]:
    """Ids of the threads matching the body's filters, most similar to its `query` first."""
    text = search_text(body)
    assert text is not None
    unsearched = msgspec.structs.replace(body, query=UNSET)
    conditions = QueryCompiler(SEMANTIC_THREADS, sql_of(connection), unsearched, project_id).where
    t, v = semantic_threads.c, thread_vectors.c
    statement = (
        select(t.id, v.vector)
        .select_from(
            semantic_threads.join(
                thread_vectors, and_(v.project_id == t.project_id, v.thread_id == t.id)
            )
        )
        .where(*conditions)
    )
    query_vector = embed(text)
    scores: dict[str, float] = {}
    result = connection.execution_options(yield_per=CANDIDATES_PER_READ).execute(statement)
    for rows in result.partitions():
        ids = [r[0] for r in rows]
        similarity = from_blobs([r[1] for r in rows]) @ query_vector
        for thread_id, score in zip(ids, similarity.tolist(), strict=True):
            if score >= MIN_SIMILARITY:
                scores[thread_id] = score
        scores = _best(scores)
    # The words themselves count too: a product or error name typed exactly finds its threads
    # (also those not embedded yet), ahead of threads that are merely similar.
    needle = text.lower()
    literal = or_(
        *[func.lower(c).contains(needle, autoescape=True) for c in SEMANTIC_THREADS.searchable]
    )
    matches = select(t.id).where(*conditions, literal).limit(SEARCH_LIMIT)
    for thread_id in connection.execute(matches).scalars():
        scores[thread_id] = scores.get(thread_id, 0.0) + LITERAL_BONUS
    return list(_best(scores))


def _best(scores: dict[str, float]) -> dict[str, float]:
    """The SEARCH_LIMIT best, most similar first; equal scores by id, so the order is the
    same on every backend."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:SEARCH_LIMIT]
    return dict(ranked)
