"""What the sync and asyncio clients share beyond batch.py: their settings, the `log_*` calls,
and the plan for sending one batch (which requests, in which order, and what each answer means),
written once as a generator; each client drives it with its own I/O (thread or task)."""

from __future__ import annotations

import abc
import collections
import dataclasses
from collections.abc import Generator
from typing import Any, Protocol

import httpx

from threadline_client.batch import (
    MAX_BATCH_ITEMS,
    SINGLE_PATHS,
    Item,
    Stats,
    account_batch,
    account_single,
    batch_body,
    log,
    new_idempotency_key,
)
from threadline_client.retry import RetryPolicy
from threadline_client.types import ConversationIn, EventIn, FeedbackIn, Kind

# The queue retries a batch for up to five minutes (a server restart, a database failover)
# before giving it up; close() stops earlier.
CALL_RETRY = RetryPolicy()
QUEUE_RETRY = RetryPolicy(attempts=None, give_up_after=300.0)


class _Flag(Protocol):
    """threading.Event or asyncio.Event: set when close() has given up waiting."""

    def is_set(self) -> bool: ...


@dataclasses.dataclass(frozen=True)
class Post:
    """One POST of a queued batch (or of one of its items), with its Idempotency-Key."""

    path: str
    json: Any
    idempotency_key: str


# Yields the POSTs to make; is sent each one's final answer (None: no answer, given up).
SendPlan = Generator[Post, httpx.Response | None, None]


def headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": "threadline-client-python/0.1"}


class ClientCore(abc.ABC):
    """The settings and the queue's bookkeeping; subclasses own the I/O and `_enqueue`."""

    _stop: _Flag

    def _configure(
        self,
        *,
        batch_size: int,
        flush_interval: float,
        max_queue: int,
        retry: RetryPolicy,
        queue_retry: RetryPolicy,
        use_batch: bool,
        close_timeout: float,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_ITEMS:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_ITEMS}")
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.retry = retry
        self.queue_retry = queue_retry
        self.close_timeout = close_timeout
        # Learnt from the first 404 on /batch: the server speaks only the single endpoints.
        self.batch_supported = use_batch
        self._stats = Stats()
        self._queue: collections.deque[Item] = collections.deque()
        self._in_flight = 0
        self._closing = False

    # -- queued writes ---------------------------------------------------------------------

    def log_conversation(self, conversation: ConversationIn) -> str | None:
        """Queue the conversation (its whole history so far). Returns its id (given one if it
        had none: pass it again with the next turn), or None if the queue was full."""
        return self._enqueue("conversation", conversation)

    def log_feedback(self, feedback: FeedbackIn) -> str | None:
        return self._enqueue("feedback", feedback)

    def log_event(self, event: EventIn) -> str | None:
        return self._enqueue("event", event)

    @abc.abstractmethod
    def _enqueue(self, kind: Kind, body: Any) -> str | None:
        """Queue the item (each client under its own lock or in its own loop); its id."""

    # -- sending a batch -------------------------------------------------------------------

    def _send_plan(self, batch: list[Item]) -> SendPlan:
        """POST /batch (halved on a 413; item by item where the server has no /batch), and
        every answer counted in stats."""
        key = new_idempotency_key()
        if self.batch_supported:
            response = yield Post("/batch", batch_body(batch), key)
            if response is None:
                return self._gave_up(batch)
            if response.status_code == 413 and len(batch) > 1:
                # Over the server's body limit (2 MiB by default): each half on its own.
                half = len(batch) // 2
                yield from self._send_plan(batch[:half])
                yield from self._send_plan(batch[half:])
                return None
            if response.status_code not in (404, 405):
                return account_batch(self._stats, batch, response)
            log.info("threadline client: no POST /batch here; sending items one by one")
            self.batch_supported = False
        for index, item in enumerate(batch):
            response = yield Post(SINGLE_PATHS[item.kind], item.body, f"{key}-{index}")
            if response is None:
                return self._gave_up(batch[index:])
            account_single(self._stats, item, response)
        return None

    def _gave_up(self, items: list[Item]) -> None:
        if self._stop.is_set():
            self._stats.add(dropped=len(items))
        else:
            log.warning("threadline client: gave up on %d items after retrying", len(items))
            self._stats.add(failed=len(items))
