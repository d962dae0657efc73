"""An HTTP process per core feeding one writer process: a measured prototype (issue 14, session 5),
not the product. It serves POST /events only, with threadline's own per-event work (bearer key
hash, `wire.decode` of EventIn, `store.events.prepare_event`, the prebuilt insert's parameters,
`event_out` encoded as the answer) and answers only after COMMIT, in two shapes:

- one:   one uvicorn process; a writer thread in it, fed by a queue (the issue's ~90-line shape);
- split: --http-processes uvicorn processes on one port (SO_REUSEPORT), each sending its events
         over a Unix socket to one writer process, which commits them and sends back their tokens.

bench/multiprocess_run.py measures them beside `threadline serve`. Not here, so not paid for:
rate limits, shedding (503), Idempotency-Key, redaction, the columnar copy, CORS, the head and
body deadlines, the writer's outage rules.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import uvicorn
from ceiling import lifespan

from threadline.api.events import event_out
from threadline.auth import hash_key
from threadline.store.events import _INSERT as EVENTS
from threadline.store.events import prepare_event
from threadline.wire.decode import decode
from threadline.wire.events import EventIn

_FRAME = struct.Struct("!I")
_JSON = [(b"content-type", b"application/json")]
_Items = list[tuple[int, tuple[Any, ...]]]  # (token, the insert's parameters)


class Committer:
    """The one thread owning the SQLite connection: everything queued when it wakes goes into
    one transaction; `done(batches)` is called with the batches only after COMMIT."""

    def __init__(self, path: str, done: Callable[[list[Any]], None]) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = done
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        threading.Thread(target=self._run, name="committer", daemon=True).start()

    def put(self, batch: tuple[Any, _Items]) -> None:
        self._queue.put(batch)

    def _run(self) -> None:
        while True:
            batches = [self._queue.get()]
            while True:
                try:
                    batches.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = [parameters for _, items in batches for _, parameters in items]
            self._connection.execute("BEGIN")
            for start in range(0, len(rows), 256):  # as store.prebuilt: multi-row statements
                chunk = rows[start : start + 256]
                flat = [value for row in chunk for value in row]
                self._connection.execute(EVENTS.sql("qmark", len(chunk)), flat)
            self._connection.execute("COMMIT")
            self._done(batches)


class Front:
    """The ASGI app of one HTTP process: POST /events prepared here, committed elsewhere."""

    def __init__(self, keys: dict[str, tuple[str, str]]) -> None:
        self._keys = keys  # key hash -> (project, integration)
        self._waiting: dict[int, tuple[asyncio.Future[None], dict[str, Any]]] = {}
        self._pending: _Items = []
        self._tokens = 0
        self.submit: Callable[[_Items], None] = lambda items: None

    def committed(self, tokens: list[int]) -> None:
        for token in tokens:
            future, _ = self._waiting.pop(token)
            future.set_result(None)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] != "POST":  # GET /health
            await _answer(send, 200, b"{}")
            return
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
        principal = self._keys.get(hash_key(authorization.partition(" ")[2]))
        if principal is None:
            await _answer(send, 401, b"{}")
            return
        event = prepare_event(
            project_id=principal[0], integration_id=principal[1], body=decode(body, EventIn)
        )
        future = asyncio.get_running_loop().create_future()
        self._tokens += 1
        self._waiting[self._tokens] = (future, event.row)
        self._pending.append((self._tokens, EVENTS.parameters(event.row)))
        if len(self._pending) == 1:  # one hand-off per loop turn, whatever arrived in it
            asyncio.get_running_loop().call_soon(self._flush)
        await future
        await _answer(send, 200, msgspec.json.encode(event_out(event.row)))

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self.submit(pending)


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _keys(path: str) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT key_hash, project_id, integration_id FROM api_keys")
        return {key_hash: (project, integration) for key_hash, project, integration in rows}


def _listen(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _serve(app: Any, sock: socket.socket) -> None:
    config = uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning")
    config.access_log = False
    uvicorn.Server(config).run(sockets=[sock])


def serve_one(database: str, port: int) -> None:
    """Mode one: HTTP and the writer thread in this process."""
    front = Front(_keys(database))
    loop: asyncio.AbstractEventLoop | None = None

    def done(batches: list[Any]) -> None:
        tokens = [token for _, items in batches for token, _ in items]
        assert loop is not None
        loop.call_soon_threadsafe(front.committed, tokens)

    committer = Committer(database, done)

    def submit(items: _Items) -> None:
        nonlocal loop
        loop = asyncio.get_running_loop()
        committer.put((None, items))

    front.submit = submit
    _serve(front, _listen(port))


def serve_http(database: str, port: int, writer_socket: str) -> None:
    """Mode split, one HTTP process: events go to the writer process and back as ids."""
    front = Front(_keys(database))
    sock = _listen(port)

    async def connect() -> None:
        reader, writer = await asyncio.open_unix_connection(writer_socket)
        front.submit = lambda items: writer.write(_frame(items))

        async def acks() -> None:
            while True:
                front.committed(await _read_frame(reader))

        asyncio.get_running_loop().create_task(acks())

    class App:
        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                await connect()
            await front(scope, receive, send)

    _serve(App(), sock)


def _frame(value: Any) -> bytes:
    payload = msgspec.msgpack.encode(value)
    return _FRAME.pack(len(payload)) + payload


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
    return msgspec.msgpack.decode(await reader.readexactly(size))


def serve_split(database: str, port: int, http_processes: int) -> None:
    """Mode split: this process is the writer; it starts the HTTP processes."""
    writer_socket = tempfile.mktemp(suffix=".sock", dir=Path(database).parent)
    children: list[subprocess.Popen[bytes]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        connections: dict[int, asyncio.StreamWriter] = {}

        def send_acks(batches: list[Any]) -> None:
            for connection, items in batches:
                connections[connection].write(_frame([token for token, _ in items]))

        committer = Committer(
            database, lambda batches: loop.call_soon_threadsafe(send_acks, batches)
        )

        async def take(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections[id(writer)] = writer
            while True:
                try:
                    items = await _read_frame(reader)
                except asyncio.IncompleteReadError:
                    return
                committer.put((id(writer), items))

        await asyncio.start_unix_server(take, writer_socket)
        command = [sys.executable, __file__, "serve-http", "--database", database]
        command += ["--port", str(port), "--writer-socket", writer_socket]
        children.extend(subprocess.Popen(command) for _ in range(http_processes))
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        for child in children:
            child.terminate()
        for child in children:
            await asyncio.to_thread(child.wait)

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["serve-one", "serve-split", "serve-http"])
    parser.add_argument("--database", required=True, help="a migrated threadline SQLite file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http-processes", type=int, default=2)
    parser.add_argument("--writer-socket", default="")
    args = parser.parse_args()
    if args.command == "serve-one":
        serve_one(args.database, args.port)
    elif args.command == "serve-split":
        serve_split(args.database, args.port, args.http_processes)
    else:
        serve_http(args.database, args.port, args.writer_socket)


if __name__ == "__main__":
    main()
