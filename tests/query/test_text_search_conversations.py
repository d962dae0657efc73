"""Conversation text search on one document per conversation (migration 0018): words anywhere
in a conversation, phrases within one message, the document kept equal to one built afresh
from the messages after every kind of write, and the cap on its size. On SQLite and PostgreSQL,
with the same answers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy import text as sql_text

from tests.query.test_text_search import _found, _post, _search
from threadline.query.text_search import Ranked, ranked_conversations
from threadline.store.engine import Database
from threadline.store.search_text import (
    MAX_CONVERSATION_CHARS,
    SQLITE_KEY_SLOT_US,
    SQLITE_SEPARATOR,
    document_text,
    sqlite_key,
    sqlite_project_word,
)
from threadline.store.tables import conversations, messages


def _with_message_conditions(db: Database, query: str, condition: ColumnElement[bool]) -> Ranked:
    with db.reader.connect() as connection:
        return ranked_conversations(
            connection,
            project_id="p",
            query=query,
            conditions=[],
            message_conditions=[condition],
            limit=50,
        )


def _chars(row: Any) -> int:
    """A message's share of a document's cap: its content's length, else its parts' JSON's."""
    if row.content is not None:
        return 3 + len(row.content)
    return 3 + (len(row.parts) if row.parts is not None else 0)


def _documents_are_rebuilt(db: Database) -> None:
    """Every conversation's document is what building it afresh from its messages gives: on
    SQLite the folded text of its messages in order, each after the separator, up to the cap;
    on PostgreSQL what the migration's rebuild function returns."""
    m, c = messages.c, conversations.c
    with db.reader.connect() as connection:
        seqs = connection.execute(
            select(c.seq, c.project_id, c.id, func.coalesce(c.first_message_at, c.created_at))
        ).all()
        if connection.dialect.name == "postgresql":
            kept = connection.execute(
                sql_text(
                    "SELECT s.conversation_seq, s.project_id, s.id, s.first_message_at, "
                    "s.created_at, s.chars, s.document = d.document AND s.chars = d.chars "
                    "FROM conversation_search s, "
                    "LATERAL threadline_conversation_document(s.project_id, s.id) d "
                    "ORDER BY s.conversation_seq"
                )
            ).all()
            rows = connection.execute(
                select(c.seq, c.project_id, c.id, c.first_message_at, c.created_at).order_by(c.seq)
            ).all()
            assert [tuple(row[:5]) for row in kept] == [tuple(row) for row in rows]
            assert all(row[6] for row in kept)
            return
        kept = connection.execute(
            sql_text("SELECT rowid, text, chars, project FROM conversation_search ORDER BY rowid")
        ).all()
        expected = []
        for seq, project_id, conversation_id, first in seqs:
            rows = connection.execute(
                select(m.content, m.content_parts.label("parts"))
                .where(m.project_id == project_id, m.conversation_id == conversation_id)
                .order_by(m.position, m.seq)
            ).all()
            raw = connection.execute(
                sql_text(
                    "SELECT content, content_parts AS parts FROM messages "
                    "WHERE project_id = :p AND conversation_id = :c ORDER BY position, seq"
                ),
                {"p": project_id, "c": conversation_id},
            ).all()
            text, chars = "", 0
            for row, stored in zip(rows, raw, strict=True):
                chars += _chars(stored)
                if chars <= MAX_CONVERSATION_CHARS:
                    text += SQLITE_SEPARATOR + document_text(row.content, stored.parts)
            # Keyed by time (migration 0019) and marked with the project.
            key = sqlite_key(first, seq)
            expected.append((key, text, chars, sqlite_project_word(project_id)))
        assert [tuple(row) for row in kept] == sorted(expected)


def test_words_anywhere_in_a_conversation_phrases_within_a_message(db: Database) -> None:
    _post(db, "c1", "How do I export", "my data to CSV?")
    _post(db, "c2", "export to CSV")
    assert _found(db, "export csv") == {"c1", "c2"}  # the words of one conversation
    assert _found(db, '"export to csv"') == {"c2"}
    assert _found(db, '"export my"') == set()  # a phrase never runs into the next message
    assert _found(db, '"my data" export') == {"c1"}
    _documents_are_rebuilt(db)


def test_a_message_condition_keeps_every_word_in_that_message(db: Database) -> None:
    """The feedback filter asks for a matching message that was rated: every term in it."""
    _post(db, "c1", "How do I export", "my data to CSV?")
    _post(db, "c2", "export to CSV")
    user = messages.c.role == "user"
    assert set(_with_message_conditions(db, "export csv", user).ids) == {"c2"}
    assert set(_with_message_conditions(db, "export", user).ids) == {"c1", "c2"}


def test_accents_and_unspaced_scripts_across_messages(db: Database) -> None:
    _post(db, "c1", "Où est le café ?", "如何导出数据")
    _post(db, "c2", "データをエクスポート", "RÉSUMÉ")
    assert _found(db, "cafe 导出") == {"c1"}
    assert _found(db, "résumé データ") == {"c2"}
    assert _found(db, "数据 cafe") == {"c1"}
    assert _found(db, "导出数据") == {"c1"}
    assert _found(db, "cafe データ") == set()
    _documents_are_rebuilt(db)


def test_a_conversation_reposted_with_more_messages(db: Database) -> None:
    _post(db, "c1", "a first question")
    _post(db, "c1", "a first question", "about pineapples")
    _post(db, "c1", "a first question", "about pineapples", "and mangoes")
    assert _found(db, "first pineapples mangoes") == {"c1"}
    assert _search(db, "question").total == 1
    _documents_are_rebuilt(db)


def test_the_document_follows_every_write(db: Database) -> None:
    now = 1_767_225_600_000_000
    message = {"project_id": "p", "conversation_id": "early", "role": "user", "created_at": now}
    message |= {"updated_at": now}
    row = {"project_id": "p", "type": "openai", "created_at": now, "updated_at": now}
    fig = [{"type": "text", "text": "fig"}]
    with db.writer.begin() as connection:  # messages before their conversation's row
        connection.execute(
            insert(messages),
            [
                {**message, "id": "e1", "position": 0, "content": "kiwi", "content_parts": None},
                {**message, "id": "e2", "position": 1, "content": None, "content_parts": fig},
            ],
        )
    assert _found(db, "kiwi") == set()
    with db.writer.begin() as connection:
        connection.execute(insert(conversations).values(id="early", **row))
    assert _found(db, "kiwi fig") == {"early"}
    _documents_are_rebuilt(db)
    _post(db, "c1", "plum", "melon")
    _post(db, "c2", "plum and cherry")
    with db.writer.begin() as connection:  # an edit, a move, a rename, a re-timing
        connection.execute(update(messages).where(messages.c.id == "c1-1").values(content="pear"))
        connection.execute(
            update(messages).where(messages.c.id == "c2-0").values(conversation_id="early")
        )
        connection.execute(
            update(conversations).where(conversations.c.id == "c1").values(id="renamed")
        )
        connection.execute(
            update(conversations)
            .where(conversations.c.id == "early")
            .values(first_message_at=now + 5)
        )
    _documents_are_rebuilt(db)
    assert _found(db, "melon") == set()
    assert _found(db, "pear") == set()  # the renamed row's messages are still c1's
    with db.writer.begin() as connection:
        connection.execute(
            update(messages)
            .where(messages.c.conversation_id == "c1")
            .values(conversation_id="renamed")
        )
    assert _found(db, "plum pear") == {"renamed"}
    _documents_are_rebuilt(db)
    assert _found(db, "cherry kiwi") == {"early"}
    with db.writer.begin() as connection:  # a message erased from a conversation that stays
        connection.execute(delete(messages).where(messages.c.id == "e1"))
    assert _found(db, "kiwi") == set()
    assert _found(db, "cherry fig") == {"early"}
    _documents_are_rebuilt(db)
    with db.writer.begin() as connection:  # a conversation deleted, then its messages
        connection.execute(delete(conversations).where(conversations.c.id == "renamed"))
        connection.execute(delete(messages).where(messages.c.conversation_id == "renamed"))
    assert _found(db, "plum") == {"early"}
    _documents_are_rebuilt(db)


@pytest.mark.parametrize("appended", [True, False])
def test_a_document_stops_at_the_message_that_passes_the_cap(db: Database, appended: bool) -> None:
    """Messages up to the one whose text takes the conversation past the cap; none after it,
    even short ones: the same whether appended one post at a time or built at once."""
    long = "alpha " * 25_000  # 150,000 characters
    longer = "beta " * 12_000  # 60,000: past the cap
    texts = [long, longer, "zebra"]
    if appended:
        for n in range(1, 4):
            _post(db, "c1", *texts[:n])
    else:
        _post(db, "c1", *texts)
    assert _found(db, "alpha") == {"c1"}
    assert _found(db, "beta") == set()
    assert _found(db, "zebra") == set()
    # The index of messages still holds them (the feedback filter's search).
    assert set(_with_message_conditions(db, "zebra", messages.c.role == "user").ids) == {"c1"}
    _documents_are_rebuilt(db)
    with db.writer.begin() as connection:  # the long message shortened: all of them fit again
        connection.execute(update(messages).where(messages.c.id == "c1-0").values(content="x"))
    assert _found(db, "beta zebra") == {"c1"}
    _documents_are_rebuilt(db)


def test_a_phrase_in_a_later_message_of_a_long_conversation(db: Database) -> None:
    """A phrase is matched word for word within one message (docs/dashboard.md): also in the
    last message of a conversation whose earlier messages used one of its words often (a
    PostgreSQL tsvector keeps 256 positions of a word)."""
    earlier = ["the question and the answer " * 10 for _ in range(30)]  # "the" 600 times
    _post(db, "c1", *earlier, "how to export the report")
    assert _found(db, "report") == {"c1"}
    assert _found(db, '"export the report"') == {"c1"}
    assert _found(db, '"the report export"') == set()


def test_a_phrase_after_many_words(db: Database) -> None:
    """Past 16,383 words of earlier messages (a PostgreSQL tsvector keeps no later position)."""
    earlier = [" ".join(f"w{m}x{n}" for n in range(100)) for m in range(180)]  # 18,000 words
    _post(db, "c1", *earlier, "export report")
    assert _found(db, '"export report"') == {"c1"}
    assert _found(db, '"report export"') == set()


SLOT_US = SQLITE_KEY_SLOT_US
DAY_US = 86_400_000_000
JANUARY_1_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
# Times that share a quarter hour, an instant, a period's bounds, or fall outside the span the
# document keys hold exactly (before 1970, after 3883: migration 0019).
TIMES = [
    JANUARY_1_US - 1,
    JANUARY_1_US,
    JANUARY_1_US,
    JANUARY_1_US + 1,
    JANUARY_1_US + 30_000_000,
    JANUARY_1_US + SLOT_US - 1,
    JANUARY_1_US + SLOT_US,
    JANUARY_1_US + 5 * SLOT_US + 7,
    JANUARY_1_US + DAY_US - 1,
    JANUARY_1_US + DAY_US,
    JANUARY_1_US + DAY_US + 3,
    -5 * SLOT_US,
    -1,
    0,
    70_000_000_000_000_000,  # in 4188
    70_000_000_000_000_000,
    61_000_000_000_000_000,
]


def _conversations_at(db: Database, times: list[int]) -> None:
    """Conversations "t0", "t1", ... in projects "p" and "q" holding "common", timed by their
    first message, or (every third) by their creation only."""
    rows, texts = [], []
    for project in ("p", "q"):
        for n, at in enumerate(times):
            first = None if n % 3 == 2 else at
            conversation = {"project_id": project, "id": f"t{n:02d}", "type": "openai"}
            rows.append(
                conversation | {"created_at": at, "updated_at": 0, "first_message_at": first}
            )
            message = {"project_id": project, "conversation_id": f"t{n:02d}", "role": "user"}
            texts.append(
                message
                | {"id": f"m{n:02d}", "position": 0, "content": "a common word"}
                | {"created_at": at, "updated_at": 0}
            )
    with db.writer.begin() as connection:
        connection.execute(insert(conversations), rows)
        connection.execute(insert(messages), texts)


def _newest(db: Database, conditions: list[ColumnElement[bool]]) -> list[str]:
    """Brute force: project p's conversations the conditions admit that have a message (each
    says "common"), newest first."""
    c, m = conversations.c, messages.c
    first = func.coalesce(c.first_message_at, c.created_at)
    spoken = select(m.seq).where(m.project_id == c.project_id, m.conversation_id == c.id)
    with db.reader.connect() as connection:
        statement = select(c.id).where(c.project_id == "p", spoken.exists(), *conditions)
        return list(connection.execute(statement.order_by(first.desc(), c.id.desc())).scalars())


def _pages_are_the_brute_force(db: Database) -> None:
    c = conversations.c
    first = func.coalesce(c.first_message_at, c.created_at)
    periods: list[list[ColumnElement[bool]]] = [
        [],
        [first >= JANUARY_1_US, first < JANUARY_1_US + DAY_US],  # whole days, as the dashboard
        [first >= JANUARY_1_US + SLOT_US, first < JANUARY_1_US + DAY_US + SLOT_US],
        [first >= JANUARY_1_US + 1, first <= JANUARY_1_US + DAY_US],  # not whole quarter hours
        [first > JANUARY_1_US - SLOT_US],
        [first < JANUARY_1_US],
        [first >= 0],
        [first < 61_000_000_000_000_000],
        [(first >= JANUARY_1_US) & (first < JANUARY_1_US + DAY_US) & (c.type == "openai")],
        [c.project_id == "p", first >= JANUARY_1_US, first < JANUARY_1_US + 2 * DAY_US],
        [c.project_id == "q"],
        [first >= JANUARY_1_US + DAY_US, first < JANUARY_1_US],
    ]
    for conditions in periods:
        expected = _newest(db, conditions)
        for limit in (1, 2, 5):
            seen: list[str] = []
            for offset in range(0, len(expected) + limit, limit):
                page = _search(
                    db, "commo", conditions=conditions, limit=limit, offset=offset, rank_at_most=0
                )
                assert page.total == len(expected)
                seen += page.ids
            assert seen == expected


def test_a_period_is_paged_newest_first_exactly(db: Database) -> None:
    """Documents are keyed by quarter hour (migration 0019): ties within one, bounds inside one,
    times outside the keys' span and other conditions still give the exact order and count."""
    _conversations_at(db, TIMES)
    _pages_are_the_brute_force(db)
    _documents_are_rebuilt(db)


def test_a_conversation_retimed_moves_its_document(db: Database) -> None:
    """A first message arriving, a creation time re-posted: the document takes its new key."""
    _conversations_at(db, TIMES)
    c = conversations.c
    with db.writer.begin() as connection:
        connection.execute(  # created at midnight, its first message a day later
            update(conversations)
            .where(c.id == "t02")
            .values(first_message_at=JANUARY_1_US + DAY_US)
        )
        connection.execute(  # its creation re-posted a day earlier
            update(conversations).where(c.id == "t05").values(created_at=JANUARY_1_US - DAY_US)
        )
        connection.execute(
            update(conversations)
            .where(c.id == "t04")
            .values(first_message_at=None, created_at=JANUARY_1_US + 2 * DAY_US)
        )
        connection.execute(  # past the keys' span
            update(conversations)
            .where(c.id == "t01")
            .values(first_message_at=80_000_000_000_000_000)
        )
        connection.execute(  # its first message stands, so its time does not change
            update(conversations).where(c.id == "t03").values(created_at=0)
        )
        connection.execute(  # renamed and re-timed at once
            update(conversations)
            .where(c.id == "t06", c.project_id == "q")
            .values(project_id="p", id="t99", first_message_at=JANUARY_1_US + 2 * SLOT_US)
        )
    _documents_are_rebuilt(db)
    _pages_are_the_brute_force(db)
    assert "t99" not in _search(db, "common").ids  # its messages are still q's "t06"


def test_more_conversations_in_a_slot_than_a_page_reads_past_it(db: Database) -> None:
    """Within a quarter hour, documents are in the order of their seq: here the opposite of their
    time, and more of them than the search reads past a page's last (query.text_search._TIES)."""
    times = [JANUARY_1_US + SLOT_US - 1 - n for n in range(300)]
    _conversations_at(db, times)
    expected = _newest(db, [])
    assert expected[:3] == ["t00", "t01", "t02"]
    for offset in (0, 10, 290):
        page = _search(db, "common", limit=10, offset=offset, rank_at_most=0)
        assert page == Ranked(expected[offset : offset + 10], 300)
