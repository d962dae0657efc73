"""One frozen Settings object, built from THREADLINE_* environment variables and CLI flags.

This is the only module that reads the environment. Every setting has a rule (RULES): a value
that breaks it stops the process before anything starts, with one line naming the setting.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from threadline.setting_rules import (
    Choice,
    DatabaseUrl,
    Flag,
    HttpUrl,
    Networks,
    Number,
    Origins,
    Rule,
    Size,
    Text,
    Whole,
)

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
    # Where the copy lives: "" puts it beside a SQLite file, and for a PostgreSQL database in
    # the state directory (state_directory(): $XDG_STATE_HOME/threadline, by default
    # ~/.local/state/threadline), named after the server and database; ":memory:" keeps it
    # in memory (rebuilt at every start).
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
    # Seconds `threadline serve` keeps retrying (with back-off) a database it cannot reach at
    # start, for containers that start the database and threadline together. 0: fail at once.
    wait_for_database: float = 0.0
    # "text": plain lines; "json": one JSON object a line, request fields as members of their
    # own (threadline.observe.logformat). For every log line of the process.
    log_format: str = "text"
    # GET /metrics asks for "Authorization: Bearer <token>" when this is set; empty: open to
    # anyone who can reach the port. Never logged, never in a repr.
    metrics_token: str = dataclasses.field(default="", repr=False)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check(field.name, getattr(self, field.name))

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_SECONDS = Number(0, unit="seconds")
_POSITIVE_SECONDS = Number(0, unit="seconds", above_low=True)
_COUNT = Whole(1)
_LIMIT = Whole(0)  # 0 means "no limit" or "off" for these

# One rule per setting: a Settings field without one fails tests/test_config.py.
RULES: dict[str, Rule] = {
    "database_url": DatabaseUrl(),
    "host": Text(empty_ok=False),
    "port": Whole(0, 65535),  # 0: any free port (the banner says which)
    "cors_origins": Origins(),
    "max_body_bytes": _COUNT,
    "max_messages_per_conversation": _COUNT,
    "max_messages_per_post": _COUNT,
    "writer_queue_size": _COUNT,
    "max_writes_in_flight": _COUNT,
    "body_timeout_seconds": _POSITIVE_SECONDS,
    "header_timeout_seconds": _POSITIVE_SECONDS,
    "max_concurrent_exports": _COUNT,
    "send_timeout_seconds": _SECONDS,
    "csv_formula_guard": Flag(),
    "writer_max_batch": _COUNT,
    "key_cache_seconds": _SECONDS,
    "retry_after_seconds": Whole(1, 3600),
    "rate_limit_per_second": Number(0),
    "rate_limit_burst": _LIMIT,
    "idempotency_ttl_hours": Number(0, unit="hours", above_low=True),
    "analytics": Choice("columnar", "off"),
    "analytics_path": Text(),
    "analytics_sync_seconds": _SECONDS,  # 0: a sync after every commit
    "analytics_poll_seconds": _POSITIVE_SECONDS,
    "analytics_memory_limit": Size(),
    "analytics_threads": _COUNT,
    "analytics_temp_directory": Text(),
    "query_timeout_seconds": _SECONDS,
    "max_concurrent_queries": _COUNT,
    "max_concurrent_reads": _COUNT,
    "insights": Choice("on", "off"),
    "insights_interval_seconds": _POSITIVE_SECONDS,
    "insights_cpu_share": Number(0, 1, above_low=True),
    "llm_base_url": HttpUrl(),
    "llm_model": Text(),
    "llm_api_key": Text(),
    "llm_max_requests_per_minute": _LIMIT,
    "llm_max_threads_per_day": _LIMIT,
    "llm_timeout_seconds": _POSITIVE_SECONDS,
    "session_secret": Text(),
    "session_idle_minutes": Number(0, unit="minutes", above_low=True),
    "session_lifetime_hours": Number(0, unit="hours", above_low=True),
    "trusted_proxies": Networks(),
    "log_level": Choice("debug", "info", "warning", "error", "critical"),
    "access_log": Flag(),
    "wait_for_database": _SECONDS,
    "log_format": Choice("text", "json"),
    "metrics_token": Text(),
}


class SettingError(ValueError):
    """A setting breaks its rule. The message is one line: the setting as it was given
    (THREADLINE_PORT=80800, --port 80800, or port=80800 in code) and the rule."""


def _shown(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def check(name: str, value: Any, given_as: str | None = None) -> None:
    """Refuses `value` for setting `name` unless it keeps the rule; `given_as` is how the
    message shows it (default `name=value`)."""
    rule = RULES.get(name)
    if rule is not None and not rule.valid(value):
        shown = given_as if given_as is not None else f"{name}={_shown(value)}"
        raise SettingError(f"{shown}: must be {rule.expects()}")


_ENV_PREFIX = "THREADLINE_"


def _read(name: str, raw: Any, given_as: str) -> Any:
    """A setting's value from a variable's or a flag's text, checked against its rule."""
    rule = RULES.get(name)
    value = rule.parse(raw) if rule is not None and isinstance(raw, str) else raw
    check(name, value, given_as)
    return value


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from THREADLINE_<FIELD> variables; explicit overrides (CLI flags) win.

    Raises SettingError naming the first variable or flag (`--port`) that breaks its rule."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        variable = _ENV_PREFIX + field.name.upper()
        raw = env.get(variable)
        if raw is not None and raw != "":
            values[field.name] = _read(field.name, raw, f"{variable}={raw}")
    for name, raw in overrides.items():
        if raw is not None:
            flag = "--" + name.replace("_", "-")
            values[name] = _read(name, raw, f"{flag} {_shown(raw)}")
    return Settings(**values)


def state_directory(environ: Mapping[str, str] | None = None) -> Path:
    """Where threadline keeps files of its own that are not the database (the columnar copy of
    a PostgreSQL database): $XDG_STATE_HOME/threadline, or ~/.local/state/threadline (the XDG
    base directory rule). Read at the call, so a test can point it at a directory of its own."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/state")
    return Path(base) / "threadline"


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each THREADLINE_* variable that is no setting (a typo would otherwise be
    ignored in silence), with the setting it most likely meant. Scripts and tests use a few
    of their own (THREADLINE_TEST_*, THREADLINE_URL), so these are warned about, not refused."""
    env = os.environ if environ is None else environ
    known = [_ENV_PREFIX + field.name.upper() for field in dataclasses.fields(Settings)]
    warnings = []
    for name in sorted(env):
        if name.startswith(_ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            meant = f" (did you mean {close[0]}?)" if close else ""
            warnings.append(f"{name} is not a threadline setting{meant}; ignored")
    return warnings
