"""The CPU cost of redaction at ingest on one decoded body, in process (issue 16).

    .venv/bin/python bench/redact_cost.py

Decodes the bodies bench/events.lua and bench/search.lua send (and a conversation turn), then
times redact_body with every kind on against a plain copy, alternating rounds, in CPU time
(time.process_time: other processes on a busy machine do not count). Prints µs per body.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import msgspec

from threadline.privacy.detect import KINDS, Redactor
from threadline.privacy.redact import redact_body
from threadline.wire.conversations import ConversationIn
from threadline.wire.events import EventIn

BODIES: dict[str, tuple[Any, bytes]] = {
    "widget event (bench/events.lua)": (
        EventIn,
        b'{"id":"b1","type":"assistant_message_copied","messageId":"msg-1","entityType":"message",'
        b'"properties":{"source":"bench","page":"/docs/start"},'
        b'"userProperties":{"id":"user-1","identificationType":"COOKIED"}}',
    ),
    "search with an email and a phone (bench/search.lua)": (
        EventIn,
        b'{"id":"s1","type":"search_query_submitted","entityType":"search",'
        b'"searchQuery":"reset the password of jane.doe1@example.com, call +1 415 555 0001",'
        b'"properties":{"page":"/docs/account","note":"asked on 2024-05-01 about version 2.3.1"},'
        b'"userProperties":{"id":"user-1","identificationType":"COOKIED"}}',
    ),
    "conversation turn, 2 messages of ~300 characters": (
        ConversationIn,
        msgspec.json.encode(
            {
                "id": "c1",
                "type": "openai",
                "userProperties": {"id": "user-1"},
                "messages": [
                    {
                        "role": "user",
                        "content": "How do I rotate the API key of project 42 after the 2.3 "
                        "upgrade? The dashboard shows an error since 2024-05-01 and support "
                        "said to write here. " * 2,
                    },
                    {
                        "role": "assistant",
                        "content": "Open Settings, then Keys, and choose Rotate. The old key "
                        "keeps working for 24 hours, see https://docs.example.com/keys#rotate "
                        "for the details and the CLI equivalent. " * 2,
                    },
                ],
            }
        ),
    ),
}
ROUNDS, PER_ROUND = 7, 2000


def _cpu_us(work: Callable[[], Any]) -> float:
    started = time.process_time()
    for _ in range(PER_ROUND):
        work()
    return (time.process_time() - started) / PER_ROUND * 1e6


def main() -> None:
    redactor = Redactor(KINDS)
    print("| body | decode only, µs | decode + redact (all kinds), µs | redaction, µs |")
    print("|---|--:|--:|--:|")
    for name, (kind, raw) in BODIES.items():
        off, on = [], []
        for _ in range(ROUNDS):  # alternating, so drift in machine load hits both alike
            off.append(_cpu_us(lambda k=kind, r=raw: msgspec.json.decode(r, type=k)))
            on.append(
                _cpu_us(lambda k=kind, r=raw: redact_body(msgspec.json.decode(r, type=k), redactor))
            )
        plain, redacted = statistics.median(off), statistics.median(on)
        print(f"| {name} | {plain:.1f} | {redacted:.1f} | {redacted - plain:.1f} |")


if __name__ == "__main__":
    main()
