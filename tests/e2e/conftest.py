"""`live_server`: the real `python -m threadline serve` in a subprocess, on SQLite and PostgreSQL.

Keys are made by the real CLI (`threadline keys create`) in a subprocess of its own, so these
tests see exactly what an operator following the README sees. Teardown sends SIGTERM and
insists on a clean exit (code 0) within the graceful-shutdown window.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Table, create_engine, func, select, text

from tests.conftest import POSTGRES_ADMIN_URL
from threadline.store.engine import normalize_url, open_database

# A deadline, not a wait: a healthy server answers within a second or two, but a 2-core CI
# machine running two test workers (scripts/test) has taken over 20 s to start one under load.
STARTUP_SECONDS = 60.0
SHUTDOWN_SECONDS = 30.0
CLI_SECONDS = 60.0


# The banner's first line once the socket is bound: the port the kernel chose for --port 0.
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def _child_env() -> dict[str, str]:
    """The environment minus THREADLINE_* settings, so only the flags we pass decide."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class LiveServer:
    """One running `threadline serve` process and the database it writes to."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Starts the process; `port` reuses a port (a restart after kill()), else the server
        binds port 0 and its banner says which port it got (no probe-then-bind race with other
        processes); `env` adds THREADLINE_* settings."""
        self.database_url = database_url
        self.workdir = workdir
        self.port = port if port is not None else 0
        self.log_path = workdir / "server.log"
        self.returncode: int | None = None
        self.killed = False
        self._log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "threadline",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--database-url",
                database_url,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**_child_env(), **(env or {})},
        )

    @property
    def base_url(self) -> str:
        assert self.port, "the server's port is known once it is healthy (wait_until_healthy)"
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """Everything the server has printed so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def client(self, **options: Any) -> httpx.Client:
        """An HTTP client for this server (never through a proxy from the environment)."""
        return httpx.Client(base_url=self.base_url, trust_env=False, **{"timeout": 10.0, **options})

    def wait_until_healthy(self, timeout: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not self.port and time.monotonic() < deadline:
            self._exited_early("printing its banner")
            if found := LISTENING.search(self.log):
                self.port = int(found.group(1))
            else:
                time.sleep(0.05)
        if not self.port:
            self._kill()
            pytest.fail(
                f"threadline serve printed no banner within {timeout:.0f} s."
                f"\n--- server log ---\n{self.log}"
            )
        with self.client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                self._exited_early("answering /health")
                try:
                    if client.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self._kill()
        pytest.fail(
            f"threadline serve did not answer GET /health within {timeout:.0f} s."
            f"\n--- server log ---\n{self.log}"
        )

    def _exited_early(self, before: str) -> None:
        if self.process.poll() is not None:
            self.returncode = self.process.returncode
            self._close_log()
            pytest.fail(
                f"threadline serve exited with {self.process.returncode} before {before}."
                f"\n--- server log ---\n{self.log}"
            )

    def create_key(self, kind: str, project: str = "docs", integration: str = "docs site") -> str:
        """A new key from `threadline keys create`; its stdout is the key alone."""
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "threadline",
                "keys",
                "create",
                "--project",
                project,
                "--integration",
                integration,
                "--kind",
                kind,
                "--database-url",
                self.database_url,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env=_child_env(),
            timeout=CLI_SECONDS,
            check=False,
        )
        assert result.returncode == 0, (
            f"threadline keys create --kind {kind} exited with {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        key = result.stdout.strip()
        assert key and "\n" not in key and " " not in key, (
            f"stdout is not one key: {result.stdout!r}"
        )
        return key

    def children(self) -> list[int]:
        """The process ids of the server's child processes (the insight worker), from /proc."""
        found: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(pid) for pid in (task / "children").read_text().split()]
        return found

    def stop(self) -> int:
        """SIGTERM, then wait for a graceful exit; fails (after SIGKILL) if it takes too long.

        Idempotent: returns the exit code of the first stop.
        """
        if self.returncode is not None:
            return self.returncode
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.process.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            self._kill()
            pytest.fail(
                f"threadline serve did not exit within {SHUTDOWN_SECONDS:.0f} s of SIGTERM; "
                f"killed.\n--- server log ---\n{self.log}"
            )
        self._close_log()
        return self.returncode

    def stop_cleanly(self) -> None:
        """stop(), and insist that a SIGTERM-ed server exits with status 0."""
        code = self.stop()
        assert code == 0, f"threadline serve exited with {code}.\n--- server log ---\n{self.log}"

    def kill(self) -> None:
        """SIGKILL: no drain, no shutdown hooks (a crash, as far as the OS can stage one)."""
        self.killed = True
        self._kill()

    def _kill(self) -> None:
        children = self.children()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.returncode = self.process.returncode
        self._close_log()
        # The insight worker notices its server is gone within a second or two; until then it
        # could still take work from the next test's database rows.
        left = wait_gone(children, SHUTDOWN_SECONDS)
        assert not left, f"the server's child processes {left} outlived it"

    def _close_log(self) -> None:
        if not self._log_file.closed:
            self._log_file.close()


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait for a reaper)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """The processes among `pids` still running after up to `seconds`."""
    deadline = time.monotonic() + seconds
    while (alive := [pid for pid in pids if running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def log_excerpt(log: str, lines: int = 40) -> str:
    """A server log from its first ERROR (or Traceback) on, without library frames: what a
    failing assertion should show instead of the whole log."""
    all_lines = log.splitlines()
    first = next(
        (i for i, line in enumerate(all_lines) if " ERROR " in line or "Traceback" in line),
        max(0, len(all_lines) - lines),
    )
    kept: list[str] = []
    library_frame = False
    for line in all_lines[first:]:
        if line.startswith("  File "):
            library_frame = "site-packages" in line
        elif not (library_frame and line.startswith("    ")):
            library_frame = False
        if not library_frame:
            kept.append(line)
    return "--- server log (excerpt) ---\n" + "\n".join(kept[:lines])


@contextlib.contextmanager
def serving(server: LiveServer) -> Iterator[LiveServer]:
    """`server` once healthy (killed if it never is); afterwards stopped, asserting exit
    status 0, unless the test stopped it itself. For fixtures of servers with settings."""
    try:
        server.wait_until_healthy()
    except BaseException:
        server.kill()
        raise
    yield server
    if not server.killed:
        server.stop_cleanly()


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A running server; teardown stops it (unless the test did) and asserts exit status 0."""
    with serving(LiveServer(database_url, tmp_path)) as server:
        yield server


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, created empty (never migrated), dropped after."""
    name = f"threadline_e2e_{os.getpid()}_{time.monotonic_ns()}"
    admin = create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = normalize_url(POSTGRES_ADMIN_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def stored_id_counts(database_url: str, table: Table, run: str) -> dict[str, int]:
    """How many rows of `table` carry each client id of this run (ids start with `run-`),
    read straight from the database: the crash and outage tests want every count to be 1."""
    database = open_database(database_url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            rows = connection.execute(
                select(table.c.id, func.count())
                .where(table.c.id.like(f"{run}-%"))
                .group_by(table.c.id)
            )
            return {row[0]: row[1] for row in rows}
    finally:
        database.dispose()
