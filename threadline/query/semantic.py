"""Semantic search over threads: the `query` text of a semantic-threads request ranked by
meaning. The `where` filters choose candidates in SQL (on the primary store, where the
thread vectors are); numpy ranks them by cosine similarity of the query text's embedding to
each thread question's; the ids found then restrict and order the real query, on whichever
read path answers it (docs/insights.md, "Search")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
from msgspec import UNSET
from sqlalchemy import Connection, and_, select

from threadline.insights.embed import Vectors, from_blobs
from threadline.query.catalogue import SEMANTIC_THREADS
from threadline.query.compile import QueryCompiler
from threadline.query.sql import sql_of
from threadline.store.tables import semantic_threads, thread_vectors

# Threads a search answers at most (a query's page is 1,000 rows; exports get as many).
SEARCH_LIMIT = 1_000
# Below this cosine a thread is not about the query at all (MiniLM: unrelated text scores
# -0.1 to 0.15).
MIN_SIMILARITY = 0.2
CANDIDATES_PER_READ = 20_000


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
    best_ids: list[str] = []
    best_scores = np.zeros(0, dtype=np.float32)
    result = connection.execution_options(yield_per=CANDIDATES_PER_READ).execute(statement)
    for rows in result.partitions():
        ids = [r[0] for r in rows]
        scores = from_blobs([r[1] for r in rows]) @ query_vector
        best_ids, best_scores = _top([*best_ids, *ids], np.concatenate([best_scores, scores]))
    return best_ids


def _top(ids: list[str], scores: Vectors) -> tuple[list[str], Vectors]:
    keep = scores >= MIN_SIMILARITY
    kept_ids = [i for i, k in zip(ids, keep, strict=True) if k]
    kept = scores[keep]
    # Most similar first; equal scores by id, so the order is the same on every backend.
    order = sorted(range(len(kept_ids)), key=lambda i: (-float(kept[i]), kept_ids[i]))
    order = order[:SEARCH_LIMIT]
    return [kept_ids[i] for i in order], kept[order]
