"""threadline.store.bulk: rows written on both backends, SQLite's settings put back after a
load, and a project deleted with everything it owns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from threadline.auth import issue_key
from threadline.store.bulk import bulk_writer, delete_project, event_count, find_project
from threadline.store.engine import Database
from threadline.store.tables import api_keys, events, integrations, projects

COLUMNS = ("project_id", "id", "entity_type", "type", "search_query", "properties", "created_at")


def test_bulk_write_then_delete_the_project(db: Database) -> None:
    with db.writer.begin() as connection:
        issued = issue_key(connection, project="demo", integration="API", kind="api")
        issue_key(connection, project="other", integration="API", kind="api")
    rows = [
        (issued.project_id, f"evt_{i}", "search", "search_query_submitted", "sso", '{"a":1}', i)
        for i in range(120_000)  # more than one batch
    ]
    with bulk_writer(db) as writer:
        assert writer.write("events", COLUMNS, iter(rows)) == 120_000

    with db.reader.connect() as connection:
        assert find_project(connection, "demo") == issued.project_id
        assert event_count(connection, issued.project_id) == 120_000
        stored = connection.execute(select(events.c.properties).limit(1)).scalar()
        assert stored == {"a": 1}  # JSON given as text reads back as JSON
    with db.writer.connect() as connection:
        if db.dialect == "sqlite":
            # The load's pragmas are gone from the pooled connection: commits fsync again.
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL

    with db.writer.begin() as connection:
        delete_project(connection, issued.project_id)
    with db.reader.connect() as connection:
        assert find_project(connection, "demo") is None
        assert event_count(connection, issued.project_id) == 0
        for table in (api_keys, integrations):
            left = select(func.count()).select_from(table)
            assert connection.execute(left).scalar() == 1  # the other project's
        assert connection.execute(select(func.count()).select_from(projects)).scalar() == 1


def test_a_load_into_an_empty_table_ends_with_every_index_it_had(db: Database) -> None:
    # SQLite loads an empty table without its secondary indexes, then makes them again.
    with db.writer.begin() as connection:
        issued = issue_key(connection, project="demo", integration="API", kind="api")
    indexes = _index_names(db)
    assert len(indexes) >= 4  # events' secondary indexes, and the primary key's
    rows = [
        (issued.project_id, f"evt_{i}", "search", "search_query_submitted", "sso", "{}", i)
        for i in range(1_000)
    ]
    with bulk_writer(db) as writer:
        writer.write("events", COLUMNS, iter(rows))
        writer.write("events", COLUMNS, iter([(*rows[0][:1], "evt_x", *rows[0][2:])]))  # not empty
    assert _index_names(db) == indexes
    with db.reader.connect() as connection:
        first = select(events.c.id).where(
            events.c.project_id == issued.project_id, events.c.created_at == 7
        )
        assert connection.execute(first).scalar() == "evt_7"


def test_a_load_that_fails_still_ends_with_every_index(db: Database) -> None:
    indexes = _index_names(db)

    def rows() -> Iterator[tuple[Any, ...]]:
        yield ("p", "evt_1", "search", "search_query_submitted", "sso", "{}", 1)
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError), bulk_writer(db) as writer:
        writer.write("events", COLUMNS, rows())
    assert _index_names(db) == indexes


def _index_names(db: Database) -> set[str]:
    return {str(index["name"]) for index in inspect(db.reader).get_indexes("events")}
