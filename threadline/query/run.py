"""Running compiled queries: a page of result rows with the total (reference §7.7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from threadline.query.catalogue import VIEWS
from threadline.query.compile import PAGE_SIZE, CompiledQuery, KeysOf, compile_query
from threadline.query.dialects import sql_of
from threadline.query.rollup import answer as rollup_answer
from threadline.wire.query import QueryData


def compile_for(
    connection: Connection,
    view: str,
    body: Any,
    project_id: str,
    *,
    keys_of: KeysOf | None = None,
    ranking: Sequence[Any] | None = None,
) -> CompiledQuery:
    """The query for this connection's backend (see compile.QueryCompiler.compile)."""
    return compile_query(
        VIEWS[view],
        sql_of(connection),
        body,
        project_id=project_id,
        keys_of=keys_of,
        ranking=ranking,
    )


def run_query(
    connection: Connection,
    *,
    view: str,
    body: Any,
    project_id: str,
    ranking: Sequence[Any] | None = None,
) -> QueryData:
    """The first PAGE_SIZE rows and how many there are in all. `ranking`: the semantic-threads
    search's answer (query.semantic), most similar first."""
    compiled = compile_for(connection, view, body, project_id, ranking=ranking)
    # On the columnar copy, distinct users per day/week/range come from its rollup.
    rollup = connection.get_execution_options().get("threadline_rollups")
    found = None if rollup is None else rollup_answer(rollup, compiled, body, project_id)
    if found is not None:
        return QueryData(result=found, total=len(found), pageSize=PAGE_SIZE, count=len(found))
    rows = connection.execute(compiled.page(PAGE_SIZE)).all()
    total = len(rows)
    # A search's rows are among its ranked threads: when they fit in one page, the page holds
    # them all and counting them again would only repeat the query.
    if total == PAGE_SIZE and (ranking is None or len(ranking) > PAGE_SIZE):
        total = connection.execute(compiled.count_statement()).scalar_one()
    result = [compiled.render(row) for row in rows]
    return QueryData(result=result, total=total, pageSize=PAGE_SIZE, count=len(result))
