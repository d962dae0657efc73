"""The ceiling: a bare ASGI app (no Starlette) that reads the body, parses it, and answers 200.

    .venv/bin/python bench/ceiling.py --port 8099

Served by uvicorn exactly as `threadline serve` serves threadline (httptools, uvloop, no access
log), so bench/run.py can report threadline's rate as a share of what parsing alone allows here.
"""

from __future__ import annotations

import argparse
from typing import Any

import msgspec
import uvicorn

ANSWER = b'{"status":"ok"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


async def lifespan(receive: Any, send: Any) -> None:
    """Answers the server's ASGI lifespan messages until shutdown (bench/multiprocess.py too)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    if scope["method"] == "POST":  # GET is run.py asking whether it is up yet
        msgspec.json.decode(b"".join(chunks))
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    # The options threadline.cli.serve passes; "auto" resolves to these two when installed.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
