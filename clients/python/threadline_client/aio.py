"""The asyncio client: the same calls as the sync one, awaited, and a background task (started
by the first `log_*` in a running loop) that sends the queue in batches."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import httpx

from threadline_client.batch import Item, log, new_idempotency_key, with_id
from threadline_client.core import CALL_RETRY, QUEUE_RETRY, ClientCore, SendPlan, headers
from threadline_client.errors import TransportFailed
from threadline_client.retry import RetryPolicy, should_retry
from threadline_client.sync import raise_for_answer
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


class AsyncThreadline(ClientCore):
    """As `Threadline`, for asyncio applications (FastAPI, aiohttp). Use it in one event loop;
    `log_*` are plain (non-async) calls that never wait. Close it with `await aclose()` or
    `async with` (an interpreter exit cannot await: close it in your app's shutdown)."""

    _stop: asyncio.Event

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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers(api_key),
            timeout=timeout,
            transport=transport,
        )
        self._hurry = False
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def stats(self) -> dict[str, int]:
        return {**self._stats.snapshot(), "queued": len(self._queue) + self._in_flight}

    async def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now; True once the queue is empty, False at `timeout`."""
        if self._task is None:
            return True
        self._hurry = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._hurry = False
        return True

    async def aclose(self, timeout: float | None = None) -> None:
        """Flush for up to `timeout` seconds (default `close_timeout`), then stop; what is
        still queued is counted as dropped."""
        self._closing = True
        if self._task is not None:
            self._wake.set()
            done, _ = await asyncio.wait({self._task}, timeout=timeout or self.close_timeout)
            if not done:
                self._stop.set()
                await self._task
        if self._queue:
            log.warning("threadline client closed with %d items unsent", len(self._queue))
            self._stats.add(dropped=len(self._queue))
            self._queue.clear()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncThreadline:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def _enqueue(self, kind: Kind, body: Any) -> str | None:
        item = Item(kind, with_id(kind, body))
        if self._closing or len(self._queue) >= self.max_queue:
            self._stats.add(dropped=1)
            return None
        self._queue.append(item)
        self._idle.clear()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        if len(self._queue) in (1, self.batch_size):
            self._wake.set()
        return cast(str, item.body["id"])

    async def _next_batch(self) -> list[Item]:
        deadline: float | None = None
        while True:
            hurry = self._hurry or self._closing
            if len(self._queue) >= self.batch_size or (self._queue and hurry):
                break
            self._wake.clear()
            if not self._queue:
                if self._closing:
                    return []
                self._idle.set()
                deadline = None
                await self._wake.wait()
                continue
            deadline = deadline or time.monotonic() + self.flush_interval
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
        self._in_flight = len(batch)
        return batch

    async def _run(self) -> None:
        while not self._stop.is_set():
            batch = await self._next_batch()
            if not batch:
                break
            try:
                await self._send(batch)
            except Exception:  # the host application must never see the sender die
                log.exception("threadline client: a batch of %d was lost", len(batch))
                self._stats.add(failed=len(batch))
            self._in_flight = 0
            if not self._queue:
                self._idle.set()
        self._idle.set()

    async def _send(self, batch: list[Item]) -> None:
        plan: SendPlan = self._send_plan(batch)
        answer: httpx.Response | None = None
        try:
            while True:
                post = plan.send(answer)
                answer = await self._request(
                    "POST",
                    post.path,
                    json=post.json,
                    idempotency_key=post.idempotency_key,
                    policy=self.queue_retry,
                    interrupt=self._stop,
                )
        except StopIteration:
            pass

    async def _request(
        self,
        method: str,
        path: str,
        *,
        policy: RetryPolicy,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        interrupt: asyncio.Event | None = None,
    ) -> httpx.Response | None:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
                if not should_retry(response):
                    return response
            except httpx.TransportError as exc:
                log.debug("threadline client: %s %s failed: %r", method, path, exc)
            if not policy.allows(attempt, time.monotonic() - started):
                return response
            self._stats.add(retries=1)
            delay = policy.delay(attempt, response)
            if interrupt is None:
                await asyncio.sleep(delay)
                continue
            try:
                await asyncio.wait_for(interrupt.wait(), delay)
                return None
            except TimeoutError:
                pass

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        response = await self._request(method, path, policy=self.retry, **options)
        if response is None:
            raise TransportFailed(f"{method} {path}: no answer")
        return raise_for_answer(response)

    # -- immediate writes and reads ----------------------------------------------------------

    async def send_conversation(self, conversation: ConversationIn) -> Conversation:
        body = with_id("conversation", conversation)
        key = new_idempotency_key()
        answer = await self._call("POST", "/conversations", json=body, idempotency_key=key)
        return cast(Conversation, answer)

    async def send_feedback(self, feedback: FeedbackIn) -> Feedback:
        body = with_id("feedback", feedback)
        key = new_idempotency_key()
        return cast(Feedback, await self._call("POST", "/feedback", json=body, idempotency_key=key))

    async def send_event(self, event: EventIn) -> Event:
        body = with_id("event", event)
        key = new_idempotency_key()
        return cast(Event, await self._call("POST", "/events", json=body, idempotency_key=key))

    async def get_conversation(self, conversation_id: str) -> Conversation:
        return cast(Conversation, await self._call("GET", f"/conversations/{conversation_id}"))

    async def list_conversations(self, limit: int = 50, offset: int = 0) -> ConversationList:
        params = {"limit": limit, "offset": offset}
        return cast(ConversationList, await self._call("GET", "/conversations", params=params))

    async def get_feedback(self, feedback_id: str) -> FeedbackWithContext:
        return cast(FeedbackWithContext, await self._call("GET", f"/feedback/{feedback_id}"))

    async def list_feedback(self, limit: int = 50, offset: int = 0) -> FeedbackList:
        params = {"limit": limit, "offset": offset}
        return cast(FeedbackList, await self._call("GET", "/feedback", params=params))

    async def query(self, view: QueryView, query: dict[str, Any]) -> QueryResult:
        return cast(QueryResult, await self._call("POST", f"/query/{view}", json=query))
