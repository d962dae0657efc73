"""Issue 18's probe, replayed against a real `threadline serve`: an attacker holding the public
web key (and a careless user holding an api key) tries each hole the issue listed, plus a few
variations, and every step prints PASS or FAIL with the figure it measured.

    .venv/bin/python bench/probe_hardening.py                        # SQLite, ~200k events
    .venv/bin/python bench/probe_hardening.py --database postgresql
    .venv/bin/python bench/probe_hardening.py --events 50000 --only a,f,k

The server listens on a free 127.0.0.1 port with small limits where they make a step quick
(4 writes in flight, 2 s header and 3 s body deadlines, a 5 s query timeout, 2 concurrent
queries); its log is read for step (j). Every step is bounded in requests and seconds; the
server, its database (a temp SQLite file or a PostgreSQL database made for the run) and its
log are removed at the end, whatever happens. Exit status 1 when any step fails.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import gzip
import http.client
import io
import re
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import servers
from dataset import bench_shape, generate, load
from query_limits import heavy_query
from servers import Server

from threadline.auth import issue_key
from threadline.store.engine import open_database

LIMITS = {
    "THREADLINE_MAX_WRITES_IN_FLIGHT": "4",
    "THREADLINE_HEADER_TIMEOUT_SECONDS": "2",
    "THREADLINE_BODY_TIMEOUT_SECONDS": "3",
    "THREADLINE_QUERY_TIMEOUT_SECONDS": "5",
    "THREADLINE_MAX_CONCURRENT_QUERIES": "2",
    "THREADLINE_SEND_TIMEOUT_SECONDS": "3",
    "THREADLINE_TRUSTED_PROXIES": "127.0.0.1",
    "THREADLINE_INSIGHTS": "off",
}
FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", '=HYPERLINK("x")']
DANGEROUS = tuple("=+-@\t\r\0")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float

    def header_values(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []


@dataclass
class Probe:
    server: Server
    api_key: str  # project `bench`, the loaded data
    web_key: str  # project `bench`, the widget's integration: public
    other_key: str  # an api key of another project
    log_path: Path
    results: list[tuple[str, bool, str]] = field(default_factory=list)

    # -- HTTP ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Answer:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if key:
            sent["Authorization"] = f"Bearer {key}"
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            data = answer.read()
            return Answer(answer.status, answer.headers, data, time.perf_counter() - started)
        finally:
            connection.close()

    def post(self, path: str, key: str, document: object, **options: object) -> Answer:
        return self.request("POST", path, key=key, body=msgspec.json.encode(document), **options)  # type: ignore[arg-type]

    def raw(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.server.port), timeout=10)

    def head(self, method: str, path: str, key: str, length: int, extra: str = "") -> bytes:
        return (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
        ).encode()

    def ready(self) -> dict[str, object]:
        return dict(msgspec.json.decode(self.request("GET", "/ready").body))

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.server.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]

    def reset_peak_rss(self) -> None:
        """Starts the server's VmHWM afresh (Linux: clear_refs 5), so each step has its own."""
        Path(f"/proc/{self.server.process.pid}/clear_refs").write_text("5")

    def check(self, step: str, passed: bool, figure: str) -> None:
        figure += f"; peak RSS {self.server.peak_rss_mb():.0f} MB"
        self.results.append((step, passed, figure))
        print(f"| {'PASS' if passed else 'FAIL'} | {step} | {figure} |", flush=True)

    # -- dashboard sessions --------------------------------------------------------------

    def sign_in(self, headers: dict[str, str] | None = None) -> tuple[dict[str, str], Answer]:
        """Signs in with the api key through the form; the cookies and the sign-in's answer."""
        form = self.request("GET", "/dashboard/sign-in", headers=headers)
        cookies = _cookies(form)
        csrf = re.search(rb'name="csrf" value="([^"]+)"', form.body).group(1).decode()  # type: ignore[union-attr]
        body = f"csrf={csrf}&key={self.api_key}&next=/dashboard/".encode()
        answer = self.request(
            "POST",
            "/dashboard/sign-in",
            body=body,
            headers={
                **(headers or {}),
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": _cookie_header(cookies),
            },
        )
        return {**cookies, **_cookies(answer)}, answer

    def new_log_lines(self, since: int) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()[since:]

    def log_length(self) -> int:
        return len(self.log_path.read_text(errors="replace").splitlines())


def _cookies(answer: Answer) -> dict[str, str]:
    found = {}
    for line in answer.header_values("set-cookie"):
        name, _, rest = line.partition("=")
        found[name] = rest.split(";", 1)[0]
    return found


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _conversation(conv_id: str, messages: int, user: str | None, size: int = 20) -> object:
    body: dict[str, object] = {
        "id": conv_id,
        "type": "openai",
        "messages": [
            {
                "id": f"{conv_id}-m{n}",
                "role": "user" if n % 2 == 0 else "assistant",
                "content": f"{n} " + "x" * size,
            }
            for n in range(messages)
        ],
    }
    if user is not None:
        body["userProperties"] = {"id": user}
    return body


def _p99(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]


# -- (a) export slots ------------------------------------------------------------------------


def step_a(p: Probe) -> None:
    """Start an export, read 64 KB, close the socket; twice, and a dashboard download once;
    then an export must answer 200."""
    api = p.head("POST", "/query/events/export", p.api_key, 2) + b"{}"
    received = [_read_and_close(p, api), _read_and_close(p, api)]
    cookies, _ = p.sign_in()
    download = (
        "GET /dashboard/export/events.csv?range=90d HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {_cookie_header(cookies)}\r\n\r\n"
    )
    received.append(_read_and_close(p, download.encode()))
    running = _wait_exports_idle(p)
    answer = p.post("/query/events/export", p.api_key, {"where": _type_is("probe_formula")})
    p.check(
        "a export slots after 3 cancelled downloads",
        answer.status == 200 and running == 0,
        f"read {', '.join(str(r) for r in received)} B (API, API, dashboard) then closed; "
        f"exports running after: {running}; next export {answer.status}",
    )


def step_a2(p: Probe) -> None:
    """Two exports whose clients read 64 KB and then nothing, connected; then a third export."""
    stalled = []
    for _ in range(2):
        sock = p.raw()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(p.head("POST", "/query/events/export", p.api_key, 2) + b"{}")
        sock.recv(65536)
        stalled.append(sock)
    try:
        body = {"where": _type_is("probe_formula")}
        at_once = p.post("/query/events/export", p.api_key, body).status
        deadline = time.monotonic() + 3 + 10
        later = at_once
        while later != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            later = p.post("/query/events/export", p.api_key, body).status
        waited = 13 - (deadline - time.monotonic())
    finally:
        for sock in stalled:
            sock.close()
    p.check(
        "a2 export slots held by clients that stop reading",
        later == 200,
        f"third export at once {at_once}, then {later} after {waited:.1f} s "
        "(THREADLINE_SEND_TIMEOUT_SECONDS 3)",
    )


def step_r(p: Probe) -> None:
    """200 web-key GETs of a 500-message conversation (a 4 MB answer) that read nothing: the
    server must stay responsive and hand back its memory, or drop them (send deadline)."""
    conv = f"probe-read-{uuid.uuid4().hex[:8]}"
    p.post("/conversations", p.web_key, _conversation(conv, 500, "u-read", size=3_900))
    before = p.rss_mb()
    request = (
        f"GET /conversations/{conv} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {p.web_key}\r\n\r\n"
    ).encode()
    stalled = []
    for _ in range(200):
        sock = p.raw()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(request)
        stalled.append(sock)
    timeout = float(LIMITS["THREADLINE_SEND_TIMEOUT_SECONDS"])
    poller = select.poll()
    for sock in stalled:
        poller.register(sock, select.POLLERR | select.POLLHUP)
    dropped: set[int] = set()
    deadline = time.monotonic() + timeout + 5
    while len(dropped) < len(stalled) and time.monotonic() < deadline:
        dropped.update(fd for fd, _ in poller.poll(500))
    held = p.rss_mb()
    health = p.request("GET", "/health")
    write = p.post(
        "/events", p.other_key, {"entityType": "search", "type": "r", "searchQuery": "r"}
    )
    for sock in stalled:
        sock.close()
    p.check(
        "r clients that stop reading 4 MB answers",
        health.status == 200 and write.status == 200 and held - before < 300,
        f"RSS {before:.0f} -> {held:.0f} MB with 200 stalled readers, {len(dropped)} reset "
        f"after {timeout:.0f} s; /health {health.seconds * 1000:.0f} ms, a write "
        f"{write.status} in {write.seconds * 1000:.0f} ms",
    )


def _read_and_close(p: Probe, request: bytes) -> int:
    """Sends `request`, reads 64 KB of its answer and closes the socket: bytes read."""
    received = 0
    with p.raw() as sock:
        sock.sendall(request)
        while received < 64 * 1024:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += len(chunk)
    return received


def _wait_exports_idle(p: Probe, seconds: float = 5) -> int:
    deadline = time.monotonic() + seconds
    while True:
        running = int(p.ready().get("exports", {}).get("running", -1))  # type: ignore[attr-defined]
        if running == 0 or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def _type_is(value: str) -> object:
    return {"condition": {"field": "type", "operator": "eq", "value": value}}


# -- (b) one conversation at its cap ---------------------------------------------------------


def step_b(p: Probe) -> None:
    cap = 500
    conv = f"probe-big-{uuid.uuid4().hex[:8]}"
    # ~3.5 KB a message: 500 of them are about the 2 MiB body limit, the largest allowed post.
    full = _conversation(conv, cap, "u-big", size=3_900)
    grown = p.post("/conversations", p.web_key, full)
    over = p.post("/conversations", p.web_key, _conversation(conv, cap + 1, "u-big", size=10))
    tiny_body = {**_conversation(conv, 1, "u-big", size=3_900)}
    tiny = [p.post("/conversations", p.web_key, tiny_body) for _ in range(5)]
    stop = threading.Event()
    hammered: list[float] = []

    def hammer() -> None:
        while not stop.is_set():
            hammered.append(p.post("/conversations", p.web_key, full).seconds)

    idle = _other_writes(p)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(hammer)
        writes = _other_writes(p)
        stop.set()
        running.result()
    p99 = _p99(writes)
    p.check(
        "b conversation cap and other projects' writes",
        grown.status == 200 and over.status == 422 and p99 <= 0.1,
        f"{cap}-message post {grown.status} ({len(msgspec.json.encode(full)) / 1e6:.2f} MB); "
        f"{cap + 1} messages {over.status}; tiny re-post median "
        f"{statistics.median(t.seconds for t in tiny) * 1000:.0f} ms, answers "
        f"{len(tiny[0].body)} B; while {len(hammered)} full re-posts ran "
        f"(median {statistics.median(hammered or [0]) * 1000:.0f} ms): another project's "
        f"200 writes p99 {p99 * 1000:.0f} ms (idle: {_p99(idle) * 1000:.0f} ms)",
    )


def _other_writes(p: Probe, count: int = 200) -> list[float]:
    """Seconds each of `count` single writes of another project took, one at a time."""
    seconds = []
    for n in range(count):
        event = {"entityType": "search", "type": "probe_other", "searchQuery": f"q{n}"}
        answer = p.post("/events", p.other_key, event)
        seconds.append(answer.seconds if answer.status == 200 else float("inf"))
    return seconds


# -- (c) slow bodies and slow heads ----------------------------------------------------------


def step_c(p: Probe) -> None:
    slots = int(LIMITS["THREADLINE_MAX_WRITES_IN_FLIGHT"])
    slow = []
    for _ in range(slots * 4):
        sock = p.raw()
        sock.sendall(p.head("POST", "/events", p.web_key, 100) + b"{")
        slow.append(sock)
    event = {"entityType": "search", "type": "probe_write", "searchQuery": "q"}
    normal = p.post("/events", p.web_key, event)
    started = time.perf_counter()
    timed_out = 0
    for sock in slow:
        with sock:
            answer = sock.recv(4096)
            timed_out += answer.startswith(b"HTTP/1.1 408")
    body_seconds = time.perf_counter() - started
    with p.raw() as sock:
        sock.sendall(b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.perf_counter()
        closed = sock.recv(4096) == b""
        head_seconds = time.perf_counter() - started
    p.check(
        "c slow bodies hold no write slot; slow heads closed",
        normal.status == 200
        and normal.seconds < 1
        and timed_out == len(slow)
        and closed
        and head_seconds < 2 + 1,
        f"{len(slow)} sockets with headers + 1 byte ({slots} write slots): a write "
        f"{normal.status} in {normal.seconds * 1000:.0f} ms; {timed_out} answered 408 within "
        f"{body_seconds:.1f} s; a half-sent head closed after {head_seconds:.1f} s (timeout 2 s)",
    )


# -- (d) the unauthenticated sign-in form ----------------------------------------------------


def _stream_body(p: Probe, head: bytes, total: int) -> tuple[bytes, int]:
    """Sends `head`, then up to `total` bytes of body for as long as the server takes them;
    (its answer, bytes sent)."""
    sent = 0
    with p.raw() as sock:
        sock.settimeout(2)
        sock.sendall(head)
        chunk = b"a=" + b"x" * (1024 * 1024 - 3) + b"&"
        with contextlib.suppress(OSError):
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
        sock.settimeout(10)
        try:
            answer = sock.recv(4096)
        except OSError:
            answer = b""
    return answer, sent


def step_d(p: Probe) -> None:
    before = p.rss_mb()
    figures = []
    statuses = []
    for label, content_type, total, chunked in (
        ("150 x 1 MB fields", "application/x-www-form-urlencoded", 150 * 2**20, False),
        ("500 MB multipart", "multipart/form-data; boundary=b", 500 * 2**20, False),
        ("150 MB chunked, no length", "application/x-www-form-urlencoded", 150 * 2**20, True),
    ):
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
        head = (
            f"POST /dashboard/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: {content_type}\r\n{length}\r\n\r\n"
        ).encode()
        if chunked:
            head += f"{1024 * 1024:x}\r\n".encode()
        answer, sent = _stream_body(p, head, total)
        status = answer[9:12].decode() or "closed"
        statuses.append(status)
        figures.append(f"{label}: {status} after {sent / 2**20:.0f} MB sent")
    grown = p.rss_mb() - before
    p.check(
        "d sign-in form refuses large bodies unread",
        all(s in {"413", "415"} for s in statuses) and grown < 20,
        "; ".join(figures) + f"; RSS {before:.0f} -> {p.rss_mb():.0f} MB",
    )


# -- (e) the heavy analytic query ------------------------------------------------------------


def step_e(p: Probe) -> None:
    body = heavy_query()
    timeout = float(LIMITS["THREADLINE_QUERY_TIMEOUT_SECONDS"])
    alone = p.request("POST", "/query/events", key=p.api_key, body=body, timeout=120)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        together = list(
            pool.map(
                lambda _: p.request("POST", "/query/events", key=p.api_key, body=body, timeout=120),
                range(3),
            )
        )
    worst = max(a.seconds for a in [alone, *together])
    refused = sum(a.status == 503 for a in together)
    peak = p.server.peak_rss_mb()
    p.check(
        "e 200 jsonContains over the events",
        alone.status in {200, 422} and worst < timeout + 3 and refused >= 1 and peak < 1600,
        f"alone {alone.status} in {alone.seconds:.1f} s; three at once "
        f"{', '.join(str(a.status) for a in together)} in "
        f"{', '.join(f'{a.seconds:.1f}' for a in together)} s (timeout {timeout:.0f} s, "
        "2 at once)",
    )


# -- (f) CSV formulas --------------------------------------------------------------------------


def _bad_cells(text: str) -> list[str]:
    return [
        cell
        for row in csv.reader(io.StringIO(text, newline=""))
        for cell in row
        if cell.startswith(DANGEROUS) and not NUMBER.fullmatch(cell)
    ]


def step_f(p: Probe) -> None:
    for value in FORMULAS:
        event = {
            "entityType": "search",
            "type": "probe_formula",
            "searchQuery": value,
            "properties": {value: value},
            "userProperties": {"id": value},
        }
        p.post("/events", p.web_key, event)
    api = p.post("/query/events/export", p.api_key, {"where": _type_is("probe_formula")})
    cookies, _ = p.sign_in()
    dashboard = p.request(
        "GET", "/dashboard/export/events.csv", headers={"Cookie": _cookie_header(cookies)}
    )
    api_text, dash_text = api.body.decode(), dashboard.body.decode()
    bad = _bad_cells(api_text) + _bad_cells(dash_text)
    cells = {cell for row in csv.reader(io.StringIO(api_text, newline="")) for cell in row}
    missing = [value for value in FORMULAS if f"'{value}" not in cells]
    guarded = len(FORMULAS) - len(missing)
    p.check(
        "f CSV formula cells neutralised",
        api.status == 200 and dashboard.status == 200 and not bad and guarded == len(FORMULAS),
        f"API export {api.status} ({len(api_text.splitlines())} lines), dashboard CSV "
        f"{dashboard.status} ({len(dash_text.splitlines())} lines); cells a spreadsheet would "
        f"run: {len(bad)}; payloads written with a leading ': {guarded}/{len(FORMULAS)}"
        + (f", not: {missing!r}" if missing else ""),
    )


# -- (g) web keys and other users' records -----------------------------------------------------


def step_g(p: Probe) -> None:
    conv = f"probe-own-{uuid.uuid4().hex[:8]}"
    victim = p.post("/conversations", p.web_key, _conversation(conv, 2, "victim"))
    message_id = f"{conv}-m1"
    feedback = p.post(
        "/feedback",
        p.web_key,
        {"type": "positive", "messageId": message_id, "userProperties": {"id": "victim"}},
    )
    feedback_id = msgspec.json.decode(feedback.body).get("id")
    hostile = _conversation(conv, 2, "attacker")
    hostile["messages"][0]["content"] = "pwned"  # type: ignore[index]
    anonymous = _conversation(conv, 2, None)
    anonymous["messages"][0]["content"] = "pwned"  # type: ignore[index]
    share = f"probe-share-{uuid.uuid4().hex[:8]}"
    p.post("/conversations", p.web_key, {**_conversation(share, 2, None), "visibility": "public"})
    backend = f"probe-api-{uuid.uuid4().hex[:8]}"
    p.post("/conversations", p.api_key, _conversation(backend, 2, "victim"))
    attempts = {
        "overwrite as another user": p.post("/conversations", p.web_key, hostile).status,
        "overwrite naming no user": p.post("/conversations", p.web_key, anonymous).status,
        "change their feedback": p.post(
            "/feedback",
            p.web_key,
            {
                "id": feedback_id,
                "type": "negative",
                "messageId": message_id,
                "userProperties": {"id": "attacker"},
            },
        ).status,
        "overwrite a shared copy": p.post(
            "/conversations", p.web_key, {**anonymous, "id": share, "visibility": "public"}
        ).status,
        "overwrite an api-written chat": p.post(
            "/conversations", p.web_key, {**_conversation(backend, 2, "victim"), "tags": ["x"]}
        ).status,
        "delete a shared copy": p.request(
            "DELETE", f"/conversations/{share}", key=p.web_key
        ).status,
        "delete an api-written chat": p.request(
            "DELETE", f"/conversations/{backend}", key=p.web_key
        ).status,
        "delete their feedback": p.request(
            "DELETE", f"/feedback/{feedback_id}", key=p.web_key
        ).status,
    }
    stored = msgspec.json.decode(p.request("GET", f"/conversations/{conv}", key=p.api_key).body)
    intact = (
        stored["messages"][0]["content"] != "pwned" and stored["userProperties"]["id"] == "victim"
    )
    p.check(
        "g web key vs another user's records",
        victim.status == 200 and all(s == 403 for s in attempts.values()) and intact,
        "; ".join(f"{k} {v}" for k, v in attempts.items()) + f"; stored intact: {intact}",
    )


# -- (h) Idempotency-Keys ----------------------------------------------------------------------


def step_h(p: Probe) -> None:
    value = f"batch-{uuid.uuid4().hex[:6]}"
    event = {"entityType": "search", "type": "probe_idem", "searchQuery": "web"}
    p.post("/events", p.web_key, event, headers={"Idempotency-Key": value})
    own = {**event, "searchQuery": "api"}
    answer = p.post("/events", p.api_key, own, headers={"Idempotency-Key": value})
    replay = p.post("/events", p.api_key, own, headers={"Idempotency-Key": value})
    stored = answer.status == 200 and msgspec.json.decode(answer.body)["searchQuery"] == "api"
    same = answer.body == replay.body
    # Variations: look-alike values (NFKC folds these to the same text), a very long value,
    # bytes that are not UTF-8: none may replay another request or fail with a 500.
    statuses = []
    for look_alike in (value.replace("-", "\u2010"), value.upper(), value + " ", "x" * 8000):
        statuses.append(_raw_idem(p, look_alike.encode()))
    statuses.append(_raw_idem(p, b"\xff\xfe" + value.encode()))
    p.check(
        "h a web key pre-claiming the api key's Idempotency-Key",
        stored and same and all(s and s < 500 for s in statuses),
        f"api key's request {answer.status}, its own answer: {stored}, retry replayed: {same}; "
        f"look-alike / long / non-UTF-8 values: {statuses}",
    )


def _raw_idem(p: Probe, value: bytes) -> int:
    body = msgspec.json.encode({"entityType": "search", "type": "probe_idem", "searchQuery": "v"})
    head = p.head("POST", "/events", p.web_key, len(body))[:-2] + b"Idempotency-Key: " + value
    with p.raw() as sock:
        sock.sendall(head + b"\r\n\r\n" + body)
        answer = sock.recv(4096)
    return int(answer[9:12] or 0)


# -- (i) sessions ----------------------------------------------------------------------------


def step_i(p: Probe) -> None:
    cookies, _ = p.sign_in()
    header = {"Cookie": _cookie_header(cookies)}
    before = p.request("GET", "/dashboard/", headers=header).status
    page = p.request("GET", "/dashboard/", headers=header)
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page.body)
    out = p.request(
        "POST",
        "/dashboard/sign-out",
        body=f"csrf={csrf.group(1).decode() if csrf else ''}".encode(),
        headers={**header, "Content-Type": "application/x-www-form-urlencoded"},
    )
    replay = p.request("GET", "/dashboard/", headers=header)
    https = {"X-Forwarded-Proto": "https"}
    _, signed = p.sign_in(https)
    set_cookies = signed.header_values("set-cookie")
    secure = bool(set_cookies) and all(
        c.startswith("__Host-") and "secure" in c.lower() for c in set_cookies if "tl_" in c
    )
    p.check(
        "i sign-out ends the session; Secure cookies behind a trusted proxy",
        before == 200 and out.status == 303 and replay.status != 200 and secure,
        f"page before sign-out {before}, sign-out {out.status}, replayed cookie {replay.status} "
        f"-> {replay.headers.get('location')}; over X-Forwarded-Proto https: "
        f"{', '.join(c.split('=')[0] for c in set_cookies)} Secure: {secure}",
    )


# -- (j) disconnects and gzip ----------------------------------------------------------------


def step_j(p: Probe) -> None:
    since = p.log_length()
    with p.raw() as sock:
        sock.sendall(p.head("POST", "/events", p.web_key, 1000) + b'{"entityType"')
    time.sleep(1)  # the server notices the closed socket on its next read
    lines = p.new_log_lines(since)
    quiet = sum("disconnected" in line for line in lines) == 1 and not any(
        "Traceback" in line for line in lines
    )
    members = _gzip_members()
    loop = _loop_latency(
        p,
        lambda: p.request(
            "POST", "/events", key=p.api_key, body=members, headers={"Content-Encoding": "gzip"}
        ),
    )
    bomb = gzip.compress(b" " * (512 * 2**20))
    bomb_answer = p.request(
        "POST", "/events", key=p.api_key, body=bomb, headers={"Content-Encoding": "gzip"}
    )
    p.check(
        "j a disconnect mid-body is one quiet line; gzip members do not stall the loop",
        quiet and loop[1] < 0.1 and bomb_answer.status == 413,
        f"log after a disconnect: {len(lines)} line(s), traceback: "
        f"{any('Traceback' in line for line in lines)}; {len(members) / 1e6:.1f} MB of "
        f"{len(members) // 21} gzip members answered {loop[0]}, a concurrent /health max "
        f"{loop[1] * 1000:.0f} ms; {len(bomb) / 1e3:.0f} KB gzip of 512 MB: {bomb_answer.status}",
    )


def _endless_head(p: Probe) -> tuple[int, str]:
    line_block = b"".join(f"X-Probe-{n:06d}: {'v' * 43}\r\n".encode() for n in range(17_000))
    sent = 0
    with p.raw() as sock:
        sock.settimeout(5)
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while sent < 256 * 2**20:
                sock.sendall(line_block)
                sent += len(line_block)
            sock.sendall(b"\r\n")
        try:
            answer = sock.recv(4096)[:12].decode() or "closed"
        except OSError as error:
            answer = type(error).__name__
    return sent, answer


def _gzip_members(*, batch: bool = False) -> bytes:
    """~2 MB of gzip members of one byte each: a valid event (or batch of one), then spaces."""
    event = {"entityType": "search", "type": "probe_gzip", "searchQuery": "g"}
    document = {"items": [{"kind": "event", "body": event}]} if batch else event
    text = msgspec.json.encode(document)
    text += b" " * (2 * 2**20 // 21 - len(text))
    return b"".join(gzip.compress(bytes([byte]), compresslevel=1) for byte in text)


def _loop_latency(p: Probe, heavy: Callable[[], Answer]) -> tuple[int, float]:
    """(status of `heavy`, the slowest /health answered while it ran)."""
    latencies: list[float] = []
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(heavy)
        while not running.done():
            latencies.append(p.request("GET", "/health").seconds)
            time.sleep(0.005)
        status = running.result().status
    return status, max(latencies or [0.0])


# -- (k) caching and redirects ---------------------------------------------------------------


def step_k(p: Probe) -> None:
    api = p.post("/query/events/export", p.api_key, {"where": _type_is("probe_formula")})
    cookies, _ = p.sign_in()
    dash = p.request(
        "GET", "/dashboard/export/feedback.csv", headers={"Cookie": _cookie_header(cookies)}
    )
    locations = {}
    for path in ("/dashboard", "/dashboard/conversations/", "/conversations/"):
        answer = p.request("GET", path, headers={"Host": "evil.example"})
        locations[path] = f"{answer.status} {answer.headers.get('location')}"
    no_store = all("no-store" in (a.headers.get("cache-control") or "") for a in (api, dash))
    p.check(
        "k CSV no-store; no Host in redirects",
        no_store and not any("evil" in v for v in locations.values()),
        f"Cache-Control: API {api.headers.get('cache-control')}, dashboard "
        f"{dash.headers.get('cache-control')}; hostile Host: "
        + "; ".join(f"{k} -> {v}" for k, v in locations.items()),
    )


# -- variations the issue did not list ---------------------------------------------------------


def step_v(p: Probe) -> None:
    before = p.rss_mb()
    # An endless head: header lines of 60 bytes, 1 MB at a time, up to 256 MB, for as long as
    # the server takes them (its head deadline is 2 s here).
    head_sent, headers_answer = _endless_head(p)
    headers_rss = p.rss_mb()
    # A batch of gzip members: the same members as (j), to /batch.
    members = _gzip_members(batch=True)
    batch = _loop_latency(
        p,
        lambda: p.request(
            "POST", "/batch", key=p.api_key, body=members, headers={"Content-Encoding": "gzip"}
        ),
    )
    # A query export with mode json on an enormous property (~1.9 MB), by the web key.
    huge = {
        "entityType": "search",
        "type": "probe_huge",
        "searchQuery": "h",
        "properties": {"blob": "y" * (1900 * 1024)},
    }
    wrote = p.post("/events", p.web_key, huge).status
    export = p.post(
        "/query/events/export",
        p.api_key,
        {
            "select": [{"type": "field", "field": "properties", "mode": "json"}],
            "where": _type_is("probe_huge"),
        },
    )
    # The largest dashboard CSV: every event of the period.
    cookies, _ = p.sign_in()
    largest = p.request(
        "GET",
        "/dashboard/export/events.csv?range=90d",
        headers={"Cookie": _cookie_header(cookies)},
        timeout=300,
    )
    p.check(
        "v variations: many headers, gzip batch, json export, largest dashboard CSV",
        headers_answer != ""
        and headers_rss - before < 50
        and batch[1] < 0.1
        and export.status == 200
        and largest.status == 200,
        f"{head_sent / 2**20:.0f} MB of headers sent: {headers_answer!r}, RSS {before:.0f} -> "
        f"{headers_rss:.0f} MB; gzip "
        f"members to /batch {batch[0]}, /health max {batch[1] * 1000:.0f} ms; 1.9 MB property "
        f"{wrote}, its json export {export.status} {len(export.body) / 1e6:.1f} MB in "
        f"{export.seconds:.2f} s; dashboard events.csv {largest.status} "
        f"{len(largest.body) / 1e6:.1f} MB in {largest.seconds:.1f} s",
    )


STEPS: dict[str, Callable[[Probe], None]] = {
    "a": step_a,
    "a2": step_a2,
    "f": step_f,
    "g": step_g,
    "h": step_h,
    "i": step_i,
    "k": step_k,
    "c": step_c,
    "d": step_d,
    "j": step_j,
    "b": step_b,
    "e": step_e,
    "r": step_r,
    "v": step_v,
}


# -- setting up ------------------------------------------------------------------------------


@contextlib.contextmanager
def running_probe(kind: str, events: int, analytics: str, workdir: Path) -> Iterator[Probe]:
    database = servers.Database(kind, workdir, "threadline_probe")
    try:
        engines = open_database(database.url)
        try:
            api_key = load(engines, generate(bench_shape(events))).api_key
            with engines.writer.begin() as connection:
                web = issue_key(connection, project="bench", integration="widget", kind="web")
                other = issue_key(connection, project="other", integration="api", kind="api")
        finally:
            engines.dispose()
        log = workdir / "server.log"
        command = [sys.executable, "-m", "threadline", "serve", "--port", str(servers.free_port())]
        command += ["--database-url", database.url, "--log-level", "info"]
        server = Server(
            command, int(command[5]), log, {**LIMITS, "THREADLINE_ANALYTICS": analytics}
        )
        try:
            if analytics == "columnar":
                _wait_columnar(server)
            yield Probe(server, api_key, web.secret, other.secret, log)
        finally:
            server.stop()
    finally:
        database.drop()


def _wait_columnar(server: Server) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        ready = msgspec.json.decode(server.get("/ready") or b"{}")
        if ready.get("analytics", {}).get("columnarReady"):
            return
        time.sleep(0.2)
    raise RuntimeError("the columnar copy was not ready within 15 minutes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--analytics", choices=("columnar", "off"), default="columnar")
    parser.add_argument("--only", default=",".join(STEPS), help="steps to run, e.g. a,f,k")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="threadline-probe-") as workdir,
        running_probe(args.database, args.events, args.analytics, Path(workdir)) as probe,
    ):
        print(f"{args.database}, {args.events} events, analytics {args.analytics}, {LIMITS}\n")
        print("| result | step | figure |\n|---|---|---|")
        for name in args.only.split(","):
            probe.reset_peak_rss()
            try:
                STEPS[name](probe)
            except Exception as error:  # a step that crashes is a failed step
                probe.check(f"{name} (crashed)", False, f"{type(error).__name__}: {error}")
    return 0 if all(passed for _, passed, _ in probe.results) else 1


if __name__ == "__main__":
    sys.exit(main())
