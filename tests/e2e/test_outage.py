"""A PostgreSQL outage under load, staged with a TCP proxy between threadline and PostgreSQL.

While writes flow, the proxy cuts every connection and resets new ones for longer than the key
cache lasts, then lets connections through again. threadline must refuse with 503 + Retry-After
during the cut (never acknowledge what it could not store), report itself unready, and take
writes again once the database is back, without a restart.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.assertions import assert_problem
from tests.e2e.conftest import LiveServer, log_excerpt, stored_id_counts
from threadline.store import tables
from threadline.store.engine import normalize_url

pytestmark = pytest.mark.e2e

POSTGRES = ("127.0.0.1", 5432)
CLIENTS = 4
# Longer than THREADLINE_KEY_CACHE_SECONDS (5): requests must also authenticate during the cut.
CUT_SECONDS = 6.0
ACKS_BEFORE_CUT = 50
RECOVERY_SECONDS = 15.0
SETTLE_SECONDS = 0.5  # after cut(): requests already past the database may still finish


def _reset(sock: socket.socket) -> None:
    """Close abruptly: SO_LINGER 0 makes close() send RST; shutdown() wakes a blocked recv()."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 to PostgreSQL; cut() drops every connection and resets new
    ones until restore()."""

    def __init__(self, upstream: tuple[str, int] = POSTGRES) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._cut = False
        self._closed = threading.Event()
        self.accepted = 0
        self.refused = 0
        self._thread = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            connections, self._connections = self._connections, set()
        for sock in connections:
            _reset(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            with self._lock:
                cut = self._cut
            if cut:
                self.refused += 1
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            with self._lock:
                if self._cut:
                    _reset(client)
                    _reset(server)
                    continue
                self._connections.update((client, server))
                self.accepted += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(source)
                self._connections.discard(target)
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    running = CuttableProxy()
    try:
        yield running
    finally:
        running.close()


class Outcomes:
    """Each write's id, when it was sent and answered, and how (status or connection failure)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[tuple[str, float, float, str]] = []
        self.refusals: list[httpx.Response] = []

    def add(self, event_id: str, sent: float, answered: float, outcome: str) -> None:
        with self.lock:
            self.records.append((event_id, sent, answered, outcome))

    def acked_since(self, moment: float) -> int:
        with self.lock:
            return sum(
                1 for _, _, done, outcome in self.records if done >= moment and outcome == "200"
            )


def _write_events(
    server: LiveServer, key: str, run: str, n: int, stop: threading.Event, outcomes: Outcomes
) -> None:
    deadline = time.monotonic() + 60
    with server.client(headers={"Authorization": f"Bearer {key}"}, timeout=15.0) as client:
        i = 0
        while not stop.is_set() and time.monotonic() < deadline:
            i += 1
            event_id = f"{run}-{n}-{i}"
            body = {"id": event_id, "type": "outage", "entityType": "message", "messageId": "m"}
            sent = time.monotonic()
            try:
                response = client.post("/events", json=body)
            except httpx.TransportError as exc:
                outcomes.add(event_id, sent, time.monotonic(), type(exc).__name__)
                time.sleep(0.05)
                continue
            outcomes.add(event_id, sent, time.monotonic(), str(response.status_code))
            if response.status_code != 200:
                with outcomes.lock:
                    outcomes.refusals.append(response)
                time.sleep(0.05)


def _wait(condition: str, timeout: float, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {condition}"
        time.sleep(0.05)


def test_postgres_outage_refuses_then_recovers_without_restart(
    postgres_url: str, proxy: CuttableProxy, tmp_path: Path
) -> None:
    through_proxy = normalize_url(postgres_url).set(port=proxy.port)
    server = LiveServer(through_proxy.render_as_string(hide_password=False), tmp_path)
    try:
        server.wait_until_healthy()
        key = server.create_key("web")
        run = f"outage-{uuid.uuid4().hex[:10]}"
        outcomes = Outcomes()
        stop = threading.Event()
        clients = [
            threading.Thread(
                target=_write_events, args=(server, key, run, n, stop, outcomes), daemon=True
            )
            for n in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        try:
            with server.client(timeout=10.0) as probe:
                _wait("writes acknowledged", 15, lambda: outcomes.acked_since(0) >= ACKS_BEFORE_CUT)
                assert probe.get("/ready").status_code == 200

                proxy.cut()
                cut_at = time.monotonic()
                ready_during_cut = []
                while time.monotonic() < cut_at + CUT_SECONDS:
                    ready_during_cut.append(probe.get("/ready"))
                    time.sleep(0.2)
                restored_at = time.monotonic()
                proxy.restore()

                _wait(
                    "a write acknowledged after restore",
                    RECOVERY_SECONDS,
                    lambda: outcomes.acked_since(restored_at) > 0,
                )
                _wait(
                    "GET /ready answers 200 after restore",
                    RECOVERY_SECONDS,
                    lambda: probe.get("/ready").status_code == 200,
                )
                recovered_at = time.monotonic()
                _wait(
                    "more writes after recovery",
                    10,
                    lambda: outcomes.acked_since(recovered_at) >= CLIENTS,
                )
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=30)
        server.stop_cleanly()
    finally:
        server.kill()  # a no-op after a clean stop

    log = log_excerpt(server.log)
    summary = Counter(outcome for _, _, _, outcome in outcomes.records)
    print(f"outcomes {dict(summary)}; proxy accepted {proxy.accepted}, reset {proxy.refused}")

    # Every acknowledged write is stored, once.
    acknowledged = {event_id for event_id, _, _, outcome in outcomes.records if outcome == "200"}
    # Straight from PostgreSQL on 5432, not through the proxy.
    stored = stored_id_counts(postgres_url, tables.events, run)
    lost = sorted(acknowledged - stored.keys())
    assert not lost, f"{len(lost)} acknowledged writes lost: {lost[:10]}"
    assert all(n == 1 for n in stored.values()), stored

    # While no connection reached PostgreSQL, nothing was acknowledged and nothing refused stored.
    quiet = [r for r in outcomes.records if cut_at + SETTLE_SECONDS <= r[1] and r[2] <= restored_at]
    quiet_summary = Counter(outcome for *_, outcome in quiet)
    assert "200" not in quiet_summary, quiet_summary
    assert quiet_summary["503"] > 0, f"no 503 during the cut: {quiet_summary}\n{log}"
    refused_but_stored = [r[0] for r in quiet if r[3] != "200" and r[0] in stored]
    assert not refused_but_stored, refused_but_stored[:10]

    # Refusals are 503 problem+json with Retry-After; nothing else (a 500 above all) is allowed.
    unexpected = {o for o in summary if o not in {"200", "503"} and not o.endswith("Error")}
    assert not unexpected, f"outcomes {dict(summary)}, during the cut {dict(quiet_summary)}\n{log}"
    for response in outcomes.refusals:
        assert_problem(response, 503, "/events")
        assert int(response.headers["retry-after"]) >= 1

    statuses = [response.status_code for response in ready_during_cut]
    assert statuses and set(statuses) == {503}, f"GET /ready during the cut: {statuses}"
    for response in ready_during_cut:
        assert_problem(response, 503, "/ready")
        assert int(response.headers["retry-after"]) >= 1
    assert "Traceback" not in server.log, log
