"""The single writer: one thread owns the write connection and commits queued writes in batches.

A request hands the writer a *job* (a function of a Connection) and awaits its result. The writer
takes every job waiting, runs them all in one transaction and commits once (group commit: one
fsync for many writes), and only then resolves each request's future. So a 2xx always means
committed.

- A job that raises ThreadlineError (a 422, say) gets that error; the batch is rolled back and
  re-run without it, so one bad write never sinks the others or leaves half of itself behind.
- Jobs that offer `run_many(connection, jobs)` (event inserts) run together as one statement;
  should such a group fail, the batch is re-run with every job on its own, so the failure is
  pinned on the job that caused it.
- A database failure (down, locked, disk full) fails the whole batch with 503 + Retry-After;
  the next batch tries again on a fresh connection, so recovery needs no restart.
- A batch's jobs take their row locks in one order (`lock_key`, below), so two instances
  upserting the same conversations at once wait for each other instead of deadlocking.
- A deadlock or serialization failure that happens anyway (rows the keys do not name) is not
  an outage: PostgreSQL rolled one side back, and the batch is re-run after a short random
  pause, so the two sides do not collide again in step.
- The queue is bounded: when it is full, `submit` refuses at once with 503 instead of letting
  memory and latency grow without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from threadline.errors import InternalError, ThreadlineError, Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[Connection], T]
J = TypeVar("J", bound=Callable[[Connection], Any])

_STOP = object()
# The database itself failing (down, connection lost): never one write's fault.
_CONNECTION_ERRORS = (OperationalError, InterfaceError)
# SQLSTATEs after which re-running the same transaction is the documented remedy.
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
_TRANSIENT_RETRIES = 8
# The pause before re-running after a conflict: random, up to this many seconds times the retry
# number. PostgreSQL reports a deadlock after deadlock_timeout (1 s by default); the pauses keep
# two instances from re-running into the same interleaving.
_TRANSIENT_PAUSE_S = 0.05


def is_transient(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the database rolled this side back, and running
    the same transaction again is the documented remedy."""
    return isinstance(exc, DBAPIError) and (
        getattr(exc.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES
    )


def transient_pause(retry: int) -> None:
    """The pause before re-running a transaction a conflict rolled back, `retry` counting from
    1: random, so two sides that collided do not re-run in step."""
    time.sleep(random.uniform(0, _TRANSIENT_PAUSE_S * retry))


def commit_retrying(engine: Engine, work: Callable[[Connection], T]) -> T:
    """`work` in one transaction, committed; re-run after a deadlock or serialization failure
    (as the writer does), at most _TRANSIENT_RETRIES times; any other error is raised."""
    retry = 0
    while True:
        try:
            with engine.begin() as connection:
                return work(connection)
        except DBAPIError as exc:
            if not is_transient(exc) or retry >= _TRANSIENT_RETRIES:
                raise
            retry += 1
            log.info("transient conflict, re-running a transaction: %s", exc.orig)
            transient_pause(retry)


def lock_key(job: Job[Any]) -> tuple[str, ...]:
    """What `job` locks first, as a sort key: () for a job that names no row before it runs.

    Every batch runs its jobs in this order. Two instances that each take a batch of the same
    conversations then lock them in the same order, so one waits for the other where, in
    arrival order, each could hold a row the other wants next (a deadlock: a second lost, and
    on a busy pair a 503 once the retries ran out)."""
    key: tuple[str, ...] = getattr(job, "lock_key", ())
    return key


def locking(job: J, *key: str) -> J:
    """`job`, marked as locking the row named by `key` first (table name, then primary key)."""
    job.lock_key = key  # type: ignore[attr-defined]
    return job


class _Pending(Generic[T]):
    __slots__ = ("future", "job", "loop")

    def __init__(self, job: Job[T], loop: asyncio.AbstractEventLoop, future: asyncio.Future[T]):
        self.job = job
        self.loop = loop
        self.future = future

    def reject(self, error: BaseException) -> None:
        self._settle_soon(None, error)

    def _settle_soon(self, result: Any, error: BaseException | None) -> None:
        # If the caller's event loop is gone, nobody is waiting; the writer must live on.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_settle, self.future, result, error)


def _resolve_all(pending: list[_Pending[Any]], results: list[Any]) -> None:
    """Resolve a commit's futures with one wake-up of each event loop, not one per write: each
    call_soon_threadsafe writes to the loop's self-pipe, a system call that cost more than a
    single event's insert (docs/performance.md, issue 14)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for item, result in zip(pending, results, strict=True):
        by_loop.setdefault(item.loop, []).append((item.future, result))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is gone: nobody is waiting there
            loop.call_soon_threadsafe(_settle_many, settled)


def _settle_many(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in settled:
        if not future.done():  # done: the client went away; the write is committed all the same
            future.set_result(result)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the client went away; the write is committed all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _JobFailed(Exception):
    def __init__(self, pending: _Pending[Any], error: BaseException):
        self.pending = pending
        self.error = error


class _GroupFailed(Exception):
    """A run_many group failed: which of its jobs caused it is unknown."""


class Writer:
    def __init__(
        self,
        engine: Engine,
        *,
        queue_size: int = 10_000,
        max_batch: int = 512,
        retry_after: int = 1,
    ) -> None:
        self._engine = engine
        # Unbounded underneath, so stop() can always queue its marker; submit() keeps the bound.
        # A SimpleQueue: its put is C, where Queue's runs a Python Condition.notify per write,
        # ~10 % of the event loop's samples on single events (docs/performance.md, issue 14).
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._queue_size = queue_size
        self._max_batch = max_batch
        self._retry_after = retry_after
        self._thread: threading.Thread | None = None
        self._accepting = False
        # Counters for /ready and the benchmarks; written by the writer thread only.
        self.batches = 0
        self.jobs = 0
        # Batches re-run after a deadlock or serialization failure.
        self.conflicts = 0
        # time.monotonic() of the last commit (0.0: none yet).
        self.last_commit_at = 0.0
        # Called on the writer's thread after each commit with (writes, seconds it took): the
        # metrics, and the columnar copy, which syncs on this process's commits (no polling).
        self.on_commit: list[Callable[[int, float], None]] = []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="threadline-writer", daemon=True)
        self._accepting = True
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Commit everything already queued, then stop (SIGTERM drains)."""
        if self._thread is None:
            return
        # Refuse new writes first, so none can slip in behind the stop marker unanswered.
        self._accepting = False
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def submit(self, job: Job[T]) -> T:
        """Run job in the writer's next transaction; return its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        pending = _Pending(job, loop, future)
        if not self._accepting:
            raise Unavailable(
                "threadline is not accepting writes",
                retry_after=self._retry_after,
                reason="shutting_down",
            )
        if self._queue.qsize() >= self._queue_size:
            raise Unavailable(
                "Too many writes are waiting for storage; retry shortly.",
                retry_after=self._retry_after,
                reason="writer_queue_full",
            )
        self._queue.put_nowait(pending)
        return await pending.future

    def _take_batch(self) -> tuple[list[_Pending[Any]], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        stop = False
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
                break
            batch.append(item)
        return batch, stop

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take_batch()
            if batch:
                self._commit_or_refuse(batch)
        # Anything queued after the stop marker is refused, never silently dropped.
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                item.reject(
                    Unavailable(
                        "threadline is shutting down",
                        retry_after=self._retry_after,
                        reason="shutting_down",
                    )
                )

    def _commit_or_refuse(self, batch: list[_Pending[Any]]) -> None:
        """_commit, but nothing may kill this thread: every later write would hang unanswered."""
        try:
            self._commit(batch)
        except Exception:
            log.exception("writer failed on a batch of %d writes", len(batch))
            for item in batch:
                # A future already settled (answered before the failure) ignores this.
                item.reject(InternalError())

    def _commit(self, batch: list[_Pending[Any]]) -> None:
        pending = list(batch)
        grouped = True
        retries = 0
        while pending:
            began = time.monotonic()
            try:
                results = self._transaction(pending, grouped=grouped)
            except _GroupFailed:
                grouped = False
                continue
            except _JobFailed as failed:
                failed.pending.reject(failed.error)
                pending.remove(failed.pending)
                continue
            except (OperationalError, DBAPIError) as exc:
                if is_transient(exc) and retries < _TRANSIENT_RETRIES:
                    retries += 1
                    self.conflicts += 1
                    log.info("transient conflict, re-running %d writes: %s", len(pending), exc.orig)
                    transient_pause(retries)
                    continue
                log.warning("storage unavailable, %d writes refused: %s", len(pending), exc)
                error = Unavailable(
                    "Storage is unavailable; nothing was written. Retry shortly.",
                    retry_after=self._retry_after,
                    reason="storage_unavailable",
                )
                for item in pending:
                    item.reject(error)
                return
            # Before any answer goes out: a read that follows an acknowledged write sees that
            # the columnar copy must catch up first (api.reads.analytic_read).
            self.last_commit_at = time.monotonic()
            # Counted before the answers go out: a caller woken by its answer may read them.
            self.batches += 1
            self.jobs += len(pending)
            _resolve_all(pending, results)
            for listener in self.on_commit:
                listener(len(pending), self.last_commit_at - began)
            return

    def _transaction(self, pending: list[_Pending[Any]], *, grouped: bool) -> list[Any]:
        results: list[Any] = [None] * len(pending)
        groups: dict[Callable[..., list[Any]], list[int]] = {}
        in_lock_order = sorted(range(len(pending)), key=lambda i: lock_key(pending[i].job))
        with self._engine.begin() as connection:
            for index in in_lock_order:
                item = pending[index]
                run_many = getattr(item.job, "run_many", None) if grouped else None
                if run_many is None:
                    results[index] = self._run_job(item, connection)
                else:
                    groups.setdefault(run_many, []).append(index)
            for run_many, indices in groups.items():
                outcomes = self._run_group(run_many, [pending[i] for i in indices], connection)
                for index, outcome in zip(indices, outcomes, strict=True):
                    results[index] = outcome
        return results

    @staticmethod
    def _run_group(
        run_many: Callable[..., list[Any]], items: list[_Pending[Any]], connection: Connection
    ) -> list[Any]:
        if len(items) == 1:
            return [Writer._run_job(items[0], connection)]
        try:
            return run_many(connection, [item.job for item in items])
        except _CONNECTION_ERRORS:
            raise  # the database itself failed: the whole batch is refused
        except Exception as exc:
            raise _GroupFailed from exc

    @staticmethod
    def _run_job(item: _Pending[Any], connection: Connection) -> Any:
        try:
            return item.job(connection)
        except ThreadlineError as exc:
            raise _JobFailed(item, exc) from exc
        except _CONNECTION_ERRORS:
            raise  # the database itself failed: the whole batch is refused
        except SQLAlchemyError as exc:
            # An integrity error or similar, caused by this write alone.
            log.exception("write failed")
            raise _JobFailed(item, InternalError()) from exc
        except Exception as exc:
            log.exception("write failed")
            raise _JobFailed(item, InternalError()) from exc
