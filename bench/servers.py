"""Fresh databases and server processes for bench/run.py, each cleaned up even on failure.

A Server is a subprocess on 127.0.0.1 whose peak RSS and CPU time can be read from /proc while it
runs; a Database is a temp SQLite file or a PostgreSQL database created for one scenario and
dropped after it. Whatever is still alive at exit (an exception, Ctrl-C, SIGTERM) is stopped by
an atexit hook; a SIGKILLed run.py takes its servers with it (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
HERE = Path(__file__).resolve().parent
STARTUP_SECONDS = 30
STOP_SECONDS = 60

_live_servers: list[Server] = []
_live_databases: list[Database] = []


def _cleanup() -> None:
    for server in list(_live_servers):
        server.stop()
    for database in list(_live_databases):
        database.drop()


atexit.register(_cleanup)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when run.py dies, even by SIGKILL (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Database:
    """A database for one scenario: `url` for threadline, `count_events()` once it has stopped."""

    def __init__(self, kind: str, workdir: Path, name: str) -> None:
        self.kind = kind
        self._name = name
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / (name + '.db')}"
        else:
            with _admin() as admin, admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            self.url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        _live_databases.append(self)

    def count_events(self, table: str = "events") -> tuple[int, int]:
        """(rows, distinct client ids) in the events table, or `table`."""
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as connection:
                rows, distinct = connection.execute(
                    text(f"SELECT count(*), count(DISTINCT id) FROM {table}")
                ).one()
        finally:
            engine.dispose()
        return int(rows), int(distinct)

    def drop(self) -> None:
        if self in _live_databases:
            _live_databases.remove(self)
        if self.kind == "postgresql":
            with _admin() as admin, admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
        # SQLite files live in run.py's temp directory, removed with it.


@contextlib.contextmanager
def _admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the maintenance database (CREATE/DROP DATABASE need one)."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        yield engine
    finally:
        engine.dispose()


# "uvicorn" (as `threadline serve` runs), or "granian" (bench/run.py --http-server, issue 14).
HTTP_SERVER = "uvicorn"


def _granian(port: int, *target: str) -> list[str]:
    """granian serving `target` from bench/ as uvicorn is run: one process, uvloop, no access
    log, HTTP/1.1."""
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--loop", "uvloop"]
    command += ["--http", "1", "--workers", "1", "--no-ws", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--working-dir", str(HERE), "--log-level", "warning"]
    return command + list(target)


def create_key(database_url: str) -> str:
    """A web key made with the real CLI (which also migrates the fresh database)."""
    command = [sys.executable, "-m", "threadline", "keys", "create", "--project", "bench"]
    command += ["--integration", "wrk", "--kind", "web", "--database-url", database_url]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    return done.stdout.strip()


def _cpu_seconds(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()  # utime, stime: fields 14, 15 of stat
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A server subprocess listening on 127.0.0.1:`port`, its output in `log_path`."""

    def __init__(
        self, command: list[str], port: int, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.port = port
        self.log_path = log_path
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                env={**os.environ, **(env or {})},
            )
        _live_servers.append(self)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    @classmethod
    def threadline(
        cls, database_url: str, log_path: Path, env: dict[str, str] | None = None
    ) -> Server:
        """`threadline serve`; `env` adds THREADLINE_* settings."""
        port = free_port()
        if HTTP_SERVER == "granian":
            command = _granian(port, "--factory", "granian_app:threadline")
            env = {**(env or {}), "THREADLINE_DATABASE_URL": database_url}
            env["THREADLINE_LOG_LEVEL"] = "warning"
            return cls(command, port, log_path, env)
        command = [sys.executable, "-m", "threadline", "serve", "--port", str(port)]
        command += ["--database-url", database_url, "--log-level", "warning"]
        return cls(command, port, log_path, env)

    @classmethod
    def ceiling(cls, log_path: Path) -> Server:
        port = free_port()
        if HTTP_SERVER == "granian":
            return cls(_granian(port, "granian_app:ceiling"), port, log_path)
        command = [sys.executable, str(HERE / "ceiling.py"), "--port", str(port)]
        return cls(command, port, log_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server not healthy after {STARTUP_SECONDS} s: {self.log_tail()}")

    def get(self, path: str) -> bytes | None:
        try:
            # Generous: after an overload run the server is still answering the last requests.
            with urllib.request.urlopen(f"{self.url}{path}", timeout=30) as answer:
                return bytes(answer.read())
        except OSError:
            return None

    def _serving_pid(self) -> int:
        """The process that runs the app: granian's one worker (a child of its supervisor, which
        only watches it), else the server process itself."""
        pid = self.process.pid
        if HTTP_SERVER == "granian":
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if children:
                return int(children[0])
        return pid

    def peak_rss_mb(self) -> float:
        """The serving process's resident-set high-water mark (VmHWM) so far."""
        for line in Path(f"/proc/{self._serving_pid()}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU time used so far: (main thread, which runs the event loop; every
        other thread together: threadline's writer, thread pools, live or exited; under
        granian, its worker's and its supervisor's)."""
        pid = self._serving_pid()
        whole = _cpu_seconds(Path(f"/proc/{pid}/stat"))
        if pid != self.process.pid:
            whole += _cpu_seconds(Path(f"/proc/{self.process.pid}/stat"))
        main = _cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))
        return main, whole - main

    def stop(self) -> int | None:
        """SIGTERM (threadline drains its queued writes), then SIGKILL if it hangs."""
        if self in _live_servers:
            _live_servers.remove(self)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)
        return self.process.returncode

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""
