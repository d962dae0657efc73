"""PostgreSQL only (SQLite has one writer at a time): a conversation's document rebuilt (a message
deleted, as an erasure deletes a user's message from another user's conversation) while a post
appends to the same conversation in another transaction keeps the appended message."""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, delete, text

from tests.query.test_text_search import _found, _post
from tests.query.test_text_search_conversations import _documents_are_rebuilt
from threadline.store.engine import Database
from threadline.store.tables import messages


def test_a_rebuild_concurrent_with_an_append_keeps_the_appended_message(pg: Database) -> None:
    _post(pg, "c1", "kiwi", "plum")
    appending = pg.writer.connect()
    transaction = appending.begin()
    # The post's append: its trigger locks the conversation's document row until it commits.
    appending.execute(
        text(
            "INSERT INTO messages (project_id, conversation_id, id, position, role, content, "
            "created_at, updated_at) VALUES ('p', 'c1', 'c1-2', 2, 'user', 'mango', 1, 1)"
        )
    )
    done = threading.Event()
    other = create_engine(pg.url)  # the writer's pool holds one connection

    def erase() -> None:  # the erasure's delete of one message: its trigger rebuilds
        with other.begin() as connection:
            connection.execute(delete(messages).where(messages.c.id == "c1-0"))
        done.set()

    eraser = threading.Thread(target=erase)
    eraser.start()
    with pg.reader.connect() as watching:  # until the rebuild waits for the append's lock
        while not done.is_set():
            waiting = watching.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            watching.rollback()
            if waiting:
                break
    transaction.commit()
    appending.close()
    eraser.join()
    other.dispose()
    assert _found(pg, "plum mango") == {"c1"}
    assert _found(pg, "kiwi") == set()
    _documents_are_rebuilt(pg)
