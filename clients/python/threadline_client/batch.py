"""What the sync and asyncio clients share about sending queued items: the items, their paths
for servers without /batch, the accounting of an answer, and the counters."""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from typing import Any

import httpx

from threadline_client.types import Kind

log = logging.getLogger("threadline_client")

# Where each kind goes on a server without POST /batch (Inkeep's own API, for one).
SINGLE_PATHS: dict[Kind, str] = {
    "event": "/events",
    "feedback": "/feedback",
    "conversation": "/conversations",
}
ID_PREFIXES: dict[Kind, str] = {"event": "evt", "feedback": "fb", "conversation": "conv"}
# threadline takes up to 1,000 items a batch; smaller batches keep a retry cheap.
MAX_BATCH_ITEMS = 1000


@dataclasses.dataclass(frozen=True)
class Item:
    kind: Kind
    body: dict[str, Any]


def with_id(kind: Kind, body: Any) -> dict[str, Any]:
    """The body with a client id: a retry of an event or feedback is then stored once, and a
    conversation's later turns upsert the same conversation."""
    if body.get("id"):
        return dict(body)
    return {**body, "id": f"{ID_PREFIXES[kind]}_{uuid.uuid4().hex}"}


def new_idempotency_key() -> str:
    return f"tlc-{uuid.uuid4()}"


def batch_body(items: list[Item]) -> dict[str, Any]:
    return {"items": [{"kind": item.kind, "body": item.body} for item in items]}


@dataclasses.dataclass
class Stats:
    """What the queue did. `sent`: items the server acknowledged (stored); `rejected`: refused
    as invalid (never retried); `dropped`: never sent, because the queue was full or the client
    closed before the server came back; `failed`: given up after every retry; `retries`."""

    sent: int = 0
    rejected: int = 0
    dropped: int = 0
    failed: int = 0
    retries: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "sent": self.sent,
                "rejected": self.rejected,
                "dropped": self.dropped,
                "failed": self.failed,
                "retries": self.retries,
            }


def account_batch(stats: Stats, items: list[Item], response: httpx.Response) -> None:
    """Count a final /batch answer: 200 has one result per item; any other status (after the
    retries) refused the whole batch."""
    if response.status_code != 200:
        log.warning(
            "threadline refused a batch of %d: HTTP %d %s",
            len(items),
            response.status_code,
            response.text[:300],
        )
        stats.add(rejected=len(items))
        return
    results = response.json()["results"]
    for item, result in zip(items, results, strict=True):
        if result["status"] == 200:
            stats.add(sent=1)
        else:
            log.warning("threadline refused a %s: %s", item.kind, result.get("error"))
            stats.add(rejected=1)


def account_single(stats: Stats, item: Item, response: httpx.Response) -> None:
    if response.is_success:
        stats.add(sent=1)
    else:
        log.warning(
            "threadline refused a %s: HTTP %d %s",
            item.kind,
            response.status_code,
            response.text[:300],
        )
        stats.add(rejected=1)
