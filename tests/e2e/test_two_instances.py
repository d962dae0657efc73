"""Two threadline processes on one PostgreSQL database, as behind a load balancer.

Both start at once on an empty database (their migrations race under an advisory lock). Writes
are spread over both; each is then read back through the other. Upserts of one conversation
through both at the same moment never duplicate a message and never fail with a 500, and, the
database being healthy, are never refused either.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select, text

from tests.assertions import assert_problem
from tests.e2e.conftest import LiveServer, log_excerpt
from threadline.store import tables
from threadline.store.engine import open_database

pytestmark = pytest.mark.e2e

EVENTS = 120
FEEDBACK = 40
CONVERSATIONS = 6
TURNS = 8
ROUNDS = 20
RETRIES_ON_503 = 5


# Every conversation and feedback is one widget user's, posted through either instance.
USER = {"id": "two-instances-user", "identificationType": "COOKIED"}


class Pair:
    """Instances A and B, one web key each (one integration, as one site's widget whose requests
    land on either instance), one project. Web keys, so the ownership check (store.ownership)
    runs on both instances under contention; the bodies carry the widget user (USER)."""

    def __init__(self, a: LiveServer, b: LiveServer) -> None:
        self.servers = (a, b)
        self.keys = (a.create_key("web"), b.create_key("web"))
        self.clients = tuple(
            server.client(headers={"Authorization": f"Bearer {key}"}, timeout=20.0)
            for server, key in zip(self.servers, self.keys, strict=True)
        )
        self.refusals: list[str] = []

    def client(self, n: int) -> httpx.Client:
        return self.clients[n % 2]

    def post(self, n: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST through instance n % 2, retrying a 503 a bounded number of times (recorded in
        `refusals`); anything but a 200 in the end fails the test."""
        for _ in range(RETRIES_ON_503):
            response = self.client(n).post(path, json=body)
            if response.status_code != 503:
                break
            problem = assert_problem(response, 503, path)
            self.refusals.append(f"POST {path} {body.get('id')}: {problem['detail']}")
            time.sleep(0.2)
        assert response.status_code == 200, f"POST {path} {body.get('id')}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def logs(self) -> str:
        return "\n".join(f"--- {s.workdir.name} ---\n{s.log}" for s in self.servers)

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture
def pair(empty_postgres_url: str, tmp_path: Path) -> Iterator[Pair]:
    """Both processes started together on a database no migration has touched yet."""
    servers: list[LiveServer] = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        servers.append(LiveServer(empty_postgres_url, tmp_path / name))
    try:
        for server in servers:
            server.wait_until_healthy()
        running = Pair(servers[0], servers[1])
    except BaseException:
        for server in servers:
            server.kill()
        raise
    try:
        yield running
    finally:
        running.close()
        for server in servers:
            server.stop()
    for server in servers:
        server.stop_cleanly()
        assert "Traceback" not in server.log, log_excerpt(server.log)


def _query(database_url: str, statement: Any) -> list[Any]:
    database = open_database(database_url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            return list(connection.execute(statement))
    finally:
        database.dispose()


def _message(conversation: str, turn: int, with_id: bool) -> dict[str, str]:
    message = {"role": "user" if turn % 2 == 0 else "assistant", "content": f"turn {turn}"}
    if with_id:
        message["id"] = f"{conversation}-m{turn}"
    return message


def _assert_history(body: dict[str, Any], history: list[dict[str, str]]) -> None:
    """The Conversation carries exactly `history`, in order, each message once."""
    messages = body["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        (m["role"], m["content"]) for m in history
    ], body
    ids = [m["id"] for m in messages]
    assert len(set(ids)) == len(ids), ids
    for sent, stored in zip(history, messages, strict=True):
        if "id" in sent:
            assert stored["id"] == sent["id"]
        assert stored["conversationId"] == body["id"]
    assert body["messagesOpenAIFormat"] == [
        {"role": m["role"], "content": m["content"]} for m in history
    ]


def _converse(pair: Pair, conversation: str, with_id: bool) -> list[dict[str, str]]:
    """The widget pattern: the whole history re-posted each turn, alternating instances."""
    history: list[dict[str, str]] = []
    for turn in range(TURNS):
        history.append(_message(conversation, turn, with_id))
        body = pair.post(
            turn,
            "/conversations",
            {"id": conversation, "type": "openai", "messages": history, "userProperties": USER},
        )
        _assert_history(body, history)
    return history


def test_both_instances_migrate_at_once_and_serve(pair: Pair, empty_postgres_url: str) -> None:
    for server in pair.servers:
        with server.client() as client:
            response = client.get("/ready")
        assert response.status_code == 200, response.text
        assert response.json()["database"] == "postgresql"
    versions = _query(empty_postgres_url, text("SELECT version_num FROM alembic_version"))
    assert len(versions) == 1, versions


def test_writes_through_either_instance_read_back_through_the_other(
    pair: Pair, empty_postgres_url: str
) -> None:
    run = uuid.uuid4().hex[:10]
    event_ids = [f"{run}-e{i}" for i in range(EVENTS)]
    feedback_ids = [f"{run}-f{i}" for i in range(FEEDBACK)]
    conversation_ids = [f"{run}-c{i}" for i in range(CONVERSATIONS)]

    def event(i: int) -> dict[str, Any]:
        body = {"id": event_ids[i], "type": "spread", "entityType": "message", "messageId": "m"}
        return pair.post(i, "/events", body)

    def feedback(i: int, instance: int, kind: str) -> dict[str, Any]:
        body = {"id": feedback_ids[i], "type": kind, "messageId": f"m{i}", "userProperties": USER}
        return pair.post(instance, "/feedback", body)

    def conversation(i: int) -> list[dict[str, str]]:
        return _converse(pair, conversation_ids[i], with_id=i % 2 == 0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        events = list(pool.map(event, range(EVENTS)))
        list(pool.map(lambda i: feedback(i, i, "positive"), range(FEEDBACK)))
        # ...and each feedback changed through the other instance.
        list(pool.map(lambda i: feedback(i, i + 1, "negative"), range(FEEDBACK)))
        histories = dict(
            zip(conversation_ids, pool.map(conversation, range(CONVERSATIONS)), strict=True)
        )

    for conversation_id, history in histories.items():
        bodies = []
        for client in pair.clients:
            response = client.get(f"/conversations/{conversation_id}")
            assert response.status_code == 200, response.text
            bodies.append(response.json())
            _assert_history(bodies[-1], history)
            assert bodies[-1]["id"] == conversation_id and bodies[-1]["type"] == "openai"
        assert bodies[0] == bodies[1], "the two instances disagree about one conversation"
    for client in pair.clients:
        assert_problem(
            client.get(f"/conversations/{run}-absent"), 404, f"/conversations/{run}-absent"
        )

    # An event's client id is stored once: re-posting it through the other instance answers
    # with the stored event, whatever the repeat says.
    for i, first in enumerate(events):
        repeat = {"id": first["id"], "type": "repeat", "entityType": "message", "messageId": "x"}
        again = pair.post(i + 1, "/events", repeat)
        assert again == first, (first, again)

    e, f = tables.events, tables.feedback
    stored_events = dict(
        _query(
            empty_postgres_url,
            select(e.c.id, func.count()).where(e.c.id.like(f"{run}-%")).group_by(e.c.id),
        )
    )
    assert stored_events == dict.fromkeys(event_ids, 1)
    stored_feedback = _query(
        empty_postgres_url, select(f.c.id, f.c.type).where(f.c.id.like(f"{run}-%"))
    )
    assert sorted(stored_feedback) == sorted((i, "negative") for i in feedback_ids)


def _stored_messages(database_url: str, conversation_id: str) -> list[Any]:
    m = tables.messages
    return _query(
        database_url,
        select(m.c.id, m.c.position, m.c.content)
        .where(m.c.conversation_id == conversation_id)
        .order_by(m.c.position),
    )


def _upsert_at_once(pair: Pair, conversations: dict[str, bool]) -> dict[str, list[dict[str, str]]]:
    """ROUNDS rounds; in each, every conversation's history grows by one message and is posted
    through both instances at the same moment. Returns the histories."""
    histories: dict[str, list[dict[str, str]]] = {c: [] for c in conversations}
    start = threading.Barrier(2 * len(conversations), timeout=30)

    def post(conversation: str, instance: int, history: list[dict[str, str]]) -> dict[str, Any]:
        start.wait()
        body = {"id": conversation, "type": "openai", "messages": history, "userProperties": USER}
        return pair.post(instance, "/conversations", body)

    with ThreadPoolExecutor(max_workers=2 * len(conversations)) as pool:
        for turn in range(ROUNDS):
            futures = []
            for conversation, with_id in conversations.items():
                histories[conversation].append(_message(conversation, turn, with_id))
                snapshot = list(histories[conversation])
                futures += [
                    (conversation, pool.submit(post, conversation, instance, snapshot))
                    for instance in (0, 1)
                ]
            for conversation, future in futures:
                _assert_history(future.result(timeout=60), histories[conversation])
    return histories


def test_same_conversation_upserted_through_both_at_once(
    pair: Pair, empty_postgres_url: str
) -> None:
    """Never a duplicate message, never a 500: for a conversation with message ids and one
    without (ids derived from positions). A 503 is retried, as the SDK would."""
    run = uuid.uuid4().hex[:10]
    conversations = {f"{run}-ids": True, f"{run}-positions": False}
    histories = _upsert_at_once(pair, conversations)
    print(f"503s retried: {len(pair.refusals)}")

    for conversation, history in histories.items():
        rows = _stored_messages(empty_postgres_url, conversation)
        assert [row.position for row in rows] == list(range(ROUNDS)), rows
        assert [row.content for row in rows] == [m["content"] for m in history]
        assert len({row.id for row in rows}) == ROUNDS
        for client in pair.clients:
            response = client.get(f"/conversations/{conversation}")
            assert response.status_code == 200, response.text
            _assert_history(response.json(), history)
    c = tables.conversations
    counts = _query(
        empty_postgres_url,
        select(c.c.id, c.c.message_count).where(c.c.id.in_(list(conversations))),
    )
    assert sorted(counts) == sorted((conversation, ROUNDS) for conversation in conversations)


def test_concurrent_upserts_are_not_refused_while_the_database_is_healthy(pair: Pair) -> None:
    """Both instances upsert the same three conversations at once, so each writer's batch may
    lock them in a different order than the other's. PostgreSQL is up and the queues are nearly
    empty: a 503 ("Storage is unavailable") here would be a refusal the server caused itself."""
    run = uuid.uuid4().hex[:10]
    _upsert_at_once(pair, {f"{run}-{n}": n % 2 == 0 for n in range(3)})
    causes = [line for line in pair.logs().splitlines() if "refused" in line]
    assert not pair.refusals, (
        f"{len(pair.refusals)} writes refused with 503 on a healthy database: "
        f"{pair.refusals[:3]}\nserver log: {causes[:5]}"
    )
