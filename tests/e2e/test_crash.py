"""Crash test: SIGKILL the real server again and again while clients stream writes, restart it on
the same database and port, and prove that every write that got a 2xx is stored exactly once.

The kill moments are random (seeded; the seed is printed, and THREADLINE_TEST_CRASH_SEED replays
a run). Clients retry a write whose connection failed, as the SDK does, so a write the server
committed but never answered may land once on its retry; acknowledged means stored, never twice.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select

from tests.e2e.conftest import LiveServer, log_excerpt, stored_id_counts
from threadline.store import tables
from threadline.store.engine import open_database

pytestmark = pytest.mark.e2e

# Each restart costs ~4 s of CI; six kills at random moments still catch the writer mid-commit.
KILLS = 6
KILL_DELAY_SECONDS = (0.3, 2.5)
WORKERS = 8
MIN_ACKNOWLEDGED = 500
TURNS_PER_CONVERSATION = 6
# Bounded waits: for the first 2xx after a restart, for a write to be answered at all.
FIRST_ACK_SECONDS = 15.0
ANSWER_SECONDS = 20.0
ENOUGH_SECONDS = 45.0  # for the run's last stretch to reach MIN_ACKNOWLEDGED
RUN_SECONDS = 120.0  # hard stop for the clients, far beyond a normal run (~30 s)
# Connection failures that prove a request was in flight when the server died (not merely
# refused while it was down).
REFUSED = {"transport:ConnectError", "transport:ConnectTimeout"}


class Ledger:
    """What the clients sent and what the server acknowledged, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes = Counter[str]()
        self.acked_events: set[str] = set()
        self.acked_feedback: set[str] = set()
        # conversation id -> (message id -> content) for every acknowledged post of it
        self.acked_messages: dict[str, dict[str, str]] = defaultdict(dict)
        self.sent_events: set[str] = set()
        self.sent_feedback: set[str] = set()
        self.sent_conversations: dict[str, int] = {}  # id -> longest history posted
        self.unexpected: list[str] = []

    @property
    def acknowledged(self) -> int:
        with self.lock:
            return self.outcomes["2xx"]

    def count(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1

    def wrong(self, what: str) -> None:
        with self.lock:
            self.unexpected.append(what)


class Client(threading.Thread):
    """One client: events mostly, some feedback, and one conversation growing turn by turn."""

    def __init__(self, n: int, base_url: str, key: str, run: str, seed: int, ledger: Ledger):
        super().__init__(name=f"crash-client-{n}", daemon=True)
        self.n = n
        self.base_url = base_url
        self.key = key
        self.run_id = run
        # Each client is one browser: its web key may re-post (retry) only its own user's records.
        self.user = {"id": f"{run}-user{n}", "identificationType": "COOKIED"}
        self.rng = random.Random(seed * 100 + n)
        self.ledger = ledger
        self.stopping = threading.Event()
        self.writes = 0
        self.conversation: tuple[str, list[dict[str, str]]] | None = None
        self.conversations = 0

    def run(self) -> None:
        deadline = time.monotonic() + RUN_SECONDS
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(
            base_url=self.base_url, headers=headers, timeout=10.0, trust_env=False
        ) as client:
            while not self.stopping.is_set() and time.monotonic() < deadline:
                self.writes += 1
                draw = self.rng.random()
                if draw < 0.8:
                    self._event(client)
                elif draw < 0.9:
                    self._feedback(client)
                else:
                    self._conversation_turn(client)

    def _send(self, client: httpx.Client, path: str, body: dict[str, Any]) -> Any | None:
        """POST until answered with something other than 503 or a connection failure; None if
        the run ends first. A 2xx returns its JSON; anything else is recorded as unexpected."""
        answer_by = time.monotonic() + ANSWER_SECONDS
        while time.monotonic() < answer_by:
            try:
                response = client.post(path, json=body)
            except httpx.TransportError as exc:
                self.ledger.count(f"transport:{type(exc).__name__}")
                if self.stopping.is_set():
                    return None
                time.sleep(0.05)
                continue
            if response.status_code == 503:
                self.ledger.count("503")
                if response.headers.get("content-type") != "application/problem+json" or (
                    "retry-after" not in response.headers
                ):
                    self.ledger.wrong(f"503 without problem+json/Retry-After: {response.text}")
                time.sleep(0.05)
                continue
            if 200 <= response.status_code < 300:
                self.ledger.count("2xx")
                return response.json()
            self.ledger.count(str(response.status_code))
            self.ledger.wrong(
                f"POST {path} {body.get('id')}: {response.status_code} {response.text}"
            )
            return None
        self.ledger.count("unanswered")
        return None

    def _event(self, client: httpx.Client) -> None:
        event_id = f"{self.run_id}-e{self.n}-{self.writes}"
        body = {"id": event_id, "type": "crash", "entityType": "search", "searchQuery": event_id}
        with self.ledger.lock:
            self.ledger.sent_events.add(event_id)
        stored = self._send(client, "/events", body)
        if stored is None:
            return
        if stored.get("id") != event_id or stored.get("searchQuery") != event_id:
            self.ledger.wrong(f"event {event_id} answered with {stored}")
        with self.ledger.lock:
            self.ledger.acked_events.add(event_id)

    def _feedback(self, client: httpx.Client) -> None:
        feedback_id = f"{self.run_id}-f{self.n}-{self.writes}"
        body = {
            "id": feedback_id,
            "type": "positive",
            "messageId": f"m-{feedback_id}",
            "userProperties": self.user,
        }
        with self.ledger.lock:
            self.ledger.sent_feedback.add(feedback_id)
        stored = self._send(client, "/feedback", body)
        if stored is None:
            return
        if stored.get("id") != feedback_id:
            self.ledger.wrong(f"feedback {feedback_id} answered with {stored}")
        with self.ledger.lock:
            self.ledger.acked_feedback.add(feedback_id)

    def _conversation_turn(self, client: httpx.Client) -> None:
        """The widget pattern: the whole history re-posted with one more message each turn.
        Every other conversation sends no message ids, so the server derives them by position."""
        if self.conversation is None or len(self.conversation[1]) >= TURNS_PER_CONVERSATION:
            self.conversations += 1
            self.conversation = (f"{self.run_id}-c{self.n}-{self.conversations}", [])
        conversation_id, history = self.conversation
        turn = len(history)
        message = {"role": "user" if turn % 2 == 0 else "assistant", "content": f"turn {turn}"}
        if self.conversations % 2 == 0:
            message["id"] = f"{conversation_id}-m{turn}"
        history.append(message)
        with self.ledger.lock:
            self.ledger.sent_conversations[conversation_id] = len(history)
        body = {
            "id": conversation_id,
            "type": "openai",
            "messages": history,
            "userProperties": self.user,
        }
        stored = self._send(client, "/conversations", body)
        if stored is None:
            return
        answered = [(m.get("id"), m.get("content")) for m in stored.get("messages", [])]
        sent = [m["content"] for m in history]
        if [content for _, content in answered] != sent or any(
            "id" in m and m["id"] != answered_id
            for m, (answered_id, _) in zip(history, answered, strict=False)
        ):
            self.ledger.wrong(f"conversation {conversation_id} answered {answered}, sent {history}")
            return
        with self.ledger.lock:
            self.ledger.acked_messages[conversation_id].update(dict(answered))


class Restarts:
    """The server on one database and port, killed and started again; each run logs apart."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.servers: list[LiveServer] = []
        self._start(port=None)

    @property
    def current(self) -> LiveServer:
        return self.servers[-1]

    def _start(self, port: int | None) -> None:
        workdir = self.tmp_path / f"run-{len(self.servers):02d}"
        workdir.mkdir()
        self.servers.append(LiveServer(self.database_url, workdir, port=port))
        self.current.wait_until_healthy()

    def kill_and_restart(self) -> None:
        self.current.kill()
        self._start(port=self.current.port)

    def logs(self) -> str:
        """The logs of every run, from the first error on (see log_excerpt)."""
        return log_excerpt("\n".join(f"--- {s.workdir.name} ---\n{s.log}" for s in self.servers))

    def close(self) -> None:
        self.current.kill()


@pytest.fixture
def restarts(database_url: str, tmp_path: Path) -> Iterator[Restarts]:
    servers = Restarts(database_url, tmp_path)
    try:
        yield servers
    finally:
        servers.close()  # a no-op once the test has stopped it cleanly


def _seed() -> int:
    given = os.environ.get("THREADLINE_TEST_CRASH_SEED")
    return int(given) if given else random.SystemRandom().randrange(2**32)


def _wait_for_acks(
    ledger: Ledger, at_least: int, restarts: Restarts, within: float = FIRST_ACK_SECONDS
) -> None:
    deadline = time.monotonic() + within
    while ledger.acknowledged < at_least:
        assert time.monotonic() < deadline, (
            f"{at_least} writes not acknowledged within {within:.0f} s "
            f"(outcomes {ledger.outcomes}, unexpected {ledger.unexpected[:5]})\n{restarts.logs()}"
        )
        time.sleep(0.02)


def _stored_messages(database_url: str, run: str) -> list[Any]:
    database = open_database(database_url, read_pool_size=1)
    m = tables.messages
    try:
        with database.reader.connect() as connection:
            return list(
                connection.execute(
                    select(m.c.conversation_id, m.c.id, m.c.position, m.c.content).where(
                        m.c.conversation_id.like(f"{run}-%")
                    )
                )
            )
    finally:
        database.dispose()


def _assert_each_once(acked: set[str], stored: dict[str, int], sent: set[str], what: str) -> None:
    lost = sorted(acked - stored.keys())
    assert not lost, f"{len(lost)} acknowledged {what} lost: {lost[:10]}"
    twice = {key: n for key, n in stored.items() if n != 1}
    assert not twice, f"{what} stored more than once: {twice}"
    unsent = sorted(stored.keys() - sent)
    assert not unsent, f"{what} stored that no client sent: {unsent[:10]}"


def _assert_conversations(ledger: Ledger, database_url: str, run: str) -> None:
    conversations = stored_id_counts(database_url, tables.conversations, run)
    acked = set(ledger.acked_messages)
    _assert_each_once(acked, conversations, set(ledger.sent_conversations), "conversations")
    by_conversation: dict[str, list[Any]] = defaultdict(list)
    for row in _stored_messages(database_url, run):
        by_conversation[row.conversation_id].append(row)
    for conversation_id, rows in by_conversation.items():
        positions = sorted(row.position for row in rows)
        assert positions == list(range(len(rows))), (conversation_id, positions)
        assert len(rows) <= ledger.sent_conversations[conversation_id], (conversation_id, rows)
        ids = Counter(row.id for row in rows)
        assert all(n == 1 for n in ids.values()), (conversation_id, ids)
    for conversation_id, messages in ledger.acked_messages.items():
        stored = {row.id: row.content for row in by_conversation[conversation_id]}
        missing = {k: v for k, v in messages.items() if stored.get(k) != v}
        assert not missing, f"{conversation_id}: acknowledged messages lost: {missing}"


def test_sigkill_loses_no_acknowledged_write(restarts: Restarts, database_url: str) -> None:
    seed = _seed()
    print(f"crash test seed: {seed} (THREADLINE_TEST_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    run = f"crash-{uuid.uuid4().hex[:10]}"
    key = restarts.current.create_key("web")
    ledger = Ledger()
    clients = [Client(n, restarts.current.base_url, key, run, seed, ledger) for n in range(WORKERS)]
    for client in clients:
        client.start()
    try:
        for _ in range(KILLS):
            _wait_for_acks(ledger, ledger.acknowledged + WORKERS, restarts)
            time.sleep(rng.uniform(*KILL_DELAY_SECONDS))
            restarts.kill_and_restart()
        # Enough writes for the run to prove something, however slow the machine: the clients
        # go on until then (at load 11 the kills' random delays alone left 382 acknowledged).
        enough = max(ledger.acknowledged + WORKERS, MIN_ACKNOWLEDGED + 1)
        _wait_for_acks(ledger, enough, restarts, within=ENOUGH_SECONDS)
    finally:
        for client in clients:
            client.stopping.set()
        for client in clients:
            client.join(timeout=ANSWER_SECONDS + 10)
    assert not any(client.is_alive() for client in clients), "a client thread did not finish"
    restarts.current.stop_cleanly()

    summary = f"seed {seed}, outcomes {dict(ledger.outcomes)}"
    print(summary)
    assert not ledger.unexpected, f"{summary}\n{ledger.unexpected[:10]}\n{restarts.logs()}"
    assert ledger.acknowledged > MIN_ACKNOWLEDGED, summary
    assert ledger.acked_feedback and ledger.acked_messages, (
        f"no feedback or conversation: {summary}"
    )
    in_flight = sum(
        n
        for outcome, n in ledger.outcomes.items()
        if outcome.startswith("transport:") and outcome not in REFUSED
    )
    assert in_flight > 0, f"no kill caught a request in flight: {summary}"
    assert len(restarts.servers) == KILLS + 1
    assert not any("Traceback" in server.log for server in restarts.servers), restarts.logs()

    _assert_each_once(
        ledger.acked_events,
        stored_id_counts(database_url, tables.events, run),
        ledger.sent_events,
        "events",
    )
    _assert_each_once(
        ledger.acked_feedback,
        stored_id_counts(database_url, tables.feedback, run),
        ledger.sent_feedback,
        "feedback",
    )
    _assert_conversations(ledger, database_url, run)
