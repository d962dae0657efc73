"""The process's Prometheus metrics, on a registry of its own per app (tests build many apps in
one process; the global default registry would mix them and refuse duplicate names).

Requests are counted on the event loop in plain lists (RequestStats) and turned into metric
families only at scrape time: prometheus-client's Counter and Histogram take a lock and, for a
histogram, walk every bucket on each observation, which cost the request path several per cent
(docs/performance.md). Writer commits, one per many writes, use its Histogram directly.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

# Seconds: from a cached 200 to the slowest analytic read that the query timeout still allows.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
# Writes committed in one transaction: 1 up to THREADLINE_WRITER_MAX_BATCH (512 by default).
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
# Any other method is counted as "other", so a client cannot add label values at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SUM = len(LATENCY_BUCKETS) + 1  # a row: one count per bucket, +Inf's, then the seconds' sum


class RequestStats(Collector):
    """Answered requests by (method, route, status): per key one row of bucket counts and the
    sum of their durations. Written by the event loop's thread only; a scrape (another thread)
    reads rows that may be one request apart from each other, which Prometheus tolerates."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, int], list[float]] = {}

    def add(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = "other"
        key = (method, route, status)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0.0] * (_SUM + 1)
        row[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        row[_SUM] += seconds

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        counts = CounterMetricFamily(
            "threadline_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels=["method", "route", "status"],
        )
        by_route: dict[tuple[str, str], list[float]] = {}
        for (method, route, status), row in list(self._rows.items()):
            counts.add_metric([method, route, str(status)], sum(row[:_SUM]))
            total = by_route.setdefault((method, route), [0.0] * (_SUM + 1))
            for index, value in enumerate(row):
                total[index] += value
        latency = HistogramMetricFamily(
            "threadline_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route.",
            labels=["method", "route"],
        )
        for (method, route), row in by_route.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), row[:_SUM], strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            latency.add_metric([method, route], buckets, sum_value=row[_SUM])
        yield counts
        yield latency


class Metrics:
    def __init__(self) -> None:
        # Not auto-described: ServiceGauges would query the database when registered.
        self.registry = CollectorRegistry()
        # process_cpu_seconds_total, process_resident_memory_bytes, open fds (from /proc).
        ProcessCollector(registry=self.registry)
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self._refusals = Counter(
            "threadline_refusals",
            "503 and 429 answers, by status and reason (which limit or outage refused).",
            ["status", "reason"],
            registry=self.registry,
        )
        self._writes_per_commit = Histogram(
            "threadline_writer_writes_per_commit",
            "Writes committed together in one transaction (group commit).",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self._commit_seconds = Histogram(
            "threadline_writer_commit_seconds",
            "Time of one writer transaction, from its first statement to its commit.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def refusal(self, status: int, reason: str) -> None:
        self._refusals.labels(str(status), reason).inc()

    def commit(self, writes: int, seconds: float) -> None:
        """One writer commit (called on the writer's thread; prometheus-client is thread-safe)."""
        self._writes_per_commit.observe(writes)
        self._commit_seconds.observe(seconds)
