"""One `database_url` fixture, parametrised over real SQLite and real PostgreSQL: every test that
uses it runs on both. No mocks of the database.

Isolation: a fresh SQLite file per test (copied from a template migrated once), and truncated
tables on one PostgreSQL database migrated once per session. The writer commits, so rollbacks
could not isolate tests.

THREADLINE_TEST_DATABASES=sqlite (or postgresql) narrows the matrix while working locally; CI
runs both. THREADLINE_TEST_POSTGRES_URL names the server (default: 127.0.0.1:5432, user postgres).
"""

from __future__ import annotations

import os
import shutil
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from duckdb_engine import ConnectionWrapper
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import QueuePool
from starlette.testclient import TestClient

from threadline.app import create_app
from threadline.auth import issue_key
from threadline.config import Settings
from threadline.store.engine import Database, normalize_url, open_database
from threadline.store.keys import KeyKind
from threadline.store.migrate import upgrade
from threadline.store.search_text import CONVERSATION_INDEX, CONVERSATION_MAP
from threadline.store.tables import DATA_TABLES

BACKENDS = [
    b for b in os.environ.get("THREADLINE_TEST_DATABASES", "sqlite,postgresql").split(",") if b
]
POSTGRES_ADMIN_URL = os.environ.get(
    "THREADLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session", autouse=True)
def _session_state_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A state directory for servers that session- and package-wide fixtures start (before
    any test's own), so no test run leaves a columnar copy in the real one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
        yield


@pytest.fixture(autouse=True)
def state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own state directory (config.state_directory), where a PostgreSQL database's
    columnar copy goes by default: a copy left by another test is never followed on."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "threadline"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "threadline.db"
    database = open_database(f"sqlite:///{path}")
    upgrade(database.writer)
    database.dispose()
    return path


# A session's database is named after this machine and its process: only this machine's
# leftovers are dropped (a PostgreSQL server may serve test runs of several machines).
TEST_DATABASE_PREFIX = f"threadline_test_{zlib.crc32(socket.gethostname().encode()):08x}_"


def _drop_leftovers(connection: Connection) -> None:
    """Drops the databases of this machine's test sessions that ended without dropping their
    own (an interrupted run): named after a process that is gone."""
    names = connection.execute(
        text("SELECT datname FROM pg_database WHERE starts_with(datname, :prefix)"),
        {"prefix": TEST_DATABASE_PREFIX},
    ).scalars()
    for name in list(names):
        pid = name.removeprefix(TEST_DATABASE_PREFIX)
        if pid.isdigit() and not _alive(int(pid)):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own for this test session, migrated once, dropped at the end."""
    name = f"{TEST_DATABASE_PREFIX}{os.getpid()}"
    admin = create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        _drop_leftovers(connection)
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = open_database(url)
    upgrade(database.writer)
    database.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=[*BACKENDS, "duckdb"])
def read_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The read engine of each primary backend, and one made like the columnar copy's (a
    cursor per connection of one in-memory DuckDB database)."""
    if request.param == "duckdb":
        memory = duckdb.connect(":memory:")
        duck = create_engine(
            "duckdb://", creator=lambda: ConnectionWrapper(memory.cursor()), poolclass=QueuePool
        )
        yield duck
        duck.dispose()
        memory.close()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'threadline.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = open_database(url, read_pool_size=1)
    yield database.reader
    database.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(normalize_url(url))
    # TRUNCATE fires no row triggers: what they keep is emptied with the rows it maps.
    kept = (CONVERSATION_MAP, CONVERSATION_INDEX)
    names = ", ".join([*(table.name for table in DATA_TABLES), *kept])
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "threadline.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """Engines of the test's own, to set up rows and to look at what the server stored."""
    database = open_database(database_url, read_pool_size=2)
    yield database
    database.dispose()


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    """For a test only PostgreSQL can run (writers at once, its planner): the session's
    PostgreSQL database, emptied, and engines of the test's own."""
    _truncate(postgres_url)
    database = open_database(postgres_url, read_pool_size=2)
    yield database
    database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


class KeyMaker:
    """Creates keys the way `threadline keys create` does, for any project and integration."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def __call__(
        self, kind: KeyKind = "api", project: str = "docs", integration: str = "docs site"
    ) -> str:
        with self.database.writer.begin() as connection:
            issued = issue_key(connection, project=project, integration=integration, kind=kind)
        return issued.secret

    def headers(self, kind: KeyKind = "api", project: str = "docs", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(kind, project)}", **extra}


@pytest.fixture
def make_key(db: Database) -> KeyMaker:
    return KeyMaker(db)


@pytest.fixture
def api_headers(make_key: KeyMaker) -> dict[str, str]:
    return make_key.headers("api")


@pytest.fixture
def web_headers(make_key: KeyMaker) -> dict[str, str]:
    return make_key.headers("web")
