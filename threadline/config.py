"""One frozen Settings object, built from THREADLINE_* environment variables and CLI flags.

This is the only module that reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///threadline.db"

# Inkeep documents "2 MB" per request body; we take the larger reading (MiB) so that nothing
# Inkeep accepts is refused here. See docs/decisions.md.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    # Origins allowed by CORS; ("*",) lets widgets on any site call the write endpoints.
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # The most messages one conversation may hold, and one post of it may carry; beyond either,
    # 422 naming `$.messages` and nothing written. Clients re-send the whole history on every
    # post (reference §4.4), so the per-post cap must be at least the per-conversation one for
    # a conversation to reach it. They bound the writer's work per upsert and the size of its
    # answer, which echoes the history (docs/operations.md, docs/performance.md).
    max_messages_per_conversation: int = 500
    max_messages_per_post: int = 500
    # Writes waiting for the writer beyond this many are refused with 503 + Retry-After.
    writer_queue_size: int = 10_000
    # Write requests being handled at once beyond this many are refused with 503 + Retry-After:
    # under overload the HTTP side saturates before the writer's queue fills, and queueing there
    # would only grow latency (docs/performance.md). A write counts once its body is in, so slow
    # clients cannot hold the slots (docs/decisions.md).
    max_writes_in_flight: int = 256
    # Seconds a request body has to arrive in full, from the first read: a total deadline, so a
    # trickle of bytes cannot extend it. Beyond it: 408 and the connection is closed.
    body_timeout_seconds: float = 30.0
    # Seconds a request head (request line and headers) has to arrive in full, counted from the
    # connection's opening or the end of the previous response. Beyond it the connection closes.
    header_timeout_seconds: float = 10.0
    # CSV exports streaming at once; each holds a read connection while it runs. More: 503.
    max_concurrent_exports: int = 2
    # Seconds a client may take no data of a response the server is sending before it is
    # dropped; a CSV download's client must take each chunk (about 1,000 rows) within it, or
    # the download is cut and gives its export slot back (docs/operations.md). 0: no limit.
    send_timeout_seconds: float = 60.0
    # CSV cells that a spreadsheet would run as formulas (= + - @ tab CR NUL first) get a
    # leading ' (the OWASP rule). Off: cells exactly as stored, for machine consumers.
    csv_formula_guard: bool = True
    # Most writes committed in one transaction (group commit).
    writer_max_batch: int = 512
    # Seconds a verified key stays cached; revocation takes effect within this time.
    key_cache_seconds: float = 5.0
    # Retry-After (seconds) sent with 503 answers.
    retry_after_seconds: int = 1
    # Requests per second each key may make, in this process; 0 turns rate limiting off.
    rate_limit_per_second: float = 0.0
    # Most requests a key may make at once before the rate applies; 0 means one second's worth.
    rate_limit_burst: int = 0
    # Answers to writes sent with an Idempotency-Key are replayed to retries for this long.
    idempotency_ttl_hours: float = 24.0
    # "columnar": analytic reads (queries, dashboards) come from a DuckDB copy of the data kept
    # up to date in the background (threadline.analytics); "off": from the primary store only.
    analytics: str = "columnar"
    # Where the copy lives: "" puts it beside a SQLite file, in memory on PostgreSQL.
    analytics_path: str = ""
    # The copy syncs when this process commits, but at most once per this many seconds while
    # writes keep coming (one sync takes in many commits); a read that needs fresher data asks
    # for one at once.
    analytics_sync_seconds: float = 0.25
    # Seconds between looks for commits of other processes (other instances on one PostgreSQL,
    # imports by the CLI), which cannot wake this one: their writes reach the copy within this
    # and one sync. A look that finds nothing costs two indexed reads (docs/performance.md).
    analytics_poll_seconds: float = 0.5
    # The columnar copy's DuckDB: memory it may use (data of an in-memory copy included; past
    # it, work spills to the temp directory), threads per query, and where it spills ("":
    # beside the copy's file, or a directory of its own in the system's temp directory).
    analytics_memory_limit: str = "1GB"
    analytics_threads: int = 2
    analytics_temp_directory: str = ""
    # Seconds an analytic read (a query, property or search statistics, a dashboard read, an
    # export up to its first rows and then each chunk of rows) may run before the database
    # stops it: 422 (docs/decisions.md). 0: no limit.
    query_timeout_seconds: float = 15.0
    # Analytic reads running at once in this process; more get 503 + Retry-After at once
    # (exports are counted apart, by max_concurrent_exports).
    max_concurrent_queries: int = 4
    # Record reads (a conversation or feedback by id, a page of them; the dashboard's own
    # lookups) running at once in this process, each with its rows and answer in memory; more
    # get 503 + Retry-After at once. A public web key may read a conversation by id.
    max_concurrent_reads: int = 16
    # "on": `threadline serve` starts the insight worker (threadline.insights) in a child
    # process, so semantic threads fill in beside ingest; "off": run `threadline insights work`
    # elsewhere, or not at all.
    insights: str = "on"
    # Seconds the insight worker waits when it found nothing to do.
    insights_interval_seconds: float = 2.0
    # The share of its time the insight worker spends working while it has a backlog: after a
    # step that took t seconds it rests t * (1 - share) / share, so on a small box labelling a
    # backlog leaves the server its cores (docs/insights.md). 1: no rest (a machine of its own).
    insights_cpu_share: float = 0.5
    # The optional LLM labeller of the insight pipeline (docs/insights.md): an OpenAI-compatible
    # endpoint (the URL before /chat/completions) and model. Both empty (the default): nothing
    # is ever sent anywhere. Only projects opted in (`projects set --llm on`) are sent.
    llm_base_url: str = ""
    llm_model: str = ""
    # Sent as "Authorization: Bearer <key>"; never logged, never in a repr.
    llm_api_key: str = dataclasses.field(default="", repr=False)
    # Threads sent per sliding minute and per UTC day, in each worker process; beyond either,
    # threads get the local labels (the day's cap bounds the cost). 0: no limit.
    llm_max_requests_per_minute: int = 60
    llm_max_threads_per_day: int = 2000
    # Seconds to connect and for each read of the answer; beyond it, local labels.
    llm_timeout_seconds: float = 30.0
    # Signs the dashboard's session cookies. Empty: a random secret per process, so sessions
    # end when the process restarts and are not shared between instances.
    session_secret: str = ""
    # A dashboard session unused this long ends (its row stays in the database, shared by
    # every instance, so a sign-out or a timeout holds on all of them).
    session_idle_minutes: float = 60.0
    # ... and one in use ends this long after sign-in all the same.
    session_lifetime_hours: float = 12.0
    # Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto
    # are believed (the scheme decides whether cookies are Secure). Empty: nobody's.
    trusted_proxies: tuple[str, ...] = ()
    log_level: str = "info"
    # One line per request (requestId, route template, status, duration, project; never a key,
    # a body or message text), in place of uvicorn's access log.
    access_log: bool = False
    # "text": plain lines; "json": one JSON object a line, request fields as members of their
    # own (threadline.observe.logformat). For every log line of the process.
    log_format: str = "text"
    # GET /metrics asks for "Authorization: Bearer <token>" when this is set; empty: open to
    # anyone who can reach the port. Never logged, never in a repr.
    metrics_token: str = dataclasses.field(default="", repr=False)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_ENV_PREFIX = "THREADLINE_"


def _coerce(field: dataclasses.Field[Any], raw: str) -> Any:
    kind = str(field.type)
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from THREADLINE_<FIELD> variables; explicit overrides (CLI flags) win."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        raw = env.get(_ENV_PREFIX + field.name.upper())
        if raw is not None and raw != "":
            values[field.name] = _coerce(field, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
