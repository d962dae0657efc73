"""The text a message is indexed by (store.search_text): the SQL function both indexes call
(SQLite: the Python function registered on every connection; PostgreSQL: its copy in SQL,
migration 0015) gives what document_text gives, for every script the tests search."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import text

from threadline.store.engine import Database
from threadline.store.search_text import MAX_CHARS, document_text

CASES = [
    ("ΣΑΣ Über Crème brûlée ǅ ﬁle ① ﬀ", None),
    ("如何导出数据到CSV文件 データをエクスポート 데이터를 내보내는", None),
    ("हिन्दी भाषा में खोज, Я хочу экспортировать", None),
    ("", None),
    (None, [{"type": "text", "text": "Ça va"}, {"type": "image_url"}, {"type": "text", "text": 5}]),
    (None, [{"type": "text", "text": "Été"}, "loose", {"type": "text", "text": "导出"}]),
    (None, {"not": "a list"}),
    (None, None),
    ("x" * (MAX_CHARS + 10), None),
    ("help@acme.io: ~/a_b/v2.1?x=[1]{2}", None),  # a space for each ASCII punctuation character
]


@pytest.mark.parametrize(("content", "parts"), CASES)
def test_sql_and_python_index_the_same_text(
    db: Database, content: str | None, parts: object
) -> None:
    encoded = None if parts is None else msgspec.json.encode(parts).decode()
    cast = "CAST(:parts AS jsonb)" if db.dialect == "postgresql" else ":parts"
    with db.reader.connect() as connection:
        indexed = connection.execute(
            text(f"SELECT threadline_search_text(:content, {cast})"),
            {"content": content, "parts": encoded},
        ).scalar_one()
    assert indexed == document_text(content, encoded)
    assert len(indexed) <= MAX_CHARS


def test_accents_case_and_unspaced_scripts_are_folded() -> None:
    assert document_text("Crème BRÛLÉE", None) == "creme brulee"
    assert document_text("导出CSV", None) == " 导  出 csv"
    parts = '[{"type": "text", "text": "Ça"}, {"type": "text", "text": "va"}]'
    assert document_text(None, parts) == "ca va"
