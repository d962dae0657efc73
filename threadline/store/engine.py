"""Engines for SQLite (the embedded default) and PostgreSQL, configured the same way for both.

Each process keeps two engines: one owned by the writer thread (all writes go through it) and a
pool for reads. On SQLite the writer starts its transactions with BEGIN IMMEDIATE, so another
process writing to the same file (the CLI creating a key) waits instead of failing half-way.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from threadline.errors import Unavailable
from threadline.store import search_text

# How long a SQLite statement waits for another connection's write lock before it fails.
SQLITE_BUSY_TIMEOUT_MS = 10_000
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: a committed transaction survives power loss, which is what a 2xx promises.
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
)


def normalize_url(url: str) -> URL:
    """postgresql:// and postgres:// URLs run on psycopg 3; anything else is taken as given."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _json_serializer(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _sqlite_hooks(engine: Engine, *, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()
        # The triggers keeping the full-text index of messages call it (migration 0015).
        search_text.register(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def _create(url: URL, *, write: bool, pool_size: int) -> Engine:
    common: dict[str, Any] = {
        "json_serializer": _json_serializer,
        "json_deserializer": msgspec.json.decode,
        # Statement parameters are what users typed (message text, emails in properties):
        # never in an error's text, so never in a log line or a traceback (issue 16).
        "hide_parameters": True,
    }
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=pool_size, max_overflow=0, **common)
        _sqlite_hooks(engine, begin="BEGIN IMMEDIATE" if write else "BEGIN")
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0 if write else pool_size,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={
            "connect_timeout": 5,
            # A database that vanishes without a reset (a black-holed network) must still fail
            # the connection within seconds, not leave the writer waiting on it for minutes.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 3,
            "keepalives_count": 3,
            "tcp_user_timeout": 20_000,
        },
        **common,
    )


@dataclasses.dataclass(frozen=True)
class Database:
    """The engines of one process: `writer` for the writer thread, `reader` for everything else."""

    url: URL
    writer: Engine
    reader: Engine

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()


def open_database(url: str, *, read_pool_size: int = 8) -> Database:
    parsed = normalize_url(url)
    return Database(
        url=parsed,
        writer=_create(parsed, write=True, pool_size=1),
        reader=_create(parsed, write=False, pool_size=read_pool_size),
    )


# SQLite reports a bad statement as an OperationalError too; only these mean the file cannot
# be used right now.
_SQLITE_OUTAGES = ("locked", "busy", "unable to open", "disk i/o", "readonly", "full")


def is_storage_outage(exc: BaseException) -> bool:
    """Whether any exception is the database being unavailable (for callers that catch all)."""
    return isinstance(exc, (OperationalError, InterfaceError)) and is_outage(exc)


def is_outage(exc: OperationalError | InterfaceError) -> bool:
    """Whether a database error means storage is unavailable (503), not a bug (500)."""
    if exc.orig is not None and type(exc.orig).__module__.startswith("sqlite3"):
        message = str(exc.orig).lower()
        return any(word in message for word in _SQLITE_OUTAGES)
    return True


@contextlib.contextmanager
def reading(engine: Engine, *, retry_after: int = 1) -> Iterator[Connection]:
    """A connection for a read; the database being unreachable, or every pooled connection
    staying in use past the pool's wait, becomes 503 + Retry-After (not a 500: storage is not
    keeping up, and the read may pass on a retry)."""
    try:
        with engine.connect() as connection:
            yield connection
    except PoolTimeout as exc:
        raise Unavailable(
            "Storage is busy; retry shortly.", retry_after=retry_after, reason="storage_busy"
        ) from exc
    except (OperationalError, InterfaceError) as exc:
        if not is_outage(exc):
            raise
        raise Unavailable(
            "Storage is unavailable; retry shortly.",
            retry_after=retry_after,
            reason="storage_unavailable",
        ) from exc


def describe_url(url: URL) -> str:
    """The URL without its password, for logs and banners."""
    return url.render_as_string(hide_password=True)
