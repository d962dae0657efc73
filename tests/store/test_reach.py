"""Reaching the database at start (threadline.store.reach): one line when it cannot be reached,
and a wait that ends as soon as it can."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.conftest import BACKENDS
from threadline.store.reach import DatabaseUnreachable, try_database, wait_for_database


def closed_port() -> int:
    """A port nothing listens on: bound to find a free one, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class LateDatabase:
    """A URL whose database cannot be reached until `arrive()`.

    PostgreSQL: a port bound but not listening (connections are refused) which, once it
    arrives, forwards to the real server. SQLite: a file under a path whose "directory" is a
    plain file, until that file makes way for a directory."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self._real = make_url(database_url)
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        if self._real.get_backend_name() == "sqlite":
            self._blocker = tmp_path / "late"
            self._blocker.write_text("a file where the directory should be")
            self.url = f"sqlite:///{self._blocker / 'threadline.db'}"
            return
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        self.url = self._real.set(port=port).render_as_string(hide_password=False)

    def arrive(self) -> None:
        if self._listener is None:
            self._blocker.unlink()
            self._blocker.mkdir()
            return
        self._listener.listen()
        self._start(self._accept)

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in self._sockets:
            sock.close()

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection((self._real.host, self._real.port or 5432))
            self._sockets += [client, server]
            self._start(self._pipe, client, server)
            self._start(self._pipe, server, client)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def late_database(database_url: str, tmp_path: Path) -> Iterator[LateDatabase]:
    late = LateDatabase(database_url, tmp_path)
    yield late
    late.close()


def unreachable_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        (tmp_path / "not-a-directory").write_text("")
        return f"sqlite:///{tmp_path / 'not-a-directory' / 'threadline.db'}"
    return f"postgresql://postgres:secret@127.0.0.1:{closed_port()}/threadline"


def test_a_reachable_database_answers(database_url: str) -> None:
    assert try_database(database_url) is None
    wait_for_database(database_url, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unreachable_database_is_one_line_naming_it(backend: str, tmp_path: Path) -> None:
    url = unreachable_url(backend, tmp_path)
    retries: list[str] = []
    with pytest.raises(DatabaseUnreachable) as caught:
        wait_for_database(url, 0, on_retry=lambda reason, _pause: retries.append(reason))
    message = str(caught.value)
    assert "\n" not in message and retries == []
    if backend == "sqlite":
        assert message.startswith(f"cannot reach the database sqlite:///{tmp_path}")
        assert "File exists" in message
    else:
        port = make_url(url).port
        assert message.startswith(
            f"cannot reach the database postgresql://postgres:***@127.0.0.1:{port}/"
        )
        assert "Connection refused" in message and "secret" not in message


def test_the_wait_ends_once_the_database_arrives(late_database: LateDatabase) -> None:
    reasons: list[str] = []

    def retrying(reason: str, pause: float) -> None:
        assert pause > 0
        reasons.append(reason)
        if len(reasons) == 2:
            late_database.arrive()

    with pytest.raises(DatabaseUnreachable):
        wait_for_database(late_database.url, 0)
    # No real pauses: the database arrives during the second one.
    wait_for_database(late_database.url, 60, on_retry=retrying, sleep=lambda _seconds: None)
    assert len(reasons) == 2


def test_the_wait_gives_up_after_its_time(late_database: LateDatabase) -> None:
    now = [0.0]
    pauses: list[float] = []

    def pausing(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    with pytest.raises(DatabaseUnreachable, match=r"\(tried 4 times in 1 s\)$"):
        wait_for_database(late_database.url, 1, clock=lambda: now[0], sleep=pausing)
    # Doubling pauses, the last cut to the time left.
    assert pauses == [0.25, 0.5, 0.25]
