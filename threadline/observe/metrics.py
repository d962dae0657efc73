"""The process's Prometheus metrics, on a registry of its own per app (tests build many apps in
one process; the global default registry would mix them and refuse duplicate names).

Counters and histograms fed on the request path keep their labelled children in plain dicts:
prometheus-client's labels() takes a lock and validates the labels on every call, which the
request path should not pay each time (docs/performance.md).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.metrics import MetricWrapperBase

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


class Metrics:
    def __init__(self) -> None:
        # Not auto-described: ServiceGauges would query the database when registered.
        self.registry = CollectorRegistry()
        # process_cpu_seconds_total, process_resident_memory_bytes, open fds (from /proc).
        ProcessCollector(registry=self.registry)
        self._requests = Counter(
            "threadline_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "threadline_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
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
        self._request_children: dict[tuple[str, str, str], MetricWrapperBase] = {}
        self._latency_children: dict[tuple[str, str], MetricWrapperBase] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request (the event loop's thread only)."""
        if method not in METHODS:
            method = "other"
        key = (method, route, str(status))
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._request_children[key] = self._requests.labels(*key)
        counter.inc()  # type: ignore[attr-defined]
        timed = self._latency_children.get(key[:2])
        if timed is None:
            timed = self._latency_children[key[:2]] = self._latency.labels(method, route)
        timed.observe(seconds)  # type: ignore[attr-defined]

    def refusal(self, status: int, reason: str) -> None:
        self._refusals.labels(str(status), reason).inc()

    def commit(self, writes: int, seconds: float) -> None:
        """One writer commit (called on the writer's thread; prometheus-client is thread-safe)."""
        self._writes_per_commit.observe(writes)
        self._commit_seconds.observe(seconds)
