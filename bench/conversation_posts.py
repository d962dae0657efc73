"""Conversation posts through the store alone (store.conversations.upsert_conversation), in
process on a fresh SQLite file: what the full-text triggers cost a post, without HTTP around it.

    .venv/bin/python bench/conversation_posts.py /tmp/posts.db live
    .venv/bin/python bench/conversation_posts.py /tmp/posts.db import

Posts 3,000 new conversations of four messages (40 words each), 30 to a transaction as the
writer batches them, and prints the wall and CPU time per post. `live`: no createdAt anywhere
(the server's time, as the widget posts); `import`: the messages dated a day back and the
conversation not, so its first message time falls in another quarter hour than its creation
(migration 0019 keys SQLite's search documents by that time). The file is deleted after.
"""

from __future__ import annotations

import argparse
import os
import time

import msgspec

from threadline.store.conversations import upsert_conversation
from threadline.store.engine import open_database
from threadline.store.migrate import upgrade
from threadline.wire.conversations import ConversationIn
from threadline.wire.decode import decode

POSTS = 3_000
PER_TRANSACTION = 30
WORDS = [
    "how",
    "do",
    "I",
    "rotate",
    "an",
    "api",
    "key",
    "for",
    "the",
    "export",
    "webhook",
    "billing",
    "plan",
]


def body(n: int, mode: str) -> ConversationIn:
    dated = {"createdAt": "2026-12-05T10:00:00.000Z"} if mode == "import" else {}
    messages = [
        {
            "id": f"c{n}-{k}",
            "role": "user" if k % 2 == 0 else "assistant",
            "content": " ".join(WORDS[(n + k + j) % len(WORDS)] for j in range(40)),
            **dated,
        }
        for k in range(4)
    ]
    posted = {"id": f"c{n}", "type": "openai", "messages": messages}
    return decode(msgspec.json.encode(posted), ConversationIn)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", help="a SQLite file to create (replaced, then deleted)")
    parser.add_argument("mode", choices=("live", "import"))
    args = parser.parse_args()
    if os.path.exists(args.path):
        os.remove(args.path)
    db = open_database(f"sqlite:///{args.path}")
    upgrade(db.writer)
    bodies = [body(n, args.mode) for n in range(POSTS)]
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, POSTS, PER_TRANSACTION):
        with db.writer.begin() as connection:
            for posted in bodies[start : start + PER_TRANSACTION]:
                upsert_conversation(
                    connection,
                    project_id="p",
                    integration_id="i",
                    key_kind="api",
                    body=posted,
                    max_messages=1_000,
                )
    wall_us = (time.perf_counter() - wall) / POSTS * 1e6
    cpu_us = (time.process_time() - cpu) / POSTS * 1e6
    print(f"{args.mode}: {wall_us:.0f} µs wall, {cpu_us:.0f} µs CPU per post")
    db.dispose()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(args.path + suffix):
            os.remove(args.path + suffix)


if __name__ == "__main__":
    main()
