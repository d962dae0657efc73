"""Running the insight worker: a backlog now (`insights run`), or for ever (`insights work`, and
the child process `threadline serve` starts when THREADLINE_INSIGHTS=on)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess

from threadline.insights.embed import Embedder
from threadline.insights.worker import Labeller, Progress, Worker
from threadline.store import insight_queue
from threadline.store.engine import open_database
from threadline.store.migrate import upgrade
from threadline.timestamps import now_us

log = logging.getLogger(__name__)


def run_backlog(
    database_url: str,
    *,
    project: str | None,
    since_us: int | None,
    progress: Callable[[int, int], None],
    labeller: Labeller | None = None,
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
        worker = Worker(
            database, labeller=labeller, embedder=embedder, batch=128, recluster_as_it_goes=False
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
        return done
    finally:
        database.dispose()


def work_forever(database_url: str, interval: float, stop: threading.Event | None = None) -> None:
    """Follows the change log and labels what it brings until `stop` is set (or SIGTERM)."""
    stop = stop or threading.Event()
    database = open_database(database_url, read_pool_size=2)
    worker = Worker(database)
    try:
        while not stop.is_set():
            try:
                progress = worker.step()
            except Exception:  # a database outage: log it, wait, try again
                log.exception("insight worker step failed; retrying")
                stop.wait(interval)
                continue
            if progress.claimed == 0:
                stop.wait(interval)
    finally:
        database.dispose()


def _child(database_url: str, interval: float) -> None:
    # Below the web server in the CPU queue: ingest keeps its latency when both are busy.
    os.nice(10)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us after its own shutdown
    work_forever(database_url, interval, stop)


def start_child(database_url: str, interval: float) -> BaseProcess:
    """The worker in a child process of its own, so CPU-heavy labelling never holds the web
    server's event loop (or its GIL)."""
    process = multiprocessing.get_context("spawn").Process(
        target=_child, args=(database_url, interval), name="threadline-insights", daemon=True
    )
    process.start()
    return process


def stop_child(process: BaseProcess, timeout: float = 10.0) -> None:
    process.terminate()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
