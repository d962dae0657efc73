"""What a hostile sign-in POST costs the server: 150 fields of 1 MB (urlencoded) and a 500 MB
multipart upload, sent straight to the ASGI app, with the peak RSS they add and how much of the
body was read. Each kind runs in a fresh process (ru_maxrss only grows).

    .venv/bin/python bench/dashboard_forms.py             # both kinds, one process each
    PYTHONPATH=<another tree> .venv/bin/python bench/dashboard_forms.py   # compare a version
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
from typing import Any

MB = 1024 * 1024
KINDS = ("urlencoded", "multipart")


def _body(kind: str) -> tuple[bytes, list[bytes]]:
    if kind == "urlencoded":
        return b"application/x-www-form-urlencoded", [
            b"f%d=" % n + b"a" * (MB - 8) + b"&" for n in range(150)
        ]
    head = b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\n'
    files = [b"\0" * MB] * 500
    return b"multipart/form-data; boundary=XyZ", [head, *files, b"\r\n--XyZ--\r\n"]


def measure(kind: str) -> str:
    from threadline.app import create_app
    from threadline.config import Settings

    content_type, chunks = _body(kind)
    pulled = 0
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {
            "type": "http.request",
            "body": chunks[pulled - 1],
            "more_body": pulled < len(chunks),
        }

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    length = str(sum(map(len, chunks))).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/dashboard/sign-in",
        "raw_path": b"/dashboard/sign-in",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", content_type), (b"content-length", length)],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    database = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app(Settings(database_url=database, analytics="off"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    asyncio.run(app(scope, receive, send))
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    read = sum(map(len, chunks[:pulled])) / MB
    return f"| {kind} | {statuses[0]} | {read:.0f} MB | +{grown:.0f} MB |"


def main() -> None:
    if len(sys.argv) > 1:
        print(measure(sys.argv[1]))
        return
    print("| body | status | body read | peak RSS |\n|---|---|---|---|")
    for kind in KINDS:
        subprocess.run([sys.executable, __file__, kind], check=True)


if __name__ == "__main__":
    main()
