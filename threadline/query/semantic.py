"""Semantic search over threads: the `query` text of a semantic-threads request ranked by
meaning. On the primary store, numpy scores every thread of the project held in memory
(query.vector_index) by the cosine of the query text's embedding to each thread question's
(score_threads). Then, at once on whichever read path answers analytic reads, the best are
checked against the `where` filters, best first, until a page is found (similar_threads), and
the threads nearest in meaning (LITERAL_POOL of them) or not embedded at all are searched for
the text itself (literal_matches); those holding it rank higher (ranked). The ids restrict and
order the real query (docs/insights.md, "Search")."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
from msgspec import UNSET
from sqlalchemy import ColumnElement, Connection, case, or_, select
from sqlalchemy.sql.util import ClauseAdapter

from threadline.insights.embed import Vectors
from threadline.query.arrays import fetched, registered
from threadline.query.catalogue import SEMANTIC_THREADS
from threadline.query.compile import QueryCompiler
from threadline.query.dialects import sql_of
from threadline.query.vector_index import Floats, Ints, Snapshot, VectorIndex
from threadline.store.tables import semantic_threads

# Threads a search answers at most (a query's page is 1,000 rows; exports get as many).
SEARCH_LIMIT = 1_000
# Below this cosine a thread is not about the query at all (MiniLM: unrelated text scores
# -0.1 to 0.15).
MIN_SIMILARITY = 0.2
# The best threads first checked against the `where` filters; each further round checks four
# times as many, up to FULL_CHECK, beyond which one scan of the filtered rows is cheaper.
FIRST_CHECK = 2_000
FULL_CHECK = 40_000
# Seqs per statement of those checks (each is one bound parameter; SQLite allows 32,766).
ADMIT_BATCH = 10_000
# Added to the similarity of threads whose question or answer contains the query text.
LITERAL_BONUS = 0.5
# The threads searched for the text itself: this many nearest in meaning (with every thread
# tied with the last), and those without a vector. Reading every question and answer of a
# million threads took most of a search (docs/insights.md, "Search at a million threads").
LITERAL_POOL = 50_000


def search_text(body: Any) -> str | None:
    text = getattr(body, "query", UNSET)
    if text in (UNSET, None) or not text.strip():
        return None
    return str(text).strip()


# Threads found by meaning: id -> (similarity, seq).
Similar = dict[str, tuple[float, int]]


@dataclasses.dataclass(frozen=True)
class Scored:
    """Every vector of the project and its similarity to the query text."""

    snapshot: Snapshot
    similarity: Floats


def score_threads(
    connection: Connection,
    *,
    body: Any,
    project_id: str,
    embed: Callable[[str], Vectors],
    index: VectorIndex,
) -> Scored:
    """The body's `query` text against every thread vector of the project (on the primary
    store, where the vectors are)."""
    text = search_text(body)
    assert text is not None
    snapshot = index.snapshot(connection, project_id)
    return Scored(snapshot, similarities(snapshot, quantised(embed(text))))


def literal_matches(
    connection: Connection, *, body: Any, project_id: str, scored: Scored
) -> list[Any]:
    """(seq, id) of the threads the body's filters admit whose question or answer holds its
    `query` text (case-blind), among the LITERAL_POOL threads nearest in meaning and those not
    embedded: the SEARCH_LIMIT that `ranked` ranks first. Any match past those is outranked by
    SEARCH_LIMIT others, so it could never be found. An analytic read, beside similar_threads."""
    text = search_text(body)
    assert text is not None
    # ILIKE where there is one (PostgreSQL, the columnar copy: DuckDB's is ~40 % faster than
    # lower() then LIKE, which copies every text); SQLite gets lower() LIKE lower().
    literal = or_(*[c.icontains(text, autoescape=True) for c in SEMANTIC_THREADS.searchable])
    t = semantic_threads.c
    conditions = _conditions(connection, body, project_id)
    pool, worth = literal_pool(scored)
    if not len(pool):
        return []
    if sql_of(connection).name == "duckdb":
        # DuckDB would read the text of every row in its scan and join the pool after (an
        # `= ANY` is a join there); the text behind a CASE on the joined pool is read only
        # for the pool's rows (~40 against ~90 ms of CPU for 1M rows of 140 characters). The
        # pool comes as a registered numpy array: bound as a list, 50,000 seqs cost ~17 ms.
        with registered(connection, seq=pool, worth=worth) as pooled:
            gated = [case((pooled.c.seq.is_not(None), c)) for c in SEMANTIC_THREADS.searchable]
            literal = or_(*[c.icontains(text, autoescape=True) for c in gated])
            joined = semantic_threads.join(pooled, pooled.c.seq == t.seq)
            statement = select(t.seq, t.id).select_from(joined).where(*conditions, literal)
            best_first = statement.order_by(pooled.c.worth.desc(), t.id).limit(SEARCH_LIMIT)
            return list(connection.execute(best_first).all())
    # The pool first (PostgreSQL orders its conditions by cost; SQLite looks each seq up by
    # its key): the text is then read for those rows only. Every match (the pool bounds
    # them), then the best in Python: the pool's worths are not in this statement.
    among = sql_of(connection).among(t.seq, pool.tolist())
    matches = connection.execute(select(t.seq, t.id).where(among, *conditions, literal)).all()
    if len(matches) <= SEARCH_LIMIT:
        return list(matches)
    by_seq = np.argsort(pool)
    found = np.asarray([seq for seq, _ in matches], dtype=np.int64)
    their_worth = worth[by_seq[np.searchsorted(pool, found, sorter=by_seq)]].tolist()
    best = sorted(zip(their_worth, matches, strict=True), key=lambda w: (-w[0], w[1][1]))
    return [match for _, match in best[:SEARCH_LIMIT]]


def literal_pool(scored: Scored) -> tuple[Ints, Floats]:
    """Seqs of the threads literal_matches reads: the LITERAL_POOL most similar (alive) ones,
    with every thread tied with the last, and those without a vector (in no particular order);
    and each one's worth as `ranked` counts it before the literal bonus (its similarity, or 0
    below MIN_SIMILARITY or without a vector)."""
    snapshot, similarity = scored.snapshot, scored.similarity
    # Dead rows score -inf, so they fall below the cut unless fewer than LITERAL_POOL live.
    if len(similarity) > LITERAL_POOL:
        cut = np.partition(similarity, len(similarity) - LITERAL_POOL)[-LITERAL_POOL]
        rows = np.flatnonzero((similarity >= cut) & snapshot.alive)
    else:
        rows = np.flatnonzero(snapshot.alive)
    near = similarity[rows]
    worth = np.where(near >= MIN_SIMILARITY, near, 0.0)
    unembedded = np.zeros(len(snapshot.unembedded), dtype=np.float64)
    # A thread without a vector has no row: the two lists never share a seq.
    seqs = np.concatenate([snapshot.seqs[rows], snapshot.unembedded])
    return seqs, np.concatenate([worth, unembedded])


def similar_threads(
    connection: Connection, *, body: Any, project_id: str, scored: Scored
) -> Similar:
    """Similarity of the SEARCH_LIMIT threads most similar to the body's `query` that its
    filters admit. An analytic read."""
    filtered = body.where not in (UNSET, None)
    conditions = _conditions(connection, body, project_id) if filtered else None
    return _most_similar(connection, scored.snapshot, scored.similarity, conditions)


def ranked(scored: Scored, similar: Similar, literal: Sequence[Any]) -> list[int]:
    """Seqs of the threads found, most similar first (SEARCH_LIMIT at most): `similar` (from
    similar_threads), and `literal` (from literal_matches) ranked higher. Seqs, not ids: the
    page's statement then picks and orders its rows by an integer (half the CPU of the ids on
    the columnar copy, docs/insights.md)."""
    scores = dict(similar)
    snapshot, similarity = scored.snapshot, scored.similarity
    # The words themselves count too: a product or error name typed exactly finds its threads
    # (also those not embedded yet), ahead of threads that are merely similar.
    rows = snapshot.rows_of(np.asarray([m[0] for m in literal], dtype=np.int64)).tolist()
    for (seq, thread_id), row in zip(literal, rows, strict=True):
        score = float(similarity[row]) if row >= 0 else 0.0
        scores[thread_id] = ((score if score >= MIN_SIMILARITY else 0.0) + LITERAL_BONUS, seq)
    return [seq for _, seq in _best(scores).values()]


def _conditions(connection: Connection, body: Any, project_id: str) -> list[ColumnElement[bool]]:
    """The body's filters (and the project's), without its search text."""
    unsearched = msgspec.structs.replace(body, query=UNSET)
    return QueryCompiler(SEMANTIC_THREADS, sql_of(connection), unsearched, project_id).where


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
) -> Similar:
    """The SEARCH_LIMIT most similar threads of the snapshot that the filters admit. On the
    columnar copy every admitted seq is read at once; on the primary store the best are checked
    first, in growing rounds, and a search the filters leave little of reads them all."""
    candidates = np.flatnonzero(similarity >= MIN_SIMILARITY)
    if conditions is None:
        return _scores(
            snapshot, similarity, _ranked(snapshot, similarity, candidates, SEARCH_LIMIT)
        )
    if sql_of(connection).name == "duckdb":
        # The copy hands every admitted seq over as one numpy array in a few milliseconds
        # (400,000 of a million: ~6 ms), cheaper than even the first round of checks below.
        return _among_passing(snapshot, similarity, candidates, _passing(connection, conditions))
    found: list[int] = []
    checked = 0
    want = FIRST_CHECK
    while checked < FULL_CHECK:
        ranked = _ranked(snapshot, similarity, candidates, min(want, FULL_CHECK))
        batch = ranked[checked:]
        seqs = snapshot.seqs[batch].tolist()
        admitted = _admitted(connection, conditions, seqs)
        found += [row for row, seq in zip(batch.tolist(), seqs, strict=True) if seq in admitted]
        checked = len(ranked)
        if len(found) >= SEARCH_LIMIT or checked >= len(candidates):
            return _scores(snapshot, similarity, np.asarray(found[:SEARCH_LIMIT], dtype=np.int64))
        want *= 4
    return _among_passing(snapshot, similarity, candidates, _passing(connection, conditions))


def _passing(connection: Connection, conditions: list[ColumnElement[bool]]) -> Ints:
    """The seqs of every thread the filters admit (from the columnar copy as numpy columns,
    without a row object each)."""
    statement = select(semantic_threads.c.seq).where(*conditions)
    if sql_of(connection).name == "duckdb":
        seqs: Ints = fetched(connection, statement)["seq"]
        return seqs
    return np.asarray(connection.execute(statement).scalars().all(), dtype=np.int64)


def _among_passing(
    snapshot: Snapshot, similarity: Floats, candidates: Ints, passing: Ints
) -> Similar:
    """The SEARCH_LIMIT most similar of the candidate rows whose seq is in `passing`."""
    rows = candidates[np.isin(snapshot.seqs[candidates], passing)]
    return _scores(
        snapshot, similarity, _ranked(snapshot, similarity, rows, SEARCH_LIMIT)[:SEARCH_LIMIT]
    )


def _ranked(
    snapshot: Snapshot, similarity: Floats, rows: npt.NDArray[np.int64], count: int
) -> npt.NDArray[np.int64]:
    """The `count` best of `rows` (with every row tied with the last), best first; equal
    scores by id, so the order is the same on every backend."""
    if len(rows) > count:
        values = similarity[rows]
        cut = np.partition(values, len(values) - count)[len(values) - count]
        rows = rows[values >= cut]
    keys = zip(similarity[rows].tolist(), snapshot.ids[rows].tolist(), rows.tolist(), strict=True)
    ordered = sorted(keys, key=lambda key: (-key[0], key[1]))
    return np.asarray([row for _, _, row in ordered], dtype=np.int64)


def _scores(snapshot: Snapshot, similarity: Floats, rows: npt.NDArray[np.int64]) -> Similar:
    scored = zip(similarity[rows].tolist(), snapshot.seqs[rows].tolist(), strict=True)
    return dict(zip(snapshot.ids[rows].tolist(), scored, strict=True))


def _admitted(
    connection: Connection, conditions: list[ColumnElement[bool]], seqs: Sequence[int]
) -> set[int]:
    """Which of these threads (by seq) the filters admit."""
    t = semantic_threads.c
    admitted: set[int] = set()
    for start in range(0, len(seqs), ADMIT_BATCH):
        chunk = seqs[start : start + ADMIT_BATCH]
        if connection.dialect.name == "sqlite":
            # Given `seq IN (...)` beside the filters, SQLite would scan the filters' index
            # (a period: 400,000 rows of a million) instead of looking the seqs up; a
            # subquery with a LIMIT is not merged into the outer query, so it looks them up.
            rows = select(semantic_threads).where(t.seq.in_(chunk)).limit(len(chunk)).subquery()
            adapter = ClauseAdapter(rows)
            statement = select(rows.c.seq).where(*[adapter.traverse(c) for c in conditions])
        else:
            statement = select(t.seq).where(*conditions, sql_of(connection).among(t.seq, chunk))
        admitted.update(connection.execute(statement).scalars())
    return admitted


def _best(scores: Similar) -> Similar:
    """The SEARCH_LIMIT best, most similar first; equal scores by id, so the order is the
    same on every backend."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1][0], item[0]))[:SEARCH_LIMIT]
    return dict(ranked)
