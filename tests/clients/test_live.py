"""The Python client against the real server in a subprocess: SIGKILL the server while the
client's queue streams events, conversations and feedback, restart it on the same port, and
prove every item is stored exactly once; then read it all back through the client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from threadline_client import AsyncThreadline, RetryPolicy, Threadline

from tests.conftest import KeyMaker
from tests.e2e.conftest import LiveServer, stored_id_counts
from threadline.store import tables

pytestmark = pytest.mark.e2e

EVENTS = 600
CONVERSATIONS = 24
KILL_AFTER_STORED = 150  # events stored before the kill: the client is mid-stream
DEADLINE_SECONDS = 60.0
RUN = "live"
# No insight worker: it would only compete for the CPU with the client and the server.
QUIET = {"THREADLINE_INSIGHTS": "off"}


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    started = LiveServer(database_url, tmp_path, env=QUIET)
    started.wait_until_healthy()
    yield started
    started.stop()


def _stream(client: Threadline, stop: threading.Event) -> None:
    """Logs EVENTS events and CONVERSATIONS two-turn conversations with feedback, steadily."""
    for n in range(EVENTS):
        if stop.is_set():
            return
        client.log_event(
            {
                "id": f"{RUN}-e{n}",
                "type": "page_viewed",
                "entityType": "search",
                "searchQuery": f"q{n}",
            }
        )
        if n % 25 == 0:
            c = n // 25
            turn: Any = {
                "id": f"{RUN}-c{c}",
                "type": "openai",
                "messages": [{"id": f"{RUN}-c{c}-m0", "role": "user", "content": f"question {c}"}],
            }
            client.log_conversation(turn)
            turn["messages"].append(
                {"id": f"{RUN}-c{c}-m1", "role": "assistant", "content": "answer"}
            )
            client.log_conversation(turn)
            client.log_feedback(
                {"id": f"{RUN}-f{c}", "type": "positive", "messageId": f"{RUN}-c{c}-m1"}
            )
        time.sleep(0.001)  # a chat back end logs as its users talk, not in one burst


def _poll(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_server_killed_mid_stream_loses_and_duplicates_nothing(
    server: LiveServer, database_url: str, make_key: KeyMaker
) -> None:
    key = make_key("api")
    retry = RetryPolicy(attempts=None, base_delay=0.05, max_delay=0.5, give_up_after=120)
    client = Threadline(server.base_url, key, batch_size=50, flush_interval=0.02, queue_retry=retry)
    stop = threading.Event()
    producer = threading.Thread(target=_stream, args=(client, stop))
    producer.start()
    try:
        _poll(
            lambda: len(stored_id_counts(database_url, tables.events, RUN)) >= KILL_AFTER_STORED,
            DEADLINE_SECONDS,
            "the first events",
        )
        server.kill()
        restarted = LiveServer(database_url, server.workdir, port=server.port, env=QUIET)
        restarted.wait_until_healthy()
        producer.join(DEADLINE_SECONDS)
        assert client.flush(timeout=DEADLINE_SECONDS), client.stats
    finally:
        stop.set()
        producer.join()
        client.close()
    stats = client.stats
    items = EVENTS + 3 * CONVERSATIONS
    assert stats["sent"] == items and stats["dropped"] == stats["failed"] == 0, stats
    assert stats["rejected"] == 0 and stats["retries"] >= 1, stats

    events = stored_id_counts(database_url, tables.events, RUN)
    assert len(events) == EVENTS and set(events.values()) == {1}
    conversations = stored_id_counts(database_url, tables.conversations, RUN)
    assert len(conversations) == CONVERSATIONS and set(conversations.values()) == {1}
    messages = stored_id_counts(database_url, tables.messages, RUN)
    assert len(messages) == 2 * CONVERSATIONS and set(messages.values()) == {1}
    feedback = stored_id_counts(database_url, tables.feedback, RUN)
    assert len(feedback) == CONVERSATIONS and set(feedback.values()) == {1}

    # Reads, sync and asyncio, through the client on the restarted server.
    with Threadline(restarted.base_url, key) as reader:
        listed = reader.list_conversations(limit=5)
        assert listed["total"] == CONVERSATIONS and listed["count"] == 5
        conversation = reader.get_conversation(f"{RUN}-c3")
        assert [m["content"] for m in conversation["messages"]] == ["question 3", "answer"]
        assert reader.list_feedback(limit=1)["positiveFeedbackCount"] == CONVERSATIONS
        counted = reader.query(
            "events", {"select": [{"type": "aggregation", "aggregation": "count"}]}
        )
        assert counted["data"]["result"][0]["count"] in (EVENTS, str(EVENTS))
        rows = list(reader.export("events", {"select": [{"type": "field", "field": "id"}]}))
        assert len(rows) == EVENTS and {r["id"] for r in rows} == set(events)

    async def read_async() -> None:
        async with AsyncThreadline(restarted.base_url, key, flush_interval=0.01) as aclient:
            aclient.log_event(
                {"id": f"{RUN}-async", "type": "t", "entityType": "message", "messageId": "m"}
            )
            assert await aclient.flush(timeout=DEADLINE_SECONDS)
            assert (await aclient.get_feedback(f"{RUN}-f1"))["messageId"] == f"{RUN}-c1-m1"

    asyncio.run(read_async())
    assert len(stored_id_counts(database_url, tables.events, RUN)) == EVENTS + 1
    restarted.stop_cleanly()
