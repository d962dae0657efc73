"""Running the insight worker: a backlog now (`insights run`), or for ever (`insights work`, and
the child process `threadline serve` starts when THREADLINE_INSIGHTS=on)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import urllib.parse
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from threadline.insights.embed import Embedder
from threadline.insights.pacing import Pacing
from threadline.insights.worker import Labeller, Progress, Worker
from threadline.store import insight_queue
from threadline.store.engine import is_storage_outage, open_database
from threadline.store.migrate import upgrade
from threadline.timestamps import now_us

if TYPE_CHECKING:
    from threadline.insights.llm import LlmConfig, LlmLabeller

log = logging.getLogger(__name__)

# How often the child looks whether the server that started it is still there.
ORPHAN_CHECK_SECONDS = 1.0


def run_backlog(
    database_url: str,
    *,
    project: str | None,
    since_us: int | None,
    progress: Callable[[int, int], None],
    labeller: Labeller | None = None,
    llm: LlmConfig | None = None,
) -> Progress:
    """Labels every conversation of the project (or all) written since `since_us`, now.
    progress(done, total) is called after each batch. Safe to re-run: unchanged threads are
    not labelled again."""
    database = open_database(database_url, read_pool_size=2)
    try:
        upgrade(database.writer)
        total = insight_queue.enqueue_backlog(database.writer, project, since_us)
        # A backlog run has the machine to itself: the model may use every core.
        embedder = Embedder(threads=os.cpu_count() or 1)
        llm_labeller = _llm_labeller(llm)
        worker = Worker(
            database,
            labeller=labeller,
            llm_labeller=llm_labeller,
            embedder=embedder,
            batch=128,
            recluster_as_it_goes=False,
        )
        done = Progress()
        touched: set[str] = set()
        while True:
            step = worker.drain_once(now_us())
            if not step.claimed:
                break
            done.claimed += step.claimed
            done.failed += step.failed
            done.threads_labelled += step.threads_labelled
            touched |= worker.touched
            progress(min(done.claimed, total), total)
        for project_id in sorted(touched):
            worker.recluster(project_id)
        if llm_labeller is not None:
            done.llm_labelled = llm_labeller.labelled
            done.llm_fallbacks = sum(llm_labeller.fallbacks.values())
        return done
    finally:
        database.dispose()


def _llm_labeller(llm: LlmConfig | None) -> LlmLabeller | None:
    if llm is None:
        return None
    from threadline.insights.llm import LlmLabeller

    # The host only: a base URL may carry credentials (https://user:secret@host/v1).
    host = urllib.parse.urlsplit(llm.base_url).hostname
    log.info("LLM labeller on: host %s, model %s, for opted-in projects", host, llm.model)
    return LlmLabeller(llm)


def work_forever(
    database_url: str,
    interval: float,
    stop: threading.Event | None = None,
    llm: LlmConfig | None = None,
    cpu_share: float = 1.0,
    server_pid: int | None = None,
) -> None:
    """Follows the change log and labels what it brings until `stop` is set (or SIGTERM),
    resting after each step so that it works `cpu_share` of the time (1: no rest), less while
    the server `server_pid` is busy (insights.pacing)."""
    stop = stop or threading.Event()
    pacing = Pacing(cpu_share, server_pid)
    database = open_database(database_url, read_pool_size=2)
    worker = Worker(database, llm_labeller=_llm_labeller(llm))
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                progress = worker.step()
            except Exception as exc:  # the worker must outlive a failed step: it retries
                if is_storage_outage(exc):
                    # Routine while the database is away (a restart, a network cut): one line;
                    # the same conversations are taken up again once it answers.
                    log.warning("insight worker: storage unavailable, retrying: %s", exc)
                else:
                    log.exception("insight worker step failed; retrying")
                stop.wait(interval)
                continue
            if progress.claimed == 0:
                stop.wait(interval)
                pacing.idled()
                continue
            rest = pacing.rest_after(time.monotonic() - started)
            if rest > 0:
                stop.wait(rest)
    finally:
        database.dispose()


def _stop_when_orphaned(stop: threading.Event, parent: int, interval: float) -> None:
    """Sets `stop` once the parent (the server's pid, passed from it: the server may be gone
    before this child has even started) is gone. A server killed outright (SIGKILL, OOM) never
    terminates its child, which would go on labelling, and holding leases, on its own."""
    while True:
        if os.getppid() != parent:
            log.warning("insight worker: the server that started it is gone; stopping")
            stop.set()
        if stop.wait(interval):
            return


def _child(
    database_url: str, interval: float, llm: LlmConfig | None, parent: int, cpu_share: float
) -> None:
    # Below the web server in the CPU queue: ingest keeps its latency when both are busy.
    os.nice(10)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us after its own shutdown
    threading.Thread(
        target=_stop_when_orphaned, args=(stop, parent, ORPHAN_CHECK_SECONDS), daemon=True
    ).start()
    work_forever(database_url, interval, stop, llm, cpu_share, server_pid=parent)


def start_child(
    database_url: str,
    interval: float,
    llm: LlmConfig | None = None,
    cpu_share: float = 1.0,
) -> BaseProcess:
    """The worker in a child process of its own, so CPU-heavy labelling never holds the web
    server's event loop (or its GIL), working `cpu_share` of the time while it has a backlog."""
    process = multiprocessing.get_context("spawn").Process(
        target=_child,
        args=(database_url, interval, llm, os.getpid(), cpu_share),
        name="threadline-insights",
        daemon=True,
    )
    process.start()
    return process


def stop_child(process: BaseProcess, timeout: float = 10.0) -> None:
    process.terminate()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
