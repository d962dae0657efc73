"""Conversation text search through the full-text index (query.text_search, migration 0015): what
a query matches in every language the widget sends, ranking, paging past 1,000 matches, the
filters beside it, and the index kept in step with every write. On SQLite and PostgreSQL, with
the same answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import pytest
from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy import text as sql_text

from threadline.query.text_search import (
    RANK_AT_MOST,
    Ranked,
    Term,
    fts5_query,
    parse,
    ranked_conversations,
)
from threadline.store.conversations import upsert_conversation
from threadline.store.engine import Database
from threadline.store.tables import conversations, messages
from threadline.wire.conversations import ConversationIn
from threadline.wire.decode import decode

DAY_US = 86_400_000_000
JANUARY_1_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _post(db: Database, conversation_id: str, *texts: Any, project: str = "p", at: int = 0) -> None:
    """A conversation through the real write path (store.conversations); a text that is a list
    is array content (OpenAI parts)."""
    when = f"2026-01-{1 + at:02d}T00:00:00.000Z"
    body = {
        "id": conversation_id,
        "type": "openai",
        "createdAt": when,
        "messages": [
            {"id": f"{conversation_id}-{n}", "role": "user", "content": text, "createdAt": when}
            for n, text in enumerate(texts)
        ],
    }
    with db.writer.begin() as connection:
        upsert_conversation(
            connection,
            project_id=project,
            integration_id="i",
            key_kind="api",
            body=decode(msgspec.json.encode(body), ConversationIn),
            max_messages=1_000,
        )


def _search(
    db: Database,
    query: str,
    *,
    project: str = "p",
    conditions: Sequence[ColumnElement[bool]] = (),
    limit: int = 50,
    offset: int = 0,
    rank_at_most: int = RANK_AT_MOST,
) -> Ranked:
    with db.reader.connect() as connection:
        return ranked_conversations(
            connection,
            project_id=project,
            query=query,
            conditions=conditions,
            limit=limit,
            offset=offset,
            rank_at_most=rank_at_most,
        )


def _found(db: Database, query: str) -> set[str]:
    return set(_search(db, query).ids)


CORPUS = {
    "en": "How do I export my data to CSV?",
    "fr": "Comment créer un RÉSUMÉ du café ?",
    "de": "ÜBER die Straße zum Ärger",
    "ru": "Я хочу экспортировать данные",
    "zh": "如何导出数据到CSV文件",
    "ja": "データをエクスポートする方法",
    "ko": "데이터를 내보내는 방법",
    "hi": "हिन्दी भाषा में खोज",
    "mixed": "Exporting 导出 to Café Müller",
    # Punctuation inside a token of PostgreSQL's parser (e-mail, host, URL, path, version).
    "joined": "Mail help@acme.io, see https://docs.acme.io/v2.1/setup or ~/acme_cli/config.yml",
}


@pytest.fixture
def corpus(db: Database) -> Database:
    for at, (name, text) in enumerate(CORPUS.items()):
        _post(db, name, text, at=at)
    _post(db, "elsewhere", "export café 导出", project="other")
    return db


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("export", {"en", "mixed"}),  # a word is the start of words: "exporting" too
        ("EXPORT csv", {"en"}),  # every word, in one conversation; case does not count
        ("cafe", {"fr", "mixed"}),  # nor accents, either way
        ("résumé", {"fr"}),
        ("uber strasse", set()),  # ß is a letter of its own, as in both indexes
        ("über straße", {"de"}),
        ("muller", {"mixed"}),
        ("экспорт", {"ru"}),
        ("导出", {"zh", "mixed"}),  # two characters of a longer run
        ("数据", {"zh"}),
        ("导出数据", {"zh"}),
        ("数导", set()),  # the characters in this order only
        ("エクスポート", {"ja"}),
        ("データ", {"ja"}),
        ("데이터", {"ko"}),  # Korean without its particle
        ("내보내", {"ko"}),
        ("हिन्दी", {"hi"}),
        ("csv文件", {"zh"}),  # scripts mixed in one word
        ('"export my data"', {"en"}),  # a phrase, word for word
        ('"export data"', set()),
        ('"export"', {"en"}),  # quoted: the whole word only
        ("?!", set()),  # nothing searchable
        ("acme", {"joined"}),  # in an e-mail address, a host, a path: punctuation splits words
        ("help@acme.io", {"joined"}),
        ("acme.io", {"joined"}),
        ("v2.1", {"joined"}),
        ("docs.acme.io/v2", {"joined"}),
        ("cli config", {"joined"}),
        ('"acme.io/v2.1"', {"joined"}),  # as a phrase, word for word
        ('"acme v2"', set()),
    ],
)
def test_what_a_query_finds(corpus: Database, query: str, expected: set[str]) -> None:
    assert _found(corpus, query) == expected


def test_the_best_match_comes_first_then_the_newest(db: Database) -> None:
    _post(db, "once", "a long question that mentions the refund policy once among many words", at=0)
    _post(db, "often", "refund refund refund", at=1)
    _post(db, "also-once", "another long question about the refund of many other things", at=2)
    _post(db, "unrelated", "nothing to see", at=3)
    ranked = _search(db, "refund")
    assert ranked.ids[0] == "often"
    assert set(ranked.ids) == {"often", "once", "also-once"}
    assert ranked.total == 3
    # Equal scores: the newest first.
    _post(db, "twin-old", "zebra", at=4)
    _post(db, "twin-new", "zebra", at=5)
    assert _search(db, "zebra").ids == ["twin-new", "twin-old"]


def test_more_matches_than_are_ranked_are_listed_newest_first(db: Database) -> None:
    _post(db, "often", "refund refund refund", at=0)
    _post(db, "once", "a long question that mentions the refund policy once among many words", at=1)
    _post(db, "also-once", "another long question about the refund of many other things", at=2)
    _post(db, "elsewhere", "refund refund refund", project="other", at=3)
    # Three conversations of the project match: ranked at three, newest first at two.
    assert _search(db, "refund", rank_at_most=3).ids[0] == "often"
    newest = _search(db, "refund", rank_at_most=2)
    assert newest == Ranked(["also-once", "once", "often"], 3)
    assert _search(db, "refund", rank_at_most=2, limit=2, offset=2) == Ranked(["often"], 3)
    assert _search(db, "refund", rank_at_most=2, offset=5) == Ranked([], 3)


def test_every_match_is_counted_and_paged_beyond_a_thousand(db: Database) -> None:
    count = 1_203
    rows = [
        {
            "project_id": "p",
            "id": f"c{n:05d}",
            "type": "openai",
            "created_at": n,
            "updated_at": n,
            "first_message_at": n,
        }
        for n in range(count)
    ]
    texts = [
        {
            "project_id": "p",
            "conversation_id": f"c{n:05d}",
            "id": f"m{n:05d}",
            "position": 0,
            "role": "user",
            "content": "please help with billing",
            "created_at": n,
            "updated_at": n,
        }
        for n in range(count)
    ]
    with db.writer.begin() as connection:
        connection.execute(insert(conversations), rows)
        connection.execute(insert(messages), texts)
    seen: list[str] = []
    for offset in range(0, count + 100, 500):
        page = _search(db, "billing", limit=500, offset=offset)
        assert page.total == count
        seen += page.ids
    # All equal matches, newest first: the oldest conversation is on the last page.
    assert seen == [f"c{n:05d}" for n in reversed(range(count))]


def test_conditions_and_projects_narrow_the_matches(corpus: Database) -> None:
    c = conversations.c
    newer = [func.coalesce(c.first_message_at, c.created_at) >= JANUARY_1_US + 8 * DAY_US]
    assert set(_search(corpus, "export", conditions=newer).ids) == {"mixed"}
    assert _search(corpus, "export", conditions=newer).total == 1
    assert set(_search(corpus, "export", project="other").ids) == {"elsewhere"}
    assert _search(corpus, "export", project="nobody").total == 0


def test_the_index_follows_updates_and_deletes(db: Database) -> None:
    _post(db, "c1", "the first wording")
    assert _found(db, "wording") == {"c1"}
    with db.writer.begin() as connection:
        connection.execute(update(messages).values(content="a second phrasing"))
    assert _found(db, "wording") == set()
    assert _found(db, "phrasing") == {"c1"}
    # Array content (text parts) is searched too, and a re-post that changes it is followed.
    parts = [{"type": "text", "text": "look at the diagram"}, {"type": "text", "text": "now"}]
    _post(db, "c2", parts)
    assert _found(db, "diagram") == {"c2"}
    _post(db, "c2", [{"type": "text", "text": "look at the chart"}])
    assert _found(db, "diagram") == set()
    assert _found(db, "chart") == {"c2"}
    with db.writer.begin() as connection:
        connection.execute(delete(messages).where(messages.c.conversation_id == "c1"))
    assert _found(db, "phrasing") == set()


def _map_is_the_join(db: Database) -> None:
    """The map of migration 0017 holds, for every message, its conversation row's seq (NULL
    when there is none): what joining messages to conversations gives."""
    m, c = messages.c, conversations.c
    joined = (
        select(m.seq, c.seq)
        .select_from(
            messages.outerjoin(
                conversations, (c.project_id == m.project_id) & (c.id == m.conversation_id)
            )
        )
        .order_by(m.seq)
    )
    with db.reader.connect() as connection:
        kept = connection.execute(
            sql_text(
                "SELECT message_seq, conversation_seq FROM message_conversations "
                "ORDER BY message_seq"
            )
        ).all()
        assert [tuple(row) for row in kept] == [tuple(row) for row in connection.execute(joined)]


def test_the_map_of_conversations_follows_every_write(db: Database) -> None:
    now = 1_767_225_600_000_000
    message = {
        "project_id": "p",
        "position": 0,
        "role": "user",
        "created_at": now,
        "updated_at": now,
    }
    row = {"project_id": "p", "type": "openai", "created_at": now, "updated_at": now}
    with db.writer.begin() as connection:  # messages before their conversation's row
        connection.execute(
            insert(messages),
            [
                {**message, "id": "early-1", "conversation_id": "early", "content": "kiwi"},
                {**message, "id": "early-2", "conversation_id": "early", "content": "fig"},
            ],
        )
    _map_is_the_join(db)
    assert _found(db, "kiwi") == set()  # no conversation row: nothing to list
    with db.writer.begin() as connection:
        connection.execute(insert(conversations).values(id="early", **row))
    _map_is_the_join(db)
    assert _found(db, "kiwi") == {"early"}
    _post(db, "c1", "kiwi and plum", "melon")
    _post(db, "c2", "plum")
    _map_is_the_join(db)
    assert _found(db, "plum") == {"c1", "c2"}
    with db.writer.begin() as connection:  # a conversation deleted, then made again
        connection.execute(delete(conversations).where(conversations.c.id == "c1"))
    _map_is_the_join(db)
    assert _found(db, "plum") == {"c2"}
    with db.writer.begin() as connection:
        connection.execute(insert(conversations).values(id="c1", **row))
    _map_is_the_join(db)
    assert _found(db, "plum") == {"c1", "c2"}
    with db.writer.begin() as connection:  # a message moved, a conversation renamed
        connection.execute(
            update(messages).where(messages.c.id == "c2-0").values(conversation_id="early")
        )
        connection.execute(
            update(conversations).where(conversations.c.id == "c1").values(id="renamed")
        )
    _map_is_the_join(db)
    assert _found(db, "plum") == {"early"}
    with db.writer.begin() as connection:
        connection.execute(delete(messages).where(messages.c.conversation_id == "early"))
    _map_is_the_join(db)
    assert _found(db, "kiwi") == set()


@pytest.mark.parametrize(
    ("typed", "terms", "fts5"),
    [
        ("Export CSV", [Term(("export",), True), Term(("csv",), True)], '"export" * AND "csv" *'),
        ('"Export  CSV"', [Term(("export", "csv"), False)], '"export csv"'),
        ("e-mail", [Term(("e", "mail"), True)], '"e mail" *'),
        ("导出", [Term(("导", "出"), False)], '"导 出"'),
        ('say "hi', [Term(("say",), True), Term(("hi",), False)], '"say" * AND "hi"'),
        (
            'NEAR(a b) OR "',
            [Term(("near", "a"), True), Term(("b",), True), Term(("or",), True)],
            '"near a" * AND "b" * AND "or" *',
        ),
        ("--", [], ""),
    ],
)
def test_typed_text_becomes_terms_with_nothing_left_to_escape(
    typed: str, terms: list[Term], fts5: str
) -> None:
    assert parse(typed) == terms
    if fts5 is not None:
        assert fts5_query(terms) == fts5
