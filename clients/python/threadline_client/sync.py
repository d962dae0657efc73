"""The synchronous client: reads and immediate writes, plus a background thread that sends
queued items in batches and never blocks or raises into the host application."""

from __future__ import annotations

import atexit
import csv
import io
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx

from threadline_client.batch import Item, log, new_idempotency_key, with_id
from threadline_client.core import CALL_RETRY, QUEUE_RETRY, ClientCore, SendPlan, headers
from threadline_client.errors import ApiError, TransportFailed
from threadline_client.retry import RetryPolicy, should_retry
from threadline_client.types import (
    Conversation,
    ConversationIn,
    ConversationList,
    Event,
    EventIn,
    Feedback,
    FeedbackIn,
    FeedbackList,
    FeedbackWithContext,
    Kind,
    QueryResult,
    QueryView,
)


def raise_for_answer(response: httpx.Response) -> Any:
    """The JSON of a success, or ApiError with the problem+json of a refusal."""
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = None
    raise ApiError(
        response.status_code, problem if isinstance(problem, dict) else None, response.text
    )


class Threadline(ClientCore):
    """A client for one threadline (or Inkeep-compatible) server and one api key.

    `log_*` queue an item and return at once; a background thread sends the queue as POST
    /batch (or item by item where the server has none), retrying on 429/503 and network
    errors with the same Idempotency-Key. At most `max_queue` items wait; beyond that new items
    are dropped and counted in `stats`. `close()` (or leaving a `with` block, or the
    interpreter's exit) flushes for up to `close_timeout` seconds.
    """

    _stop: threading.Event

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue: int = 10_000,
        timeout: float = 10.0,
        retry: RetryPolicy = CALL_RETRY,
        queue_retry: RetryPolicy = QUEUE_RETRY,
        use_batch: bool = True,
        close_timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._configure(
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue=max_queue,
            retry=retry,
            queue_retry=queue_retry,
            use_batch=use_batch,
            close_timeout=close_timeout,
        )
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers(api_key),
            timeout=timeout,
            transport=transport,
        )
        self._flushing = 0
        self._changed = threading.Condition()
        self._stop = threading.Event()  # interrupts the sender's back-off: close() gave up
        self._never = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def stats(self) -> dict[str, int]:
        """sent, rejected, dropped, failed and retries so far, and `queued` now."""
        with self._changed:
            queued = len(self._queue) + self._in_flight
        return {**self._stats.snapshot(), "queued": queued}

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now; True once the queue is empty, False at `timeout`."""
        with self._changed:
            self._flushing += 1
            self._changed.notify_all()
            try:
                return self._changed.wait_for(
                    lambda: not self._queue and not self._in_flight, timeout
                )
            finally:
                self._flushing -= 1

    def close(self, timeout: float | None = None) -> None:
        """Flush for up to `timeout` seconds (default `close_timeout`), then stop; what is
        still queued is counted as dropped. Idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(self.close_timeout if timeout is None else timeout)
            self._stop.set()
            self._thread.join()
        with self._changed:
            left = len(self._queue)
            self._queue.clear()
        if left:
            log.warning("threadline client closed with %d items unsent", left)
            self._stats.add(dropped=left)
        self._http.close()

    def __enter__(self) -> Threadline:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _enqueue(self, kind: Kind, body: Any) -> str | None:
        item = Item(kind, with_id(kind, body))
        with self._changed:
            if self._closing or len(self._queue) >= self.max_queue:
                self._stats.add(dropped=1)
                return None
            self._queue.append(item)
            if self._thread is None:
                self._start()
            # The first item starts the flush_interval clock; a full batch goes at once.
            if len(self._queue) in (1, self.batch_size):
                self._changed.notify_all()
        return cast(str, item.body["id"])

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="threadline-client", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _next_batch(self) -> list[Item]:
        """Waits for a full batch, a flush, close, or `flush_interval` after the first item."""
        with self._changed:
            deadline: float | None = None
            while True:
                hurry = self._flushing or self._closing
                if len(self._queue) >= self.batch_size or (self._queue and hurry):
                    break
                if not self._queue:
                    if self._closing:
                        return []
                    deadline = None
                    self._changed.wait()
                    continue
                deadline = deadline or time.monotonic() + self.flush_interval
                if not self._changed.wait(max(0.0, deadline - time.monotonic())):
                    break
            batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            self._in_flight = len(batch)
            return batch

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._next_batch()
            if not batch:
                return
            try:
                self._send(batch)
            except Exception:  # the host application must never see the sender die
                log.exception("threadline client: a batch of %d was lost", len(batch))
                self._stats.add(failed=len(batch))
            with self._changed:
                self._in_flight = 0
                self._changed.notify_all()

    def _send(self, batch: list[Item]) -> None:
        plan: SendPlan = self._send_plan(batch)
        answer: httpx.Response | None = None
        try:
            while True:
                post = plan.send(answer)
                answer = self._request(
                    "POST",
                    post.path,
                    json=post.json,
                    idempotency_key=post.idempotency_key,
                    policy=self.queue_retry,
                    interrupt=self._stop,
                )
        except StopIteration:
            pass

    # -- the one place requests are made ----------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        policy: RetryPolicy,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        interrupt: threading.Event | None = None,
    ) -> httpx.Response | None:
        """The final answer (a success, a refusal, or a retryable status once retries are
        exhausted), or None when no answer came."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            try:
                response = self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
                if not should_retry(response):
                    return response
            except httpx.TransportError as exc:
                log.debug("threadline client: %s %s failed: %r", method, path, exc)
            if not policy.allows(attempt, time.monotonic() - started):
                return response
            self._stats.add(retries=1)
            if (interrupt or self._never).wait(policy.delay(attempt, response)):
                return None

    def _call(self, method: str, path: str, **options: Any) -> Any:
        response = self._request(method, path, policy=self.retry, **options)
        if response is None:
            raise TransportFailed(
                f"{method} {path}: no answer after {self.retry.attempts} attempts"
            )
        return raise_for_answer(response)

    # -- immediate writes (wait for the stored object) -------------------------------------

    def send_conversation(self, conversation: ConversationIn) -> Conversation:
        """Store the conversation now and return it as stored (raises ApiError if refused)."""
        body = with_id("conversation", conversation)
        key = new_idempotency_key()
        return cast(
            Conversation, self._call("POST", "/conversations", json=body, idempotency_key=key)
        )

    def send_feedback(self, feedback: FeedbackIn) -> Feedback:
        body = with_id("feedback", feedback)
        key = new_idempotency_key()
        return cast(Feedback, self._call("POST", "/feedback", json=body, idempotency_key=key))

    def send_event(self, event: EventIn) -> Event:
        body = with_id("event", event)
        key = new_idempotency_key()
        return cast(Event, self._call("POST", "/events", json=body, idempotency_key=key))

    # -- reads (api keys) ------------------------------------------------------------------

    def get_conversation(self, conversation_id: str) -> Conversation:
        return cast(Conversation, self._call("GET", f"/conversations/{conversation_id}"))

    def get_conversation_by_external_id(self, external_id: str) -> Conversation:
        return cast(Conversation, self._call("GET", f"/conversations/external/{external_id}"))

    def list_conversations(self, limit: int = 50, offset: int = 0) -> ConversationList:
        params = {"limit": limit, "offset": offset}
        return cast(ConversationList, self._call("GET", "/conversations", params=params))

    def get_feedback(self, feedback_id: str) -> FeedbackWithContext:
        return cast(FeedbackWithContext, self._call("GET", f"/feedback/{feedback_id}"))

    def list_feedback(self, limit: int = 50, offset: int = 0) -> FeedbackList:
        params = {"limit": limit, "offset": offset}
        return cast(FeedbackList, self._call("GET", "/feedback", params=params))

    def query(self, view: QueryView, query: dict[str, Any]) -> QueryResult:
        """POST /query/{view} with a query-language body (select, where, groupBy, orderBy):
        the first 1,000 rows and the total. `export` streams every row."""
        return cast(QueryResult, self._call("POST", f"/query/{view}", json=query))

    def export(self, view: QueryView, query: dict[str, Any]) -> Iterator[dict[str, str]]:
        """Every row of the query, from its CSV export, as dicts of strings (streamed)."""
        with self._http.stream("POST", f"/query/{view}/export", json=query) as response:
            if not response.is_success:
                response.read()
                raise_for_answer(response)
            yield from csv.DictReader(_lines(response.iter_text()))


def _lines(chunks: Iterator[str]) -> Iterator[str]:
    """Whole lines from text chunks (csv wants lines; a quoted newline is rejoined by csv)."""
    buffer = io.StringIO()
    for chunk in chunks:
        buffer.write(chunk)
        if "\n" in chunk:
            text = buffer.getvalue()
            complete, _, rest = text.rpartition("\n")
            yield from (line + "\n" for line in complete.split("\n"))
            buffer = io.StringIO()
            buffer.write(rest)
    if buffer.getvalue():
        yield buffer.getvalue()
