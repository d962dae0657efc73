"""The long-lived parts of one threadline process, built from Settings and shared by handlers."""

from __future__ import annotations

import dataclasses
import logging

from threadline.analytics.columnar import ColumnarCopy, default_path
from threadline.auth import Authenticator
from threadline.config import Settings, state_directory
from threadline.observe.gauges import ServiceGauges
from threadline.observe.metrics import Metrics
from threadline.privacy.policy import RedactionPolicies
from threadline.query.vector_index import VectorIndex
from threadline.ratelimit import RateLimiter
from threadline.slots import Slots
from threadline.store.engine import Database, describe_url, open_database
from threadline.store.idempotency import Idempotency
from threadline.store.migrate import upgrade
from threadline.store.writer import Writer

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Services:
    settings: Settings
    database: Database
    writer: Writer
    auth: Authenticator
    idempotency: Idempotency
    columnar: ColumnarCopy | None = None
    # Analytic reads answered, by where from ("columnar", "primary"): for /ready and tests.
    analytic_reads: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"columnar": 0, "primary": 0}
    )
    # Writes from the moment their body is in until answered (api.writes), record reads and
    # analytic reads (api.reads) and CSV exports streaming (api.csv_response), each bounded by
    # its setting.
    writes: Slots = dataclasses.field(init=False)
    reads: Slots = dataclasses.field(init=False)
    queries: Slots = dataclasses.field(init=False)
    exports: Slots = dataclasses.field(init=False)
    # Which projects redact personal data at ingest (api.writes; threadline.privacy).
    redaction: RedactionPolicies = dataclasses.field(init=False)
    # GET /metrics: its own registry per Services, so apps in one process never share counts.
    metrics: Metrics = dataclasses.field(init=False)
    # Each searched project's thread vectors, for semantic search (query.vector_index).
    vectors: VectorIndex = dataclasses.field(default_factory=VectorIndex)

    def __post_init__(self) -> None:
        self.redaction = RedactionPolicies(
            self.database.reader, retry_after=self.settings.retry_after_seconds
        )
        self.writes = Slots(
            self.settings.max_writes_in_flight,
            busy="Too many writes are in progress; retry shortly.",
            reason="writes_in_flight",
        )
        self.reads = Slots(
            self.settings.max_concurrent_reads,
            busy="Too many reads are running; retry shortly.",
            reason="concurrent_reads",
        )
        self.queries = Slots(
            self.settings.max_concurrent_queries,
            busy="Too many analytic queries are running; retry shortly.",
            reason="concurrent_queries",
        )
        self.exports = Slots(
            self.settings.max_concurrent_exports,
            busy="Too many exports are running; retry shortly.",
            reason="concurrent_exports",
        )
        self.metrics = Metrics()
        self.metrics.registry.register(ServiceGauges(self))
        self.writer.on_commit.append(self.metrics.commit)
        if self.columnar is not None:
            # The copy syncs on this process's commits instead of polling for them.
            self.writer.on_commit.append(self.columnar.poke)

    @classmethod
    def create(cls, settings: Settings) -> Services:
        database = open_database(settings.database_url)
        writer = Writer(
            database.writer,
            queue_size=settings.writer_queue_size,
            max_batch=settings.writer_max_batch,
            retry_after=settings.retry_after_seconds,
        )
        limiter = None
        if settings.rate_limit_per_second > 0:
            limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        auth = Authenticator(
            database.reader, cache_seconds=settings.key_cache_seconds, limiter=limiter
        )
        columnar = None
        if settings.analytics == "columnar":
            columnar = ColumnarCopy(
                database.reader,
                settings.analytics_path or default_path(database.url, state_directory()),
                interval=settings.analytics_sync_seconds,
                poll=settings.analytics_poll_seconds,
                memory_limit=settings.analytics_memory_limit,
                threads=settings.analytics_threads,
                temp_directory=settings.analytics_temp_directory,
                reads=settings.max_concurrent_queries,
            )
        return cls(
            settings=settings,
            database=database,
            writer=writer,
            auth=auth,
            idempotency=Idempotency(ttl_hours=settings.idempotency_ttl_hours),
            columnar=columnar,
        )

    def start(self) -> None:
        upgrade(self.database.writer)
        self.writer.start()
        if self.columnar is not None:
            self.columnar.start()
        log.info("storage ready: %s", describe_url(self.database.url))

    def stop(self) -> None:
        self.writer.stop()
        if self.columnar is not None:
            self.columnar.stop()
        self.database.dispose()
