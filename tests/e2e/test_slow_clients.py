"""Slow clients against the real server: more slow sockets than there are write slots cannot
block a normal write, and every one of them is closed once its deadline passes."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer, log_excerpt, serving
from threadline.protocol import MAX_HEAD_BYTES

pytestmark = pytest.mark.e2e

MAX_WRITES_IN_FLIGHT = 2
SLOW_BODIES = 2 * MAX_WRITES_IN_FLIGHT
# Small deadlines, so the test waits about this long; every wait below is bounded by SOCKET_WAIT.
DEADLINE_SECONDS = 1.0
SOCKET_WAIT = 20.0
EVENT = b'{"type": "t", "messageId": "m", "entityType": "message"}'


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(
        database_url,
        tmp_path,
        env={
            "THREADLINE_MAX_WRITES_IN_FLIGHT": str(MAX_WRITES_IN_FLIGHT),
            "THREADLINE_BODY_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
            "THREADLINE_HEADER_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
        },
    )
    with serving(server):
        yield server


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_WAIT)
    sock.settimeout(SOCKET_WAIT)  # every recv below fails the test rather than hang
    return sock


def _slow_body(server: LiveServer, key: str) -> socket.socket:
    """Headers announcing 100 bytes, then one byte once the server is reading the body (it
    says so with 100 Continue, the moment the handler first asks for the body)."""
    sock = _connect(server)
    sock.sendall(
        b"POST /events HTTP/1.1\r\nHost: threadline\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    interim = sock.recv(1024)
    assert interim.startswith(b"HTTP/1.1 100 "), interim
    sock.sendall(b"{")
    return sock


def _read_to_eof(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_slow_sockets_hold_no_write_slot_and_are_closed_after_their_deadline(
    server: LiveServer,
) -> None:
    key = server.create_key("web")
    slow_bodies = [_slow_body(server, key) for _ in range(SLOW_BODIES)]
    silent = _connect(server)  # connects and sends nothing
    half_head = _connect(server)
    half_head.sendall(b"POST /events HTTP/1.1\r\nHost: threadline\r\n")
    sockets = [*slow_bodies, silent, half_head]
    try:
        with server.client(timeout=SOCKET_WAIT) as client:
            response = client.post(
                "/events",
                content=EVENT,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
        assert response.status_code == 200, response.text
        for sock in slow_bodies:
            answer = _read_to_eof(sock)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 "), answer
            assert b"connection: close" in head.lower()
            assert b'"code":"request_timeout"' in body
        for sock in (silent, half_head):
            assert _read_to_eof(sock) == b""  # closed, with nothing to answer
    finally:
        for sock in sockets:
            sock.close()
    server.stop_cleanly()
    assert " ERROR " not in server.log and "Traceback" not in server.log, log_excerpt(server.log)


def _head_with(header_bytes: int) -> bytes:
    """A GET /health whose header lines (of 64 bytes each) add up to `header_bytes`."""
    lines = b"".join(b"X-Filler-%06d: %s\r\n" % (n, b"v" * 46) for n in range(header_bytes // 64))
    return b"GET /health HTTP/1.1\r\nHost: threadline\r\n" + lines + b"\r\n"


def test_a_head_past_its_bound_is_refused_and_one_within_it_answered(server: LiveServer) -> None:
    with _connect(server) as sock:
        # Sent in pieces, as a client streaming header lines would (uvicorn kept every one).
        # More than the bound plus two of the server's reads (256 KiB each), which it allows.
        huge = _head_with(16 * MAX_HEAD_BYTES)
        try:
            for start in range(0, len(huge), 16 * 1024):
                sock.sendall(huge[start : start + 16 * 1024])
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed once refused: the answer is already on its way
        answer = _read_to_eof(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in head.lower()
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (431, "request_header_fields_too_large")
    assert problem["instance"] == "/health" and problem["requestId"].startswith("req_")
    with _connect(server) as sock:
        sock.sendall(_head_with(MAX_HEAD_BYTES - 1024))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_pipelined_requests_are_not_counted_as_one_head(server: LiveServer) -> None:
    """Many small requests sent at once arrive in reads larger than the bound on heads; each
    head is small, so every one is answered."""
    requests = 20_000  # 0.8 MB of heads
    marker = b"HTTP/1.1 200 "
    with _connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: threadline\r\n\r\n" * requests)
        answered, tail = 0, b""
        while answered < requests:
            chunk = sock.recv(1 << 20)
            assert chunk, f"closed after {answered} answers"
            # A marker split between two reads is counted once: the tail is shorter than it.
            answered += (tail + chunk).count(marker)
            tail = chunk[-(len(marker) - 1) :]
    assert answered == requests


@pytest.fixture
def big_answers(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose conversations may hold 2,000 messages, and a short send deadline."""
    server = LiveServer(
        database_url,
        tmp_path,
        env={
            "THREADLINE_SEND_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
            "THREADLINE_MAX_MESSAGES_PER_CONVERSATION": "2000",
        },
    )
    with serving(server):
        yield server


def test_a_client_that_stops_reading_an_answer_is_dropped(big_answers: LiveServer) -> None:
    key = big_answers.create_key("api")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with big_answers.client(timeout=SOCKET_WAIT) as client:
        for post in range(4):  # ~1.6 MB each: an answer of ~13 MB, past every socket buffer
            messages = [
                {"id": f"m{post}-{n}", "role": "user", "content": "x" * 4000} for n in range(400)
            ]
            body = {"id": "big", "type": "openai", "messages": messages}
            assert client.post("/conversations", json=body, headers=headers).status_code == 200
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(SOCKET_WAIT)
    with sock:
        sock.connect(("127.0.0.1", big_answers.port))
        sock.sendall(
            b"GET /conversations/big HTTP/1.1\r\nHost: threadline\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\n\r\n"
        )
        # Read nothing; the server resets the connection once the deadline passes.
        poller = select.poll()
        poller.register(sock, select.POLLERR | select.POLLHUP)
        events = poller.poll(SOCKET_WAIT * 1000)
        assert events, f"still connected after {SOCKET_WAIT} s without reading"
        with pytest.raises(ConnectionResetError):
            while sock.recv(1 << 20):
                pass
    assert "dropped a connection that took no data" in big_answers.log
