"""The Python client's queue and retries against a scripted server (httpx.MockTransport): no
storage here, the real server is tests/clients/test_live.py's."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from threadline_client import ApiError, AsyncThreadline, RetryPolicy, Threadline
from threadline_client.retry import retry_after

FAST = RetryPolicy(attempts=None, base_delay=0.001, max_delay=0.002, give_up_after=30.0)
EVENT: Any = {"type": "page_viewed", "entityType": "search", "searchQuery": "install"}


class Server:
    """Records every request; `answer` decides each response (the default accepts all)."""

    def __init__(self, answer: Callable[[httpx.Request, int], httpx.Response] | None = None):
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda request, _n: accept(request))
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            number = len(self.requests)
        return self.answer(request, number)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def keys(self) -> list[str | None]:
        return [r.headers.get("idempotency-key") for r in self.requests]


def accept(request: httpx.Request) -> httpx.Response:
    body = httpx.Request("POST", "/", content=request.content).read()
    import json

    parsed = json.loads(body)
    if request.url.path == "/batch":
        results = [{"status": 200, "body": item["body"]} for item in parsed["items"]]
        return httpx.Response(
            200, json={"results": results, "accepted": len(results), "rejected": 0}
        )
    return httpx.Response(200, json=parsed)


def client(server: Server, **options: Any) -> Threadline:
    defaults: dict[str, Any] = {"queue_retry": FAST, "retry": FAST, "flush_interval": 0.01}
    return Threadline(
        "http://threadline.test",
        "tl_api_x",
        transport=httpx.MockTransport(server),
        **{**defaults, **options},
    )


def items_of(request: httpx.Request) -> list[dict[str, Any]]:
    import json

    return list(json.loads(request.content)["items"])


def test_queued_items_go_as_one_batch_with_ids_and_an_idempotency_key() -> None:
    server = Server()
    with client(server, batch_size=10) as threadline:
        ids = [threadline.log_event(EVENT) for _ in range(3)]
        ids.append(threadline.log_feedback({"type": "positive", "messageId": "m1", "id": "fb1"}))
        assert threadline.flush(timeout=10)
        assert threadline.stats == {
            "sent": 4,
            "rejected": 0,
            "dropped": 0,
            "failed": 0,
            "retries": 0,
            "queued": 0,
        }
    assert server.paths() == ["/batch"]
    sent = items_of(server.requests[0])
    assert [item["kind"] for item in sent] == ["event"] * 3 + ["feedback"]
    assert [item["body"]["id"] for item in sent] == ids and ids[-1] == "fb1"
    assert all(i and i.startswith("evt_") for i in ids[:3]) and len(set(ids)) == 4
    assert server.keys()[0] and server.requests[0].headers["authorization"] == "Bearer tl_api_x"


@pytest.mark.parametrize("failure", ["503", "429", "network"])
def test_a_failed_batch_is_retried_with_the_same_idempotency_key(failure: str) -> None:
    def answer(request: httpx.Request, number: int) -> httpx.Response:
        if number <= 2:
            if failure == "network":
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(int(failure), headers={"Retry-After": "0"})
        return accept(request)

    server = Server(answer)
    with client(server) as threadline:
        threadline.log_event(EVENT)
        assert threadline.flush(timeout=10)
        assert threadline.stats["sent"] == 1 and threadline.stats["retries"] == 2
    assert server.paths() == ["/batch"] * 3
    assert len(set(server.keys())) == 1
    assert len({items_of(r)[0]["body"]["id"] for r in server.requests}) == 1


def test_retry_after_decides_the_wait() -> None:
    policy = RetryPolicy(base_delay=100.0, max_delay=200.0, max_retry_after=60.0)
    assert policy.delay(1, httpx.Response(503, headers={"Retry-After": "7"})) == 7.0
    assert policy.delay(1, httpx.Response(429, headers={"Retry-After": "3600"})) == 60.0
    dated = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after(dated) == 0.0  # in the past: at once
    assert 50.0 <= policy.delay(1, httpx.Response(503)) <= 100.0  # none: back-off with jitter
    assert RetryPolicy(base_delay=1.0, max_delay=4.0).delay(9, None) <= 4.0


def test_without_batch_items_go_one_by_one_each_with_its_own_key() -> None:
    def answer(request: httpx.Request, _number: int) -> httpx.Response:
        if request.url.path == "/batch":
            return httpx.Response(404, json={"title": "Not Found"})
        return accept(request)

    server = Server(answer)
    with client(server, batch_size=3) as threadline:
        threadline.log_event(EVENT)
        threadline.log_conversation(
            {"type": "openai", "messages": [{"role": "user", "content": "hi"}]}
        )
        threadline.log_feedback({"type": "negative", "messageId": "m1"})
        assert threadline.flush(timeout=10)
        threadline.log_event(EVENT)
        assert threadline.flush(timeout=10)
        assert threadline.stats["sent"] == 4 and not threadline.batch_supported
    assert server.paths() == ["/batch", "/events", "/conversations", "/feedback", "/events"]
    keys = server.keys()[1:]
    assert len(set(keys)) == 4 and all(keys)


def test_refused_items_are_counted_not_retried() -> None:
    def answer(request: httpx.Request, _number: int) -> httpx.Response:
        results = [
            {"status": 200, "body": {}},
            {"status": 422, "error": {"detail": "bad", "errors": [{"field": "$.type"}]}},
        ]
        return httpx.Response(200, json={"results": results, "accepted": 1, "rejected": 1})

    server = Server(answer)
    with client(server) as threadline:
        threadline.log_event(EVENT)
        threadline.log_event({"type": "", "entityType": "search", "searchQuery": "x"})
        assert threadline.flush(timeout=10)
        assert threadline.stats["sent"] == 1 and threadline.stats["rejected"] == 1
    assert len(server.requests) == 1


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    release = threading.Event()

    def answer(request: httpx.Request, _number: int) -> httpx.Response:
        release.wait(10)
        return accept(request)

    server = Server(answer)
    with client(server, max_queue=3, batch_size=1) as threadline:
        ids = [threadline.log_event(EVENT) for _ in range(10)]
        # The first three fill the queue; one more fits once the sender takes one in flight,
        # which may happen at any point of the loop. The rest are dropped at once.
        taken = [i for i in ids if i is not None]
        assert 3 <= len(taken) <= 4 and ids[:3] == taken[:3]
        assert threadline.stats["dropped"] == 10 - len(taken)
        release.set()
        assert threadline.flush(timeout=10)
        assert threadline.stats["sent"] == len(taken)


def test_close_gives_up_on_a_dead_server_and_counts_what_it_dropped() -> None:
    def answer(request: httpx.Request, _number: int) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    slow = RetryPolicy(attempts=None, base_delay=0.05, max_delay=0.05, give_up_after=600)
    threadline = client(Server(answer), queue_retry=slow, batch_size=2)
    for _ in range(5):
        threadline.log_event(EVENT)
    threadline.close(timeout=0.2)
    stats = threadline.stats
    assert stats["dropped"] == 5 and stats["sent"] == 0 and stats["queued"] == 0
    assert threadline.log_event(EVENT) is None and threadline.stats["dropped"] == 6


def test_reads_and_errors() -> None:
    def answer(request: httpx.Request, _number: int) -> httpx.Response:
        if request.url.path == "/conversations/c1":
            return httpx.Response(200, json={"id": "c1", "messages": []})
        if request.url.path == "/query/events":
            return httpx.Response(
                200,
                json={
                    "status": "ok",
                    "data": {"result": [], "total": 0, "pageSize": 1000, "count": 0},
                },
            )
        return httpx.Response(
            404,
            json={"title": "Not Found", "detail": "No conversation c2."},
            headers={"Content-Type": "application/problem+json"},
        )

    with client(Server(answer)) as threadline:
        assert threadline.get_conversation("c1")["id"] == "c1"
        assert threadline.query("events", {"select": []})["data"]["total"] == 0
        with pytest.raises(ApiError, match="HTTP 404: No conversation c2") as raised:
            threadline.get_conversation("c2")
        assert raised.value.status == 404


def test_the_asyncio_client_batches_retries_and_falls_back() -> None:
    async def run() -> tuple[Server, dict[str, int], bool]:
        def answer(request: httpx.Request, number: int) -> httpx.Response:
            if number == 1:
                return httpx.Response(503, headers={"Retry-After": "0"})
            if request.url.path == "/batch" and number == 3:
                return httpx.Response(404)
            return accept(request)

        server = Server(answer)
        async with AsyncThreadline(
            "http://threadline.test",
            "tl_api_x",
            transport=httpx.MockTransport(server),
            queue_retry=FAST,
            flush_interval=0.01,
        ) as threadline:
            threadline.log_event(EVENT)
            assert await threadline.flush(timeout=10)
            threadline.log_event(EVENT)
            threadline.log_feedback({"type": "positive", "messageId": "m"})
            assert await threadline.flush(timeout=10)
            return server, threadline.stats, threadline.batch_supported

    server, stats, batch_supported = asyncio.run(run())
    assert server.paths() == ["/batch", "/batch", "/batch", "/events", "/feedback"]
    assert server.keys()[0] == server.keys()[1] != server.keys()[2]
    assert stats["sent"] == 3 and stats["retries"] == 1 and not batch_supported


_EXITING_SCRIPT = """
import json, sys, httpx
from threadline_client import Threadline

def server(request):
    with open(sys.argv[1], "a") as out:
        out.write(json.dumps([request.url.path, len(json.loads(request.content)["items"])]) + "\\n")
    items = json.loads(request.content)["items"]
    results = [{"status": 200, "body": {}} for _ in items]
    return httpx.Response(200, json={"results": results, "accepted": len(items), "rejected": 0})

client = Threadline("http://threadline.test", "k", transport=httpx.MockTransport(server),
                    flush_interval=3600)
for n in range(3):
    client.log_event({"type": "t", "entityType": "search", "searchQuery": str(n)})
# No close(): the interpreter's exit must send what is queued.
"""


def test_the_interpreter_exit_flushes_the_queue(tmp_path: Path) -> None:
    record = tmp_path / "requests.jsonl"
    subprocess.run([sys.executable, "-c", _EXITING_SCRIPT, str(record)], check=True, timeout=60)
    assert record.read_text().splitlines() == ['["/batch", 3]']


def test_a_batch_over_the_body_limit_is_sent_in_halves() -> None:
    def answer(request: httpx.Request, _number: int) -> httpx.Response:
        if len(items_of(request)) > 2:
            return httpx.Response(413, json={"title": "Payload Too Large"})
        return accept(request)

    server = Server(answer)
    with client(server, batch_size=5) as threadline:
        for _ in range(5):
            threadline.log_event(EVENT)
        assert threadline.flush(timeout=10)
        assert threadline.stats["sent"] == 5 and threadline.stats["rejected"] == 0
    assert [len(items_of(r)) for r in server.requests] == [5, 2, 3, 1, 2]
