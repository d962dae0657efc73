"""The Alembic migrations: they build exactly the schema of threadline.store.tables, once."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

from tests.conftest import BACKENDS, POSTGRES_ADMIN_URL
from threadline.query.text_search import ranked_conversations
from threadline.store.engine import Database, normalize_url, open_database
from threadline.store.migrate import alembic_config, upgrade
from threadline.store.search_text import (
    POSTGRES_COLUMN,
    POSTGRES_CONVERSATION_INDEXES,
    POSTGRES_INDEX,
    TRIGGER_KEPT_TABLES,
)
from threadline.store.tables import metadata, projects


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it: a new SQLite file or PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"threadline_empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield (
            normalize_url(POSTGRES_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with empty_database(request.param, tmp_path) as url:
        database = open_database(url, read_pool_size=1)
        yield database
        database.dispose()


def table_names(database: Database) -> set[str]:
    """The tables, but for those triggers keep outside tables.py (the full-text index of
    messages, the map of their conversations)."""
    with database.reader.connect() as connection:
        return set(inspect(connection).get_table_names()) - TRIGGER_KEPT_TABLES


def _not_search_index(name: str | None, type_: str, parent_names: Any) -> bool:
    """compare_metadata skips what triggers keep outside tables.py (store.search_text)."""
    return name not in (
        *TRIGGER_KEPT_TABLES,
        POSTGRES_COLUMN,
        POSTGRES_INDEX,
        POSTGRES_CONVERSATION_INDEXES,
    )


def versions(database: Database) -> list[str]:
    with database.reader.connect() as connection:
        return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_upgrade_creates_every_table(empty: Database) -> None:
    assert table_names(empty) == set()
    upgrade(empty.writer)
    assert table_names(empty) == {*metadata.tables, "alembic_version"}


def test_the_database_is_at_the_head_revision(empty: Database) -> None:
    upgrade(empty.writer)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    assert versions(empty) == [head]


def test_a_second_upgrade_changes_nothing(empty: Database) -> None:
    upgrade(empty.writer)
    with empty.writer.begin() as connection:
        connection.execute(projects.insert().values(id="p1", name="docs", created_at=0))
    before = versions(empty)
    upgrade(empty.writer)
    assert versions(empty) == before
    with empty.reader.connect() as connection:
        assert connection.execute(select(projects.c.name)).scalars().all() == ["docs"]


def test_the_migrated_schema_matches_tables_py(empty: Database) -> None:
    upgrade(empty.writer)
    with empty.reader.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _not_search_index}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_concurrent_upgrades_on_postgresql_both_succeed(tmp_path: Path) -> None:
    # The advisory lock serialises them; without it they deadlock on alembic_version.
    with empty_database("postgresql", tmp_path) as url:
        databases = [open_database(url, read_pool_size=1) for _ in range(2)]
        start = threading.Barrier(len(databases))
        errors: list[BaseException] = []

        def migrate(database: Database) -> None:
            start.wait()
            try:
                upgrade(database.writer)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=migrate, args=(d,)) for d in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            assert errors == []
            assert table_names(databases[0]) == {*metadata.tables, "alembic_version"}
            assert len(versions(databases[0])) == 1
        finally:
            for database in databases:
                database.dispose()


def test_concurrent_upgrades_on_sqlite_from_several_processes_all_succeed(tmp_path: Path) -> None:
    # BEGIN IMMEDIATE serialises them. (Threads are no test here: Alembic's `context` and `op`
    # are process-wide, so one process runs one upgrade at a time.)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    script = (
        "import sys\n"
        "from threadline.store.engine import open_database\n"
        "from threadline.store.migrate import upgrade\n"
        "database = open_database(sys.argv[1])\n"
        "upgrade(database.writer)\n"
        "database.dispose()\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outcomes = [(p.communicate()[1], p.returncode) for p in processes]
    assert [stderr for stderr, code in outcomes if code != 0] == []
    database = open_database(url, read_pool_size=1)
    try:
        assert table_names(database) == {*metadata.tables, "alembic_version"}
        assert len(versions(database)) == 1
    finally:
        database.dispose()


def _rows_at_0004(database: Database) -> None:
    """What a 0004 database holds: an integration with web keys only, one with an api key too,
    a conversation and a feedback of each, and an Idempotency-Key answer."""
    with database.writer.begin() as connection:
        connection.execute(text("INSERT INTO projects VALUES ('p1', 'docs', 0)"))
        for integration, kinds in (("widget", ("web",)), ("backend", ("web", "api"))):
            connection.execute(
                text("INSERT INTO integrations VALUES (:i, 'p1', :i, 0)"), {"i": integration}
            )
            for kind in kinds:
                connection.execute(
                    text(
                        "INSERT INTO api_keys (id, project_id, integration_id, kind, key_hash, "
                        "prefix, created_at) VALUES (:id, 'p1', :i, :kind, :id, 'x', 0)"
                    ),
                    {"id": f"{integration}-{kind}", "i": integration, "kind": kind},
                )
            connection.execute(
                text(
                    "INSERT INTO conversations (project_id, id, integration_id, type, "
                    "created_at, updated_at) VALUES ('p1', :id, :i, 'openai', 0, 0)"
                ),
                {"id": integration, "i": integration},
            )
            connection.execute(
                text(
                    "INSERT INTO feedback (project_id, id, integration_id, message_id, type, "
                    "created_at, updated_at) VALUES ('p1', :id, :i, 'm', 'positive', 0, 0)"
                ),
                {"id": integration, "i": integration},
            )
        connection.execute(
            text("INSERT INTO idempotency_keys VALUES ('p1', 'batch-001', 'f', 200, '{}', 0)")
        )


def test_0005_scopes_idempotency_keys_per_key_and_records_who_wrote(empty: Database) -> None:
    upgrade(empty.writer, "0004")
    _rows_at_0004(empty)
    upgrade(empty.writer)
    with empty.reader.connect() as connection:
        primary_key = inspect(connection).get_pk_constraint("idempotency_keys")
        # Answers stored before 0005 name no key: they are dropped, not shared by the project.
        answers = connection.execute(text("SELECT * FROM idempotency_keys")).all()
        writers = {
            table: dict(connection.execute(text(f"SELECT id, key_kind FROM {table}")).all())
            for table in ("conversations", "feedback")
        }
    assert primary_key["constrained_columns"] == ["key_id", "key"]
    assert answers == []
    # Rows of an integration that only ever had web keys were written by a web key; where an
    # api key could have written them, they count as the api key's (web keys may not change them).
    assert writers == {
        "conversations": {"widget": "web", "backend": "api"},
        "feedback": {"widget": "web", "backend": "api"},
    }


def test_0015_indexes_the_messages_already_stored(empty: Database) -> None:
    upgrade(empty.writer, "0014")
    rows = [
        ("c1", "m1", "Wie exportiere ich Daten?", None),
        ("c2", "m2", None, '[{"type": "text", "text": "导出 the diagram"}, {"type": "image"}]'),
        ("c3", "m3", "nothing to find", None),
    ]
    with empty.writer.begin() as connection:
        for conversation, message, content, parts in rows:
            connection.execute(
                text(
                    "INSERT INTO conversations (project_id, id, type, created_at, updated_at) "
                    "VALUES ('p', :c, 'openai', 0, 0)"
                ),
                {"c": conversation},
            )
            connection.execute(
                text(
                    "INSERT INTO messages (project_id, conversation_id, id, position, role, "
                    "content, content_parts, created_at, updated_at) "
                    "VALUES ('p', :c, :m, 0, 'user', :content, :parts, 0, 0)"
                ),
                {"c": conversation, "m": message, "content": content, "parts": parts},
            )
    upgrade(empty.writer)

    def found(query: str) -> list[str]:
        with empty.reader.connect() as connection:
            return ranked_conversations(
                connection, project_id="p", query=query, conditions=[], limit=10
            ).ids

    assert found("exportiere") == ["c1"]
    assert found("diagram 导出") == ["c2"]
    assert found("daten") == ["c1"]


def test_0016_splits_the_words_of_the_messages_already_stored(empty: Database) -> None:
    upgrade(empty.writer, "0015")
    with empty.writer.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (project_id, id, type, created_at, updated_at) "
                "VALUES ('p', 'c1', 'openai', 0, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO messages (project_id, conversation_id, id, position, role, "
                "content, created_at, updated_at) "
                "VALUES ('p', 'c1', 'm1', 0, 'user', 'write to help@acme.io about v2.1', 0, 0)"
            )
        )
    upgrade(empty.writer)
    with empty.reader.connect() as connection:
        found = ranked_conversations(
            connection, project_id="p", query="acme v2.1", conditions=[], limit=10
        ).ids
    assert found == ["c1"]


def test_0017_maps_the_messages_already_stored_to_their_conversations(empty: Database) -> None:
    upgrade(empty.writer, "0016")
    with empty.writer.begin() as connection:
        for project in ("p", "q"):  # the same conversation id in two projects
            connection.execute(
                text(
                    "INSERT INTO conversations (project_id, id, type, created_at, updated_at) "
                    f"VALUES ('{project}', 'c1', 'openai', 0, 0)"
                )
            )
        for project, conversation, message in (
            ("q", "c1", "m1"),
            ("p", "c1", "m2"),
            ("p", "x", "m3"),
        ):
            connection.execute(
                text(
                    "INSERT INTO messages (project_id, conversation_id, id, position, role, "
                    "content, created_at, updated_at) "
                    f"VALUES ('{project}', '{conversation}', '{message}', 0, 'user', 'hi', 0, 0)"
                )
            )
    upgrade(empty.writer)
    with empty.reader.connect() as connection:
        mapped = connection.execute(
            text(
                "SELECT m.id, c.project_id FROM message_conversations k "
                "JOIN messages m ON m.seq = k.message_seq "
                "LEFT JOIN conversations c ON c.seq = k.conversation_seq ORDER BY m.id"
            )
        ).all()
    # m3's conversation has no row: mapped to none (a text search cannot list it).
    assert [tuple(row) for row in mapped] == [("m1", "q"), ("m2", "p"), ("m3", None)]
