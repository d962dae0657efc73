"""The insight worker's rests: its share of the time, and less while the server is busy."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from threadline.insights.pacing import (
    BUSY_CORES,
    MIN_CPU_SHARE,
    Pacing,
    process_cpu_seconds,
    rest_after,
)


def test_rest_after_gives_the_share() -> None:
    assert rest_after(1.0, 0.5) == 1.0
    assert rest_after(1.0, 0.25) == 3.0
    assert rest_after(2.0, 1.0) == 0.0


class Server:
    """A server's CPU seconds and a clock, both moved by the test."""

    def __init__(self) -> None:
        self.now = 100.0
        self.cpu: float | None = 10.0

    def clock(self) -> float:
        return self.now

    def cpu_of(self, pid: int) -> float | None:
        assert pid == 4242
        return self.cpu

    def runs(self, seconds: float, cores: float) -> None:
        self.now += seconds
        if self.cpu is not None:
            self.cpu += seconds * cores


def _pacing(server: Server, share: float) -> Pacing:
    return Pacing(share, 4242, server_cpu=server.cpu_of, clock=server.clock)


def test_a_quiet_server_leaves_the_worker_its_share() -> None:
    server = Server()
    pacing = _pacing(server, 0.5)
    server.runs(2.0, cores=BUSY_CORES / 2)
    assert pacing.rest_after(1.0) == 1.0


def test_a_busy_server_gets_its_cores_back_until_it_is_quiet_again() -> None:
    server = Server()
    pacing = _pacing(server, 0.5)
    server.runs(2.0, cores=1.0)  # taking ingest as fast as it can
    assert pacing.rest_after(1.0) == pytest.approx(rest_after(1.0, MIN_CPU_SHARE))
    server.runs(9.0, cores=BUSY_CORES)
    assert pacing.rest_after(1.0) == pytest.approx(rest_after(1.0, MIN_CPU_SHARE))
    server.runs(9.0, cores=0.05)
    assert pacing.rest_after(1.0) == 1.0


def test_a_wait_with_nothing_to_do_does_not_count_the_server_as_busy() -> None:
    server = Server()
    pacing = _pacing(server, 1.0)
    server.runs(30.0, cores=1.0)  # a burst while the worker had no backlog
    pacing.idled()
    server.runs(1.0, cores=0.0)
    assert pacing.rest_after(1.0) == 0.0


def test_without_a_server_to_watch_the_share_stays_as_configured() -> None:
    assert Pacing(0.25).rest_after(1.0) == 3.0  # `insights work`: no server of its own
    server = Server()
    server.cpu = None  # /proc does not tell (not Linux, or the server is gone)
    pacing = _pacing(server, 0.25)
    server.runs(2.0, cores=1.0)
    assert pacing.rest_after(1.0) == 3.0
    assert Pacing(0.01).cpu_share == MIN_CPU_SHARE
    assert Pacing(3.0).cpu_share == 1.0


def test_process_cpu_seconds_reads_what_a_process_used() -> None:
    before = process_cpu_seconds(os.getpid())
    assert before is not None
    spent = time.process_time() + 0.05
    while time.process_time() < spent:  # burns 50 ms of CPU (a few of /proc's ticks)
        pass
    after = process_cpu_seconds(os.getpid())
    assert after is not None and after > before
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert process_cpu_seconds(int(gone.stdout)) is None
