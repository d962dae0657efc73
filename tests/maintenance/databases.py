"""Empty databases to restore into: new SQLite files, or PostgreSQL databases made for the test
and dropped after it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_ADMIN_URL
from threadline.store.engine import normalize_url


def backend_of(database_url: str) -> str:
    return normalize_url(database_url).get_backend_name()


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    name = f"threadline_restore_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / name}.db"
        return
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
