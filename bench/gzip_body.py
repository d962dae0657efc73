"""What inflating a gzip request body costs the event loop: inline, in a thread, or threadline's
rule (inline up to INLINE_GZIP_BYTES compressed bytes, the rest in a worker thread).

    .venv/bin/python bench/gzip_body.py             # both bodies, all three ways
    .venv/bin/python bench/gzip_body.py --rounds 50

Two bodies: a small ordinary one (a ~1.5 KB conversation, gzipped once) and 2 MB of tiny gzip
members (one byte of JSON each), the worst case per compressed byte. Each is handed to
`threadline.api.body.read_body` in 64 KiB chunks, as uvicorn hands over a fast upload, while a
heartbeat task (every 1 ms) measures the longest the loop went without running it. Prints one
Markdown table: per body, the wall time, the main thread's CPU time (the loop's share of the
work, the heartbeat's included) and the longest gap between heartbeats (1 ms when the loop is
never held), as medians over --rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import statistics
import time
from collections.abc import Callable

import msgspec
from starlette.requests import Request
from starlette.types import Message

from threadline.api import body as body_module
from threadline.config import Settings

LIMIT = Settings().max_body_bytes
CHUNK = 64 * 1024
# The heartbeat's period: it sleeps, rather than spin, so it takes next to no CPU from the body.
HEARTBEAT = 0.001
WAYS: dict[str, int] = {
    "inline": LIMIT + 1,
    "thread": 0,
    f"threadline (inline ≤ {body_module.INLINE_GZIP_BYTES // 1024} KiB)": (
        body_module.INLINE_GZIP_BYTES
    ),
}


def small_body() -> bytes:
    """A widget-sized conversation: ~3 KB of varied text, ~1.5 KB gzipped."""
    rng = random.Random(1)
    words = [
        f"{rng.choice('bcdfghklmnprstvw')}{rng.choice('aeiou')}{rng.randrange(99)}"
        for _ in range(400)
    ]
    messages = [
        {"role": ("user", "assistant")[i % 2], "content": " ".join(words[i * 50 : (i + 1) * 50])}
        for i in range(8)
    ]
    return gzip.compress(msgspec.json.encode({"type": "openai", "messages": messages}))


def many_members_body(size: int = 2_000_000) -> bytes:
    """Up to `size` bytes of one-byte gzip members that inflate to a valid JSON event."""
    member = len(gzip.compress(b"q"))
    head, tail = b'{"type": "t", "entityType": "search", "searchQuery": "', b'"}'
    text = head + b"q" * (size // member - len(head) - len(tail)) + tail
    return b"".join(gzip.compress(text[i : i + 1]) for i in range(len(text)))


def _request(data: bytes) -> Request:
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]

    async def receive() -> Message:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    headers = [(b"content-encoding", b"gzip"), (b"content-length", str(len(data)).encode())]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)


async def _one(data: bytes) -> tuple[float, float, float]:
    """Wall s, main-thread CPU s and the longest loop stall (s) while reading one body."""
    longest = 0.0
    done = False

    async def heartbeat() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(HEARTBEAT)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    wall, cpu = time.perf_counter(), time.thread_time()
    await body_module.read_body(_request(data), LIMIT)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    done = True
    await beat
    return wall, cpu, longest


def _measure(data: bytes, rounds: int) -> tuple[float, float, float]:
    async def run() -> list[tuple[float, float, float]]:
        await _one(data)  # warm up (the thread pool's first thread, imports)
        return [await _one(data) for _ in range(rounds)]

    samples = asyncio.run(run())
    median: Callable[[int], float] = lambda i: statistics.median(s[i] for s in samples)  # noqa: E731
    return median(0), median(1), median(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    bodies = {"small conversation": small_body(), "2 MB of 1-byte members": many_members_body()}
    print("| body | gzip bytes | inflated | wall ms | loop CPU ms | longest loop stall ms |")
    print("|---|--:|---|--:|--:|--:|")
    for name, data in bodies.items():
        inflated = len(gzip.decompress(data))
        for way, inline_bytes in WAYS.items():
            body_module.INLINE_GZIP_BYTES = inline_bytes
            wall, cpu, stall = _measure(data, args.rounds)
            print(
                f"| {name}, {way} | {len(data):,} | {inflated:,} B | {wall * 1e3:.3f} | "
                f"{cpu * 1e3:.3f} | {stall * 1e3:.3f} |"
            )


if __name__ == "__main__":
    main()
