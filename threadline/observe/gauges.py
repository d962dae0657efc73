"""Values read at scrape time from the running services: the writer's queue and totals, the
slots in use, the columnar copy's lag, the insight backlog. Nothing is counted on the request
path for these; a scrape reads what the services already keep."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from threadline.store import insight_queue

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from threadline.analytics.columnar import ColumnarCopy
    from threadline.slots import Slots
    from threadline.store.engine import Database
    from threadline.store.writer import Writer

log = logging.getLogger(__name__)


class Observed(Protocol):
    """What a scrape reads of the running process: threadline.services.Services has it (a
    protocol, so this lower layer does not import the module that builds it)."""

    @property
    def database(self) -> Database: ...
    @property
    def writer(self) -> Writer: ...
    @property
    def writes(self) -> Slots: ...
    @property
    def reads(self) -> Slots: ...
    @property
    def queries(self) -> Slots: ...
    @property
    def exports(self) -> Slots: ...
    @property
    def analytic_reads(self) -> Mapping[str, int]: ...
    @property
    def columnar(self) -> ColumnarCopy | None: ...


class ServiceGauges(Collector):
    def __init__(self, services: Observed) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        ctx = self._services
        writer = ctx.writer
        yield GaugeMetricFamily(
            "threadline_writer_queue_depth", "Writes waiting for the writer.", writer.queued
        )
        yield CounterMetricFamily(
            "threadline_writer_commits", "Transactions the writer committed.", writer.batches
        )
        yield CounterMetricFamily(
            "threadline_writer_writes", "Writes the writer committed.", writer.jobs
        )
        yield CounterMetricFamily(
            "threadline_writer_conflicts",
            "Batches the writer re-ran after a deadlock or serialization failure.",
            writer.conflicts,
        )
        yield from self._slots()
        yield from self._analytics()
        backlog = self._insight_backlog()
        if backlog is not None:
            yield GaugeMetricFamily(
                "threadline_insights_backlog",
                "Conversations queued for the insight worker (due or not).",
                backlog,
            )

    def _slots(self) -> Iterator[Metric]:
        ctx = self._services
        kinds = {
            "writes": ctx.writes,
            "reads": ctx.reads,
            "queries": ctx.queries,
            "exports": ctx.exports,
        }
        taken = GaugeMetricFamily(
            "threadline_slots_taken",
            "Work of each kind running now (exports: CSV downloads streaming).",
            labels=["kind"],
        )
        limit = GaugeMetricFamily(
            "threadline_slots_limit", "The most of each kind allowed at once.", labels=["kind"]
        )
        for kind, slots in kinds.items():
            taken.add_metric([kind], slots.running)
            limit.add_metric([kind], slots.limit)
        yield taken
        yield limit

    def _analytics(self) -> Iterator[Metric]:
        ctx = self._services
        answered = CounterMetricFamily(
            "threadline_analytic_reads",
            "Analytic reads answered, by where from (columnar copy or primary store).",
            labels=["source"],
        )
        for source, count in ctx.analytic_reads.items():
            answered.add_metric([source], count)
        yield answered
        copy = ctx.columnar
        if copy is None:
            return
        if copy.ready:
            yield GaugeMetricFamily(
                "threadline_columnar_lag_seconds",
                "Seconds since the columnar copy's last completed sync began reading.",
                time.monotonic() - copy.as_of,
            )
        yield CounterMetricFamily(
            "threadline_columnar_syncs", "Syncs of the columnar copy completed.", copy.syncs
        )
        yield CounterMetricFamily(
            "threadline_columnar_failed_syncs", "Syncs of the columnar copy failed.", copy.failures
        )

    def _insight_backlog(self) -> int | None:
        """One count on the primary store; left out of the scrape when the store is down."""
        try:
            return insight_queue.pending(self._services.database.reader)
        except SQLAlchemyError as exc:
            log.debug("insight backlog not read: %s", exc)
            return None
