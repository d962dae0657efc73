"""Run a Python program with its threads named for /proc, so each thread's CPU can be read by name
(issue 14, session 5: where the writer thread's CPU goes in the server).

    .venv/bin/python bench/threads_named.py -m threadline serve ...
    .venv/bin/python bench/threads_named.py bench/writer_direct.py --ways batches

Every Python thread sets its kernel name (`/proc/<pid>/task/<tid>/comm`, 15 bytes) to its
threading name; threads it starts natively (DuckDB's) inherit it. Each Python thread's own CPU
(`time.thread_time`) is printed to stderr when it ends, as `THREAD <name> <seconds>`.
BENCH_SWITCH_INTERVAL sets `sys.setswitchinterval` (CPython's default 0.005 s);
BENCH_GIL_BURNER=1 starts a thread that decodes and encodes JSON for ever, holding the GIL and
allocating as an event loop does.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import sys
import threading
import time
from typing import Any

import msgspec

_PR_SET_NAME = 15
_libc = ctypes.CDLL(None, use_errno=True)
_bootstrap_inner: Any = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]


def _named_bootstrap(self: threading.Thread) -> None:
    _libc.prctl(_PR_SET_NAME, self.name.encode()[:15], 0, 0, 0)
    started = time.thread_time()
    try:
        _bootstrap_inner(self)
    finally:
        print(f"THREAD {self.name} {time.thread_time() - started:.3f}", file=sys.stderr)


def _burn() -> None:
    # Decoding and encoding JSON as an event loop does: the GIL held, memory allocated and freed.
    body = b'{"items":[%s]}' % b",".join(
        b'{"id":"e%d","properties":{"a":[1,2,3]}}' % i for i in range(100)
    )
    while True:
        msgspec.json.encode(msgspec.json.decode(body))


def main() -> None:
    threading.Thread._bootstrap_inner = _named_bootstrap  # type: ignore[attr-defined]
    if interval := os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(interval))
    if os.environ.get("BENCH_GIL_BURNER") == "1":
        threading.Thread(target=_burn, name="burner", daemon=True).start()
    sys.argv = sys.argv[1:]
    if sys.argv[0] == "-m":
        sys.argv = sys.argv[1:]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))
        runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
