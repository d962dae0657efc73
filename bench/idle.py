"""What an idle threadline costs, and how soon one instance's analytic reads see another's
writes (issue 16).

    .venv/bin/python bench/idle.py idle --seconds 60              # SQLite and PostgreSQL
    .venv/bin/python bench/idle.py freshness --samples 20         # two instances, PostgreSQL

idle: a fresh server (insight worker on, as `serve` runs by default) is left alone for a few
seconds, then its CPU time (server process, and the insight worker's child apart) is read from
/proc over --seconds. freshness: two servers on one fresh PostgreSQL database; an event is
posted to A, then B's POST /query/events is asked until it counts it; the time from A's 200 to
B's first answer that counts it, per sample.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from servers import Database, Server, _cpu_seconds

SETTLE_SECONDS = 5.0
FRESHNESS_DEADLINE = 10.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def idle(kind: str, seconds: float, workdir: Path) -> str:
    database = Database(kind, workdir, f"threadline_idle_{os.getpid()}")
    server = Server.threadline(database.url, workdir / f"idle-{kind}.log")
    try:
        time.sleep(SETTLE_SECONDS)
        stats = {pid: Path(f"/proc/{pid}/stat") for pid in [server.process.pid]}
        stats.update({pid: Path(f"/proc/{pid}/stat") for pid in _children(server.process.pid)})
        before = {pid: _cpu_seconds(path) for pid, path in stats.items()}
        started = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        after = {pid: _cpu_seconds(path) for pid, path in stats.items()}
        shares = {pid: 100 * (after[pid] - before[pid]) / elapsed for pid in stats}
        server_share = shares.pop(server.process.pid)
        children = ", ".join(f"{share:.2f} %" for share in shares.values()) or "none"
        return f"| {kind} | {elapsed:.0f} s | {server_share:.2f} % | {children} |"
    finally:
        server.stop()
        database.drop()


def _api_key(database_url: str) -> str:
    command = [sys.executable, "-m", "threadline", "keys", "create", "--project", "bench"]
    command += ["--integration", "fresh", "--kind", "api", "--database-url", database_url]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    return done.stdout.strip()


def _post(url: str, key: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        result: dict[str, object] = json.loads(answer.read())
        return result


COUNT = {"select": [{"type": "aggregation", "aggregation": "count"}]}


def _count(server: Server, key: str) -> int:
    data = _post(f"{server.url}/query/events", key, COUNT)["data"]
    assert isinstance(data, dict)
    return int(next(iter(data["result"][0].values())))


def freshness(samples: int, workdir: Path) -> list[float]:
    database = Database("postgresql", workdir, f"threadline_fresh_{os.getpid()}")
    key = _api_key(database.url)
    env = {"THREADLINE_INSIGHTS": "off"}
    a = Server.threadline(database.url, workdir / "a.log", env)
    b = Server.threadline(database.url, workdir / "b.log", env)
    seen: list[float] = []
    try:
        for n in range(samples):
            event = {"type": "fresh", "messageId": f"m{n}", "entityType": "message"}
            _post(f"{a.url}/events", key, event)
            written = time.monotonic()
            while _count(b, key) < n + 1:
                if time.monotonic() - written > FRESHNESS_DEADLINE:
                    raise RuntimeError(f"B did not see A's write {n} in {FRESHNESS_DEADLINE} s")
                time.sleep(0.005)
            seen.append(time.monotonic() - written)
            time.sleep(0.3)  # the next write lands anywhere in B's polling cycle
    finally:
        a.stop()
        b.stop()
        database.drop()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["idle", "freshness"])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threadline-idle-") as tmp:
        print(f"load before: {os.getloadavg()[0]:.2f}")
        if args.what == "idle":
            print("| database | measured | server process | insight worker child |")
            print("|---|---|---|---|")
            for kind in args.databases.split(","):
                print(idle(kind, args.seconds, Path(tmp)), flush=True)
        else:
            seen = freshness(args.samples, Path(tmp))
            print(
                f"A's write seen in B's analytic reads after: median "
                f"{statistics.median(seen) * 1000:.0f} ms, max {max(seen) * 1000:.0f} ms "
                f"({len(seen)} writes)"
            )
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
