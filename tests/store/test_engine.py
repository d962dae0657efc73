"""store.engine.reading: what a read's connection turns into when storage cannot serve it.
On real SQLite and PostgreSQL (tests/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from threadline.errors import Unavailable
from threadline.store.engine import normalize_url, reading


def test_a_read_that_waits_out_the_pool_is_a_503_and_the_next_one_passes(
    database_url: str,
) -> None:
    engine = create_engine(
        normalize_url(database_url), pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    try:
        with reading(engine, retry_after=4) as held:  # the pool's one connection, in use
            held.exec_driver_sql("SELECT 1")
            with pytest.raises(Unavailable) as raised, reading(engine, retry_after=4):
                pass
            assert raised.value.status == 503
            assert raised.value.headers == {"Retry-After": "4"}
            assert "busy" in raised.value.detail
        with reading(engine, retry_after=4) as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
