"""The text a message is searched by: its words folded (case, accents) and the characters of
scripts written without spaces (Chinese, Japanese, Korean) set apart, so the full-text index
finds any run of them. SQLite's index calls `document_text` through a function of the same
name registered on every connection; PostgreSQL's copy of it is SQL (migration 0015), kept
equal to this one by tests/store/test_search_text.py.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Any

import msgspec

# The SQL function SQLite's triggers call (store/engine.py registers it on every connection).
SQL_FUNCTION = "threadline_search_text"
# Characters of a message that are indexed: the rest of a very long one is not searchable (a
# PostgreSQL tsvector holds at most 1 MB, and the two backends must index the same text).
MAX_CHARS = 200_000
# Combining diacritical marks (the accents NFKD splits off letters): removed. Other marks (the
# vowel signs of Indic scripts) are part of their words and stay.
DIACRITICS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# Scripts without spaces between words (Han, kana, Hangul): each character is a word of its
# own in the index, and a query's run of them is a phrase, so any part of a word is found.
UNSPACED = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3005-\u3007\u3040-\u30ff\u3100-\u312f\u3130-\u318f"
    "\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0003134f"
)
FINAL_SIGMA, SIGMA = "\u03c2", "\u03c3"
_DIACRITIC = re.compile(f"[{DIACRITICS}]")
_UNSPACED_CHAR = re.compile(f"([{UNSPACED}])")
# ASCII punctuation: PostgreSQL's parser would keep "help@acme.io" or "v2.1" as one token
# (migration 0016); spaces in their place split them, as FTS5 and the query do.
_ASCII_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
_decode = msgspec.json.Decoder()


def fold(text: str) -> str:
    """Lower case, accents off, final sigma as sigma (PostgreSQL's lower() keeps it apart), and
    each character of an unspaced script set apart by spaces."""
    stripped = _DIACRITIC.sub("", unicodedata.normalize("NFKD", text[:MAX_CHARS]))
    lowered = unicodedata.normalize("NFKC", stripped).lower().replace(FINAL_SIGMA, SIGMA)
    return _UNSPACED_CHAR.sub(r" \1 ", lowered)


def message_text(content: str | None, parts: Any) -> str:
    """A message's text: its string content, else the text parts of its array content."""
    if content is not None:
        return content
    if isinstance(parts, (str, bytes)):
        try:
            parts = _decode.decode(parts)
        except msgspec.DecodeError:
            return ""
    if not isinstance(parts, list):
        return ""
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return " ".join(texts)


def document_text(content: str | None, parts: Any) -> str:
    """What the index holds for a message (content_parts as SQLite stores it: JSON text): its
    folded text, with a space for each ASCII punctuation character (migration 0016)."""
    return _ASCII_PUNCTUATION.sub(" ", fold(message_text(content, parts)))


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    """Letters, digits and marks (Indic vowel signs belong to their word, as both indexes'
    tokenisers keep them): a class built once from the Unicode database."""
    marks = [
        chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code))[0] == "M"
    ]
    ranges = "".join(re.escape(mark) for mark in marks)
    return re.compile(f"(?:[^\\W_]|[{ranges}])+")


def words(folded: str) -> list[str]:
    """The words of folded text, as the indexes split it."""
    return _word_pattern().findall(folded)


def register(dbapi_connection: Any) -> None:
    """Make document_text callable from SQL on a sqlite3 connection (the index's triggers)."""
    dbapi_connection.create_function(SQL_FUNCTION, 2, document_text, deterministic=True)


# Where the index lives (migration 0015), outside tables.py: SQLite's FTS5 table and the shadow
# tables FTS5 keeps beside it; PostgreSQL's generated column on messages and its GIN index.
_SHADOWS = ("config", "content", "data", "docsize", "idx")
SQLITE_INDEX_TABLES = frozenset({"message_search", *(f"message_search_{s}" for s in _SHADOWS)})
# Each message's conversation row (migration 0017), on both backends, kept by triggers.
CONVERSATION_MAP = "message_conversations"
# One document per conversation (migration 0018): SQLite's FTS5 table and its shadow tables;
# on PostgreSQL a table of the same name (with the conversation's keys) and its GIN index.
CONVERSATION_INDEX = "conversation_search"
CONVERSATION_INDEX_TABLES = frozenset(
    {CONVERSATION_INDEX, *(f"{CONVERSATION_INDEX}_{s}" for s in _SHADOWS)}
)
# Every table outside tables.py that triggers keep (a copy leaves them to the target's own).
TRIGGER_KEPT_TABLES = SQLITE_INDEX_TABLES | {CONVERSATION_MAP} | CONVERSATION_INDEX_TABLES
POSTGRES_COLUMN = "search_document"
POSTGRES_INDEX = "ix_messages_search_document"
# The GIN and BRIN indexes of migration 0018, and the B-tree of 0020 (newest first per project).
POSTGRES_CONVERSATION_INDEXES = (
    "ix_conversation_search_document",
    "ix_conversation_search_time",
    "ix_conversation_search_newest",
)
# Between two messages in a conversation's document on SQLite, a word no query can hold (query
# words are letters, digits and marks), so a phrase never spans two messages: a private-use
# character, a word to FTS5's tokenizer (PostgreSQL looks for phrases in the messages). A
# document holds a conversation's messages up to the one that takes their text past
# MAX_CONVERSATION_CHARS (a tsvector holds at most 1 MB; migration 0018).
SQLITE_SEPARATOR = " \ue000 "
MAX_CONVERSATION_CHARS = 200_000
# SQLite's conversation documents are keyed by time (migration 0019): rowid = the quarter hour
# (slot) of the conversation's first message (else creation) since 1970, clamped to
# [0, SQLITE_KEY_MAX_SLOT], in the high bits, its seq in the low SQLITE_KEY_SEQ_BITS. FTS5 reads
# rowids in order, so a period is a rowid range and newest first is descending rowid order.
# Quarter hours: every time zone's midnight starts one, and within a slot a word's matches are
# near each other in seq, so the index stores small rowid deltas (per minute, it doubled).
SQLITE_KEY_SLOT_US = 900_000_000
SQLITE_KEY_SEQ_BITS = 37
SQLITE_KEY_SEQ_MASK = (1 << SQLITE_KEY_SEQ_BITS) - 1
SQLITE_KEY_MAX_SLOT = (1 << 26) - 1  # in 3884; later times share the last slot
# Each SQLite document's `project` column holds one word naming its project: a private-use
# character (never in a query's words, as the separator above) then the id's UTF-8 in hex.
SQLITE_PROJECT_MARK = "\ue001"


def sqlite_slot(time_us: int) -> int:
    """The quarter hour a conversation's time falls in, as its key holds it (clamped)."""
    return min(max(time_us // SQLITE_KEY_SLOT_US, 0), SQLITE_KEY_MAX_SLOT)


def sqlite_key(time_us: int, seq: int) -> int:
    """The rowid of a conversation's document (SQLite): its slot, then its seq."""
    return sqlite_slot(time_us) << SQLITE_KEY_SEQ_BITS | seq


def sqlite_project_word(project_id: str) -> str:
    """The word of a project's documents (SQLite): what MATCH looks for to keep one project's."""
    return SQLITE_PROJECT_MARK + project_id.encode().hex()
