"""PostgreSQL only (SQLite's documents are keyed by time, migration 0019): a newest-first page of a
text search is a statement of its own, without the count, that an index gives in its order
(migration 0020), so a common word's page is read from the newest match on until it is full
instead of sorting every match. The answers are checked against brute force in
test_text_search_conversations.py on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event, func

from tests.query.test_text_search import DAY_US, JANUARY_1_US, _post
from threadline.query.text_search import Ranked, ranked_conversations
from threadline.store.engine import Database
from threadline.store.tables import conversations


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_a_newest_first_page_is_read_in_the_order_of_an_index(pg: Database) -> None:
    for n in range(12):
        _post(pg, f"c{n:02d}", f"a common word, number {n}", at=n)
    _post(pg, "elsewhere", "a common word", project="other", at=5)
    c = conversations.c
    period = [func.coalesce(c.first_message_at, c.created_at) >= JANUARY_1_US + 2 * DAY_US]
    statements: list[tuple[str, Any]] = []
    with pg.reader.connect() as connection:

        def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            statements.append((statement, parameters))

        event.listen(connection, "before_cursor_execute", seen)
        found = ranked_conversations(
            connection,
            project_id="p",
            query="commo",
            conditions=period,
            limit=3,
            offset=2,
            rank_at_most=0,
        )
        event.remove(connection, "before_cursor_execute", seen)
        assert found == Ranked(["c09", "c08", "c07"], 10)
        pages = [(sql, params) for sql, params in statements if "ORDER BY" in sql]
        assert len(pages) == 1
        sql, params = pages[0]
        assert "OVER" not in sql  # the count is a statement of its own
        # A few rows: the planner would sort them whichever indexes there are, so sorting is
        # made dear to ask whether an index gives the page's order at all.
        connection.exec_driver_sql("SET LOCAL enable_sort = off")
        plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar_one()
    nodes = list(_nodes((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]))
    assert not [node for node in nodes if "Sort" in node["Node Type"]]
    scans = [node for node in nodes if node.get("Relation Name") == "conversation_search"]
    assert [node.get("Index Name") for node in scans] == ["ix_conversation_search_newest"]
    assert scans[0]["Scan Direction"] == "Backward"


def test_each_search_is_planned_for_its_words(pg: Database) -> None:
    """psycopg prepares a statement run five times on a connection, and PostgreSQL then keeps one
    plan for any word: made for no word, it read a common word's matches as a rare word's are
    read (docs/performance.md, i-pgsearch). Each search is planned for its own words."""
    for n in range(6):
        _post(pg, f"c{n}", "a common word" if n % 2 else "a rare word", at=n)
    with pg.reader.connect() as connection:
        for n in range(12):
            query = "common" if n % 2 else "rare"
            found = ranked_conversations(
                connection, project_id="p", query=query, conditions=[], limit=2, rank_at_most=0
            )
            assert found.total == 3
            connection.commit()
        plans = connection.exec_driver_sql(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
            "FROM pg_prepared_statements WHERE strpos(statement, 'conversation_search') > 0"
        ).one()
    assert plans[0] == 0
    assert plans[1] > 0  # the statements were prepared: the case this is about
