"""Conversation text search through the primary store's full-text indexes: one document per
conversation (migration 0018: SQLite's FTS5 table `conversation_search`, keyed by time and
marked with its project since 0019; PostgreSQL's table of the same name with a GIN index),
and, for the feedback filter, the index of messages (migration 0015: FTS5 table
`message_search`; the tsvector column `search_document` on messages). The columnar copy has no
such index (DuckDB's fts extension cannot be installed offline), so this step always runs on
the primary store; the rows of the page it picks are then read as any other table's
(docs/decisions.md, "Conversation text search").

What people can type (docs/dashboard.md): words, each matched as the start of a word ("export"
finds "exports"), all of them in one conversation; "quoted phrases", matched word for word
within one message; case and accents do not count; Chinese, Japanese and Korean text matches any
run of its characters. With the feedback filter, every word in the one rated message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Select,
    TextClause,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BooleanClauseList

from threadline.store.search_text import (
    CONVERSATION_INDEX,
    CONVERSATION_MAP,
    POSTGRES_COLUMN,
    SQLITE_KEY_SEQ_BITS,
    SQLITE_KEY_SEQ_MASK,
    SQLITE_KEY_SLOT_US,
    UNSPACED,
    fold,
    sqlite_project_word,
    sqlite_slot,
    words,
)
from threadline.store.tables import conversations, messages

# A phrase in quotes, or a run of anything else up to a space or a quote.
_CHUNK = re.compile(r'"([^"]*)"?|([^\s"]+)')
_UNSPACED_WORD = re.compile(f"^[{UNSPACED}]$")
# At most this many terms of a query are searched (each one is a lookup in the index).
MAX_TERMS = 16
# Matches are ranked only when at most this many conversations match, else listed newest
# first: ranking takes a second statement that scores every matching message (bm25 or
# ts_rank); skipping that was 15-30 % of a common word's search (docs/performance.md).
RANK_AT_MOST = 1_000

# `rank`: bm25 by default; unlike bm25(), a column stays usable when SQLite merges the
# statement into the grouping around it.
_fts = table("message_search", column("rowid"), column("rank"))
_search_document: ColumnClause[Any] = column(POSTGRES_COLUMN)
_map = table(CONVERSATION_MAP, column("message_seq"), column("conversation_seq"))
# One document per conversation (migration 0018): on SQLite an FTS5 table whose rowid is a time
# key holding the conversation's seq (0019, store.search_text.sqlite_key); on PostgreSQL a table
# that also holds what the search filters and sorts on.
_conversation_fts = table(CONVERSATION_INDEX, column("rowid"), column("rank"))
_conversation_search = table(
    CONVERSATION_INDEX,
    column("conversation_seq"),
    column("project_id"),
    column("id"),
    column("first_message_at"),
    column("created_at"),
    column("document"),
)
# The conversations' columns `_conversation_search` holds too (PostgreSQL): conditions on these
# alone are answered from it, with no conversation row read.
_KEYS = frozenset({"project_id", "id", "first_message_at", "created_at"})


@dataclasses.dataclass(frozen=True)
class Term:
    """Words that must follow each other in a message; the last may be the start of a word."""

    words: tuple[str, ...]
    prefix: bool


def parse(query: str) -> list[Term]:
    """The terms of what was typed. Punctuation separates words and is not searched, so a
    query of punctuation alone has no terms (and matches nothing)."""
    terms: list[Term] = []
    for quoted, bare in _CHUNK.findall(query):
        found = tuple(words(fold(quoted or bare)))
        if not found:
            continue
        # A character of an unspaced script is a whole word of the index: no prefix needed.
        prefix = not quoted and not _UNSPACED_WORD.match(found[-1])
        terms.append(Term(found, prefix))
    return terms[:MAX_TERMS]


def fts5_query(terms: Sequence[Term]) -> str:
    """An FTS5 MATCH expression: each term a phrase (words are letters, digits and marks
    only, so nothing in them needs escaping)."""
    return " AND ".join(
        '"' + " ".join(term.words) + '"' + (" *" if term.prefix else "") for term in terms
    )


def tsquery(terms: Sequence[Term], *, phrases: bool = True) -> str:
    """The same as a PostgreSQL tsquery in to_tsquery's syntax; with `phrases` False, each
    phrase's words need only all be there (`&`), in any order and place."""
    joiner = " <-> " if phrases else " & "
    parts = []
    for term in terms:
        lexemes = [f"'{word}'" for word in term.words]
        if term.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + joiner.join(lexemes) + ")")
    return " & ".join(parts)


def _ts_query(terms: Sequence[Term], *, phrases: bool = True) -> ColumnElement[Any]:
    """tsquery(terms) as PostgreSQL's tsquery value, in the 'simple' configuration."""
    return func.to_tsquery(literal_column("'simple'::regconfig"), tsquery(terms, phrases=phrases))


def _phrases_in_a_message(terms: Sequence[Term], row: Any) -> list[ColumnElement[bool]]:
    """For each phrase of `terms` (two words or more: a quoted phrase, or a run of Chinese,
    Japanese or Korean), that one message of the conversation `row` (PostgreSQL's
    conversation_search) holds it, checked in the index of messages. A conversation's document
    cannot say so on PostgreSQL: a tsvector keeps at most 256 positions of a word and none past
    16,383, so in a long conversation a later message's phrase has lost its positions
    (docs/decisions.md)."""
    m = messages.c
    checks: list[ColumnElement[bool]] = []
    for term in terms:
        if len(term.words) < 2:
            continue
        phrase = _ts_query([term])
        checks.append(
            select(m.seq)
            .where(
                m.project_id == row.project_id,
                m.conversation_id == row.id,
                _search_document.op("@@")(phrase),
            )
            .exists()
        )
    return checks


def _message_hits(
    connection: Connection,
    terms: Sequence[Term],
    project_id: str,
    message_conditions: Sequence[ColumnElement[bool]],
    *,
    scored: bool,
) -> Any:
    """(conversation_seq[, score]) of every message matching the terms (and
    `message_conditions`, on `messages`): the seq of its conversation row from the map of
    migration 0017, so matches are grouped by an integer and their conversations found by
    primary key (the caller keeps those of the project). A lower score is a better match
    (bm25 on SQLite, minus ts_rank on PostgreSQL). Unscored, neither index computes a score:
    that is most of the cost of a common word (docs/performance.md)."""
    m = messages.c
    if connection.dialect.name == "postgresql":
        query = _ts_query(terms)
        score = -func.ts_rank(_search_document, query)
        return (
            select(_map.c.conversation_seq, *([score.label("score")] if scored else []))
            .select_from(messages.join(_map, _map.c.message_seq == m.seq))
            .where(m.project_id == project_id, _search_document.op("@@")(query))
            .where(*message_conditions)
        )
    # LIMIT -1 (none): a subquery with a LIMIT is never merged into the statement around it,
    # so SQLite reads the index's matches first and looks each up in the map by its seq.
    # Merged, it walked every message of the project and asked the index about each one (10M
    # events: 1.9 million lookups).
    found = (
        select(_fts.c.rowid, *([_fts.c.rank] if scored else []))
        .where(text("message_search MATCH :fts").bindparams(fts=fts5_query(terms)))
        .limit(-1)
        .subquery("found")
    )
    hits = found.join(_map, _map.c.message_seq == found.c.rowid)
    if message_conditions:  # only then are the messages' own rows read
        hits = hits.join(messages, m.seq == found.c.rowid)
    return (
        select(_map.c.conversation_seq, *([found.c.rank.label("score")] if scored else []))
        .select_from(hits)
        .where(*message_conditions)
    )


@dataclasses.dataclass(frozen=True)
class Ranked:
    """One page of matching conversation ids, best first, and how many match in all."""

    ids: list[str]
    total: int


def ranked_conversations(
    connection: Connection,
    *,
    project_id: str,
    query: str,
    conditions: Sequence[ColumnElement[bool]],
    message_conditions: Sequence[ColumnElement[bool]] = (),
    limit: int,
    offset: int = 0,
    rank_at_most: int = RANK_AT_MOST,
) -> Ranked:
    """The conversations `conditions` admit that match `query`, every one counted and
    reachable by paging. When at most `rank_at_most` conversations match, best match first
    (then newest first); when more do, newest first: ranking every match of a common word is
    what made it slow, and a word found in tens of thousands of conversations ranks them poorly
    anyway (docs/decisions.md).

    A conversation matches when its messages hold every term, each phrase within one message
    (its document, migration 0018). With `message_conditions` (on `messages`), one message must
    hold every term and meet them: that is searched in the index of messages."""
    terms = parse(query)
    if not terms:
        return Ranked([], 0)
    if connection.dialect.name == "postgresql":
        # For this transaction only. JIT compiled each search's plan for ~40 ms at 10M events,
        # more than it saved; sorting a common word's 100,000 matches by time spilled to disk
        # with the default 4 MB (docs/performance.md). Plans for the words searched: psycopg
        # prepares a statement run five times on a connection, and PostgreSQL then reuses a
        # plan made for no word in particular, which read a common word's matches the way a
        # rare word's are read (10M events: `api key` page 5 took 600-1,160 ms, not ~100).
        connection.execute(
            text(
                "SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true), "
                "set_config('plan_cache_mode', 'force_custom_plan', true)"
            )
        )
    search = _Search(terms, project_id, conditions, message_conditions, limit, offset)
    page = _message_page if message_conditions else _conversation_page
    newest = page(connection, search)
    if newest.total > rank_at_most or newest.total == 0:
        return newest
    ranked = page(connection, search, scored=True)
    # The matches are the same; only their order differs.
    return Ranked(ranked.ids, newest.total)


@dataclasses.dataclass(frozen=True)
class _Search:
    """What one search asks for, whichever index answers it."""

    terms: Sequence[Term]
    project_id: str
    conditions: Sequence[ColumnElement[bool]]
    message_conditions: Sequence[ColumnElement[bool]]
    limit: int
    offset: int


def _first(row: Any) -> ColumnElement[Any]:
    """The time a conversation sorts by: its first message's, else its creation's."""
    return func.coalesce(row.first_message_at, row.created_at)


def _result(connection: Connection, matching: Select[Any], page: Select[Any]) -> Ranked:
    """Run `page` (ids and the window total); past the last page, count `matching`."""
    rows = connection.execute(page).all()
    if rows:
        return Ranked([row.id for row in rows], int(rows[0].total))
    # Past the last page (or nothing matched): the count alone.
    count = select(func.count()).select_from(matching.subquery())
    return Ranked([], int(connection.execute(count).scalar_one()))


def _on_keys(conditions: Sequence[ColumnElement[bool]]) -> list[ColumnElement[bool]] | None:
    """`conditions` on `_conversation_search`'s columns instead of the conversations', when
    they read no other column; else None."""
    named: list[Any] = [
        element
        for condition in conditions
        for element in visitors.iterate(condition)
        if getattr(element, "table", None) is conversations
    ]
    if any(element.name not in _KEYS for element in named):
        return None

    def swap(element: Any, **_: Any) -> Any:
        if getattr(element, "table", None) is conversations:
            return _conversation_search.c[element.name]
        return None

    options: dict[str, Any] = {}
    return [visitors.replacement_traverse(condition, options, swap) for condition in conditions]


def _conversation_page(connection: Connection, search: _Search, *, scored: bool = False) -> Ranked:
    """One page of the conversations whose document matches and their total: by score then
    newest if `scored`, else newest first. Matches are conversations: nothing to group."""
    c = conversations.c
    terms, project_id, conditions = search.terms, search.project_id, search.conditions
    limit, offset = search.limit, search.offset
    if connection.dialect.name == "postgresql":
        s = _conversation_search.c
        # The document says which conversations hold every word; each phrase is then looked
        # for in their messages (_phrases_in_a_message).
        query = _ts_query(terms, phrases=False)
        on_keys = _on_keys(conditions)
        matching: Select[Any] = select(s.id).where(
            s.project_id == project_id,
            s.document.op("@@")(query),
            *_phrases_in_a_message(terms, s),
        )
        if on_keys is None:  # conditions on other columns: their conversation rows are read
            matching = matching.join(conversations, c.seq == s.conversation_seq).where(*conditions)
        else:
            matching = matching.where(*on_keys)
        newest = [_first(s).desc(), s.id.desc()]
        phrases = any(len(term.words) > 1 for term in terms)
        if scored or phrases:
            # One statement, the total a window over the matches. Ranked: at most
            # rank_at_most of them. With a phrase: its check in the messages (a semi-join)
            # would run in both statements below, which cost a phrase of Chinese, Japanese or
            # Korean (`課金`, 6,274 matches at 10M events) more than the sort saves.
            page = matching.add_columns(func.count().over().label("total"))
            order = [-func.ts_rank(s.document, query)] if scored else []
            page = page.order_by(*order, *newest)
            return _result(connection, matching, page.limit(limit).offset(offset))
        # Words alone: the count, then the page in a statement of its own. PostgreSQL then
        # walks the index on (project, time, id) of migration 0020 newest first until the
        # page's last match, where one statement sorted every match for its window total
        # (`api key` over 90 days at 10M events: ~600 rows read for page 5 instead of 115,000
        # sorted; a rare word's few matches are still found through the GIN index and sorted;
        # docs/performance.md, i-pgsearch).
        count = select(func.count()).select_from(matching.subquery())
        total = int(connection.execute(count).scalar_one())
        if offset >= total:
            return Ranked([], total)
        page = matching.order_by(*newest).limit(limit).offset(offset)
        return Ranked(list(connection.execute(page).scalars()), total)
    return _sqlite_conversation_page(connection, search, scored=scored)


def _sqlite_conversation_page(
    connection: Connection, search: _Search, *, scored: bool = False
) -> Ranked:
    """SQLite's page: the period is a range of the documents' time keys (migration 0019). When
    it and the project are all the conditions, MATCH keeps the project's documents (its word)
    and the index alone counts the matches and gives the newest first; else each match's
    conversation is read for the rest."""
    keys = _key_range(search.conditions, search.project_id)
    match = fts5_query(search.terms)
    if keys.exact:  # else each match's row is read anyway, and says its project
        match = f'"{sqlite_project_word(search.project_id)}" AND {match}'
    fts = _conversation_fts.c
    in_range = (
        text("conversation_search MATCH :fts").bindparams(fts=match),
        fts.rowid.between(keys.low, keys.high),
    )
    c = conversations.c
    # LIMIT -1 (none): the index's matches are read first and each conversation found by its
    # primary key (merged, SQLite would ask the index about every conversation of the project).
    scores = [fts.rank] if scored else []  # bm25 of the text (0019's default rank)
    found = select(fts.rowid, *scores).where(*in_range).limit(-1).subquery("found")
    if not keys.exact:
        matching = (
            select(c.id, func.count().over().label("total"))
            .join(found, c.seq == found.c.rowid.op("&")(SQLITE_KEY_SEQ_MASK))
            .where(c.project_id == search.project_id, *search.conditions)
        )
        order = [found.c.rank] if scored else []
        page = matching.order_by(*order, _first(c).desc(), c.id.desc())
        return _result(connection, matching, page.limit(search.limit).offset(search.offset))
    total = connection.execute(select(func.count()).where(*in_range)).scalar_one()
    if search.offset >= total:
        return Ranked([], total)
    if scored:
        page = select(c.id).join(found, c.seq == found.c.rowid.op("&")(SQLITE_KEY_SEQ_MASK))
        page = page.order_by(found.c.rank, _first(c).desc(), c.id.desc())
    else:
        seqs = _newest_candidates(connection, in_range, keys, search.offset + search.limit)
        page = select(c.id).where(c.seq.in_(seqs)).order_by(_first(c).desc(), c.id.desc())
    ids = connection.execute(page.limit(search.limit).offset(search.offset)).scalars()
    return Ranked(list(ids), total)


@dataclasses.dataclass(frozen=True)
class _Keys:
    """A range of SQLite's document keys (inclusive) holding every conversation the conditions
    admit; `exact` if it holds no others (the conditions are the project and a period of whole
    quarter hours, or none)."""

    low: int
    high: int
    exact: bool


# Matches read past a page's last, newest first, to finish the quarter hour it ends in (one
# holds ~60 conversations at 10M events over 90 days, ~290 at 50M; a common word matches a fifth).
_TIES = 256
_TIME_BOUNDS = {operators.ge: 0, operators.gt: 1, operators.lt: 0, operators.le: 1}


def _key_range(conditions: Sequence[ColumnElement[bool]], project_id: str) -> _Keys:
    """The keys of the conversations `conditions` admit: a period on their time (as the
    dashboard and the API's time filters compile) narrows them; other conditions are checked
    on the conversations' rows."""
    start: int | None = None  # first time admitted
    end: int | None = None  # first time past
    exact = True
    first = _first(conversations.c)
    for condition in _and_parts(conditions):
        found = _time_bound(condition, first)
        if found is not None:
            is_start, bound = found
            if is_start:
                start = bound if start is None else max(start, bound)
            else:
                end = bound if end is None else min(end, bound)
        elif _value_of(condition, operators.eq, conversations.c.project_id) != project_id:
            exact = False
    low = 0 if start is None else sqlite_slot(start) << SQLITE_KEY_SEQ_BITS
    high = (1 << 63) - 1
    if end is not None:
        high = (sqlite_slot(end - 1) << SQLITE_KEY_SEQ_BITS) | SQLITE_KEY_SEQ_MASK
    return _Keys(low, high, exact and _slot_start(start) and _slot_start(end))


def _value_of(condition: Any, operator: Any, left: ColumnElement[Any]) -> Any:
    """The value `condition` compares `left` with by `operator`; None if it is no such
    comparison."""
    if getattr(condition, "operator", None) is not operator:
        return None
    if not isinstance(getattr(condition, "left", None), ColumnElement):
        return None
    if not condition.left.compare(left):
        return None
    return getattr(condition.right, "value", None)


def _time_bound(condition: Any, first: ColumnElement[Any]) -> tuple[bool, int] | None:
    """(whether it is a start, the bound of a half-open period) of a condition comparing the
    conversations' time with an integer; None for any other condition."""
    for operator, shift in _TIME_BOUNDS.items():
        value = _value_of(condition, operator, first)
        if type(value) is int:
            return operator in (operators.ge, operators.gt), value + shift
    return None


def _slot_start(bound: int | None) -> bool:
    """A bound the keys hold exactly: a quarter hour's start, inside the keys' clamped span."""
    if bound is None:
        return True
    return bound % SQLITE_KEY_SLOT_US == 0 and 1 <= sqlite_slot(bound) == (
        bound // SQLITE_KEY_SLOT_US
    )


def _and_parts(conditions: Sequence[ColumnElement[bool]]) -> list[Any]:
    """The conditions, every AND taken apart."""
    parts: list[Any] = []
    for condition in conditions:
        if isinstance(condition, BooleanClauseList) and condition.operator is operators.and_:
            parts += _and_parts(list(condition.clauses))
        else:
            parts.append(condition)
    return parts


def _newest_candidates(
    connection: Connection,
    in_range: tuple[TextClause, ColumnElement[bool]],
    keys: _Keys,
    count: int,
) -> list[int]:
    """The seqs of the matches that can be among the newest `count`: those of the quarter hour
    of the `count`-th match in descending key order and after. Keys order by quarter hour, not
    by the exact time and id the page sorts by, so that quarter hour is read whole: in the same
    statement when it ends within _TIES matches past the `count`-th, else in a second."""
    fts = _conversation_fts.c
    newest = select(fts.rowid).where(*in_range).order_by(fts.rowid.desc())
    rows = list(connection.execute(newest.limit(count + _TIES)).scalars())
    if len(rows) > count:
        slot = rows[count - 1] >> SQLITE_KEY_SEQ_BITS
        if len(rows) == count + _TIES and rows[-1] >> SQLITE_KEY_SEQ_BITS == slot:
            low = max(keys.low, slot << SQLITE_KEY_SEQ_BITS)
            rest = select(fts.rowid).where(in_range[0], fts.rowid.between(low, keys.high))
            rows = list(connection.execute(rest).scalars())
        rows = [row for row in rows if row >> SQLITE_KEY_SEQ_BITS >= slot]
    return [row & SQLITE_KEY_SEQ_MASK for row in rows]


def _message_page(connection: Connection, search: _Search, *, scored: bool = False) -> Ranked:
    """One page of the conversations with a message matching the terms and
    `message_conditions`, and their total: by best score then newest if `scored`, else newest
    first."""
    hits = _message_hits(
        connection, search.terms, search.project_id, search.message_conditions, scored=scored
    ).subquery()
    c = conversations.c
    project_id, conditions = search.project_id, search.conditions
    limit, offset = search.limit, search.offset
    if scored:
        best = (
            select(hits.c.conversation_seq, func.min(hits.c.score).label("score"))
            .group_by(hits.c.conversation_seq)
            .subquery("best")
        )
        order: list[ColumnElement[Any]] = [best.c.score]
    else:
        best = select(hits.c.conversation_seq).distinct().subquery("best")
        order = []
    matching: Select[Any] = (
        select(c.id, func.count().over().label("total"))
        .join(best, best.c.conversation_seq == c.seq)
        .where(c.project_id == project_id, *conditions)
    )
    page = matching.order_by(*order, _first(c).desc(), c.id.desc())
    return _result(connection, matching, page.limit(limit).offset(offset))
