"""threadline.store.bulk: rows written on both backends, SQLite's settings put back after a
load, and a project deleted with everything it owns."""

from __future__ import annotations

from sqlalchemy import func, select

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


def test_a_load_leaves_the_conversation_documents_compact(db: Database) -> None:
    """Each message loaded is appended to its conversation's document by a trigger: on
    PostgreSQL a new row version each time. The load ends with the table rewritten (VACUUM
    FULL), as big as its live rows make it (a text search's count reads all of it).

    What is asserted is the rewrite: a new file for the table. Its size is not: VACUUM FULL
    keeps the versions a snapshot open elsewhere in the database may still see, and autovacuum's
    ANALYZE of the tables just loaded holds one now and then (CI saw the load's rewrite keep 31
    pages where one a moment later kept 8)."""
    with db.writer.begin() as connection:
        project_id = issue_key(connection, project="demo", integration="API", kind="api").project_id
    file = "SELECT pg_relation_filenode('conversation_search')"
    if db.dialect == "postgresql":
        with db.writer.connect() as connection:
            before = connection.exec_driver_sql(file).scalar()
    conversation_columns = ("project_id", "id", "type", "created_at", "updated_at")
    message_columns = (
        "project_id",
        "conversation_id",
        "id",
        "position",
        "role",
        "content",
        "created_at",
        "updated_at",
    )
    with bulk_writer(db) as writer:
        writer.write(
            "conversations",
            conversation_columns,
            ((project_id, f"c{n}", "openai", n, n) for n in range(300)),
        )
        writer.write(
            "messages",
            message_columns,
            (
                (project_id, f"c{n}", f"m{n}-{k}", k, "user", f"question {k} about keys", n, n)
                for n in range(300)
                for k in range(4)
            ),
        )
    if db.dialect != "postgresql":
        return  # an FTS5 table: no row versions
    with db.writer.connect() as connection:
        assert connection.exec_driver_sql(file).scalar() != before
