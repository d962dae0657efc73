"""The `threadline` command: serve, demo, migrate, keys, projects, insights, users, backup,
restore, retention, copy, import and export.

Every flag can also be set as a THREADLINE_* environment variable (see threadline.config),
except the demo data's own (`demo --events` and the like; it ignores THREADLINE_DATABASE_URL).
Results a script may want (a new key) go to stdout alone; everything else goes to stderr.
"""

from __future__ import annotations

import functools
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy import Connection
from sqlalchemy.engine import URL

from threadline import __version__
from threadline.auth import issue_key
from threadline.config import SettingError, Settings, settings_from_env, unknown_variables
from threadline.durations import parse_duration
from threadline.errors import ThreadlineError
from threadline.store import keys as key_store
from threadline.store.engine import describe_url, normalize_url, open_database
from threadline.store.keys import KeyKind
from threadline.store.migrate import upgrade
from threadline.store.reach import DatabaseUnreachable, wait_for_database
from threadline.timestamps import now_us, to_iso

if TYPE_CHECKING:
    from threadline.demo.project import DemoProject

F = TypeVar("F", bound=Callable[..., Any])


def database_option(command: F) -> F:
    return click.option(
        "--database-url",
        default=None,
        help="sqlite:///path.db (default sqlite:///threadline.db) or postgresql://user@host/db. "
        "Env: THREADLINE_DATABASE_URL.",
    )(command)


@contextmanager
def _transaction(database_url: str | None) -> Iterator[Connection]:
    settings = settings_from_env(database_url=database_url)
    _reach(settings)
    database = open_database(settings.database_url, read_pool_size=1)
    try:
        upgrade(database.writer)
        with database.writer.begin() as connection:
            yield connection
    except ThreadlineError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        database.dispose()


class BadSetting(click.ClickException):
    """A setting that breaks its rule: one line and exit 2 (a usage error), before anything
    starts."""

    exit_code = 2


class _Threadline(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingError as exc:
            raise BadSetting(str(exc)) from None


@click.group(cls=_Threadline, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="threadline")
def main() -> None:
    """threadline: a self-hosted, Inkeep-compatible analytics API."""


def _reach(settings: Settings) -> None:
    """Returns once the database answers, waiting up to THREADLINE_WAIT_FOR_DATABASE; else
    one line saying which database and what failed, and exit 1."""

    def retrying(reason: str, pause: float) -> None:
        click.echo(f"database not reachable yet ({reason}); retrying in {pause:.2g} s", err=True)

    try:
        wait_for_database(settings.database_url, settings.wait_for_database, on_retry=retrying)
    except DatabaseUnreachable as exc:
        hint = "" if settings.wait_for_database else " (--wait-for-database SECONDS waits for it)"
        raise click.ClickException(f"{exc}{hint}") from None


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _self_command() -> str:
    """How to run this same threadline again from any directory (for the banner)."""
    program = Path(sys.argv[0])
    if program.name == "threadline" and program.exists():
        return shlex.quote(str(program.resolve()))
    return f"{shlex.quote(sys.executable)} -m threadline"


def _absolute(url: URL) -> URL:
    """A SQLite URL with an absolute path, so the printed commands work from anywhere."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return url.set(database=str(Path(url.database).expanduser().resolve()))
    return url


def _banner(settings: Settings, port: int) -> str:
    base = f"http://{settings.host}:{port}"
    database = describe_url(_absolute(normalize_url(settings.database_url)))
    key_command = f"{_self_command()} keys create --database-url {shlex.quote(database)}"
    return (
        f"threadline {__version__} listening on {base}\n"
        f"  database: {database}\n"
        "  get a key (printed once, stored only as a hash):\n"
        f'    {key_command} --project docs --integration "docs site" --kind api\n'
        "    (--kind web for browser widgets: they may write, not read)\n"
        f"  then: curl -X POST {base}/events -H 'Authorization: Bearer <key>' "
        "-H 'Content-Type: application/json' "
        """-d '{"type":"hello","messageId":"m1","entityType":"message"}'\n"""
        f"  dashboard: {base}/dashboard/ (sign in with an api key)\n"
        f"  health: {base}/health   readiness: {base}/ready"
    )


@main.command()
@click.option(
    "--host", default=None, help="Address to listen on (default 127.0.0.1). Env: THREADLINE_HOST."
)
@click.option(
    "--port", default=None, help="Port (default 8080; 0: any free one). Env: THREADLINE_PORT."
)
@database_option
@click.option(
    "--log-level", default=None, help="debug, info, warning or error. Env: THREADLINE_LOG_LEVEL."
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log every request in one line (requestId, route, status, duration, project). "
    "Env: THREADLINE_ACCESS_LOG.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as plain text (default) or one JSON object each. Env: THREADLINE_LOG_FORMAT.",
)
@click.option(
    "--wait-for-database",
    default=None,
    metavar="SECONDS",
    help="Keep retrying a database that cannot be reached at start, this long (default 0). "
    "Env: THREADLINE_WAIT_FOR_DATABASE.",
)
def serve(
    host: str | None,
    port: str | None,
    database_url: str | None,
    log_level: str | None,
    access_log: bool | None,
    wait_for_database: str | None,
    log_format: str | None,
) -> None:
    """Run the HTTP API (migrates the database first)."""
    settings = settings_from_env(
        host=host,
        port=port,
        database_url=database_url,
        log_level=log_level,
        access_log=access_log,
        wait_for_database=wait_for_database,
        log_format=log_format,
    )
    _serve(settings)


def _serve(settings: Settings, *, also: Callable[[str], str] | None = None) -> None:
    """What `serve` does once it has its settings; `also(base URL)` is printed after the
    banner."""
    from threadline.app import create_app
    from threadline.observe.logformat import configure_logging
    from threadline.protocol import with_deadlines
    from threadline.serving import run_server

    configure_logging(settings.log_level, settings.log_format)
    for warning in unknown_variables():
        click.echo(f"warning: {warning}", err=True)
    _reach(settings)

    def listening(port: int) -> None:
        click.echo(_banner(settings, port), err=True)
        if also is not None:
            click.echo(also(f"http://{settings.host}:{port}"), err=True)

    # uvicorn re-raises SIGTERM once its graceful shutdown is done; a drained stop is a success.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    app = create_app(settings)
    worker = _insights_child(settings)
    try:
        run_server(
            app,
            listening,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            # uvicorn's access log would repeat the raw path and the client's address; ours
            # (threadline.observe.requests) replaces it. Its other lines go through the root
            # logger, in THREADLINE_LOG_FORMAT (no log config of uvicorn's own).
            access_log=False,
            log_config=None,
            # In-flight requests get this long to finish on SIGTERM; queued writes are drained.
            timeout_graceful_shutdown=30,
            # Off: uvicorn's own parsing would trust 127.0.0.1 by default. create_app applies
            # X-Forwarded-* from THREADLINE_TRUSTED_PROXIES only (docs/dashboard.md).
            proxy_headers=False,
            # httptools, as uvicorn's "auto" picks, plus deadlines on request heads and on
            # clients that stop taking a response, which uvicorn lacks; request bodies have
            # theirs in threadline.api.body (docs/operations.md).
            http=with_deadlines(
                head_timeout=settings.header_timeout_seconds,
                send_timeout=settings.send_timeout_seconds,
            ),
        )
    finally:
        if worker is not None:
            from threadline.insights.run import stop_child

            stop_child(worker)


def _insights_child(settings: Settings) -> Any:
    """The insight worker's child process, when THREADLINE_INSIGHTS=on (docs/insights.md)."""
    if settings.insights != "on" or ":memory:" in settings.database_url:
        return None
    from threadline.insights.llm import LlmConfig
    from threadline.insights.run import start_child

    return start_child(
        settings.database_url,
        settings.insights_interval_seconds,
        LlmConfig.from_settings(settings),
        settings.insights_cpu_share,
    )


DEMO_DATABASE_URL = "sqlite:///threadline-demo.db"


@main.command()
@click.option(
    "--host", default=None, help="Address to listen on (default 127.0.0.1). Env: THREADLINE_HOST."
)
@click.option("--port", default=None, help="Port (default 8080). Env: THREADLINE_PORT.")
@click.option(
    "--database-url",
    default=DEMO_DATABASE_URL,
    show_default=True,
    help="Where the demo data goes: a SQLite file or postgresql://user@host/db. "
    "THREADLINE_DATABASE_URL is ignored, so the demo never lands in your real database.",
)
@click.option(
    "--events",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Events to generate; conversations, feedback and users scale with it.",
)
@click.option(
    "--days", default=60, show_default=True, type=click.IntRange(1, 3650), help="Days of data."
)
@click.option("--seed", default=1, show_default=True, help="The same seed makes the same data.")
@click.option("--reset", is_flag=True, help="Replace a demo project already in the database.")
@click.option("--serve/--no-serve", default=True, help="Start the server after loading.")
def demo(
    host: str | None,
    port: str | None,
    database_url: str,
    events: int,
    days: int,
    seed: int,
    reset: bool,
    serve: bool,
) -> None:
    """Load a realistic demo project ("demo", data ending now), print a fresh api key for it
    (alone, on stdout), then serve the API and the dashboard. An existing demo project in the
    database is reused unless --reset."""
    from threadline.demo.project import prepare

    settings = settings_from_env(host=host, port=port, database_url=database_url)
    _reach(settings)
    say = functools.partial(click.echo, err=True)
    project = prepare(
        settings.database_url, events=events, days=days, seed=seed, reset=reset, say=say
    )
    if project.loaded:
        say(f"loaded {project.events:,} demo events in {project.seconds:.1f} s")
    else:
        say(f"reusing the demo project's {project.events:,} events (--reset to load anew)")

    def sign_in(base: str) -> str:
        return (
            f"demo dashboard: {base}/dashboard\n"
            f"  sign in with this api key for project 'demo' (shown once): {project.api_key}"
        )

    click.echo(project.api_key)
    if settings.insights == "on":
        _label_demo(project, settings.database_url, serve, say)
    if serve:
        _serve(settings, also=sign_in)
    else:
        database = shlex.quote(describe_url(_absolute(normalize_url(settings.database_url))))
        base = f"http://{settings.host}:{settings.port}"
        say(f"serve it with: {_self_command()} serve --database-url {database}\n{sign_in(base)}")


def _label_demo(
    project: DemoProject, database_url: str, serve: bool, say: Callable[[str], None]
) -> None:
    """Labels the demo's newest conversations before serving, so the Insights page has subjects
    and knowledge gaps on first run (already labelled threads are skipped: a rerun is quick).
    The rest is in the change log the bulk load wrote, which serve's worker follows."""
    from threadline.demo.load import DEMO_PROJECT
    from threadline.insights.cli import label_backlog

    if project.label_since_us is None:
        say("reusing its labelled threads (the server's insight worker labels anything new)")
        return
    started = time.perf_counter()
    result = label_backlog(database_url, project=DEMO_PROJECT, since_us=project.label_since_us)
    say(
        f"labelled {result.threads_labelled:,} threads of the newest {result.claimed:,} "
        f"conversations in {time.perf_counter() - started:.1f} s"
    )
    if serve:
        say("the server's insight worker labels the rest in the background")
    else:
        database = shlex.quote(describe_url(_absolute(normalize_url(database_url))))
        say(
            f"the rest: {_self_command()} insights run --database-url {database} "
            "(or serve it within 24 hours: its insight worker labels them)"
        )


def _add_insights() -> None:
    from threadline.insights.cli import insights

    main.add_command(insights)


_add_insights()


def _add_privacy() -> None:
    from threadline.privacy.cli import users

    main.add_command(users)


_add_privacy()


def _add_maintenance() -> None:
    from threadline.maintenance.commands import backup, restore, retention

    for command in (backup, restore, retention):
        main.add_command(command)


_add_maintenance()


def _add_transfer() -> None:
    from threadline.transfer.commands import export, import_group

    main.add_command(import_group)
    main.add_command(export)


_add_transfer()


@main.command()
@database_option
def migrate(database_url: str | None) -> None:
    """Create or upgrade the schema (serve does this by itself on start)."""
    settings = settings_from_env(database_url=database_url)
    _reach(settings)
    database = open_database(settings.database_url, read_pool_size=1)
    try:
        upgrade(database.writer)
    finally:
        database.dispose()
    click.echo(f"schema up to date: {describe_url(database.url)}", err=True)


@main.group()
def keys() -> None:
    """Create, list, rotate and revoke keys."""


class _Duration(click.ParamType[float]):
    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = _Duration()


def _until(expires_at: int | None) -> str:
    return "never expires" if expires_at is None else f"expires {to_iso(expires_at)}"


@keys.command("create")
@click.option("--project", required=True, help="Project name or id; created if new.")
@click.option("--integration", required=True, help="Integration name or id; created if new.")
@click.option(
    "--kind",
    type=click.Choice(key_store.KEY_KINDS),
    required=True,
    help="api: reads and writes (servers, scripts). web: writes only, and reads back one "
    "conversation by id (browser widgets).",
)
@click.option(
    "--expires-in",
    type=DURATION,
    default=None,
    help="The key stops working this long from now (90d, 24h, 30m); default: never.",
)
@database_option
def create_key(
    project: str,
    integration: str,
    kind: str,
    expires_in: float | None,
    database_url: str | None,
) -> None:
    """Create a key and print it (alone, on stdout). It is shown only this once."""
    key_kind: KeyKind = kind  # type: ignore[assignment]
    if expires_in is not None and expires_in <= 0:
        raise click.BadParameter("must be longer than 0", param_hint="--expires-in")
    expires_at = None if expires_in is None else now_us() + int(expires_in * 1_000_000)
    with _transaction(database_url) as connection:
        issued = issue_key(
            connection,
            project=project,
            integration=integration,
            kind=key_kind,
            expires_at=expires_at,
        )
    click.echo(
        f"created {key_kind} key {issued.key_id} for project {project!r} ({issued.project_id}), "
        f"integration {integration!r} ({issued.integration_id}), {_until(expires_at)}; "
        "it is shown only now:",
        err=True,
    )
    click.echo(issued.secret)


@keys.command("rotate")
@click.argument("key")
@click.option(
    "--grace",
    type=DURATION,
    default="24h",
    show_default=True,
    help="How long the old key keeps working beside the new one; 0: revoke it now.",
)
@click.option(
    "--expires-in",
    type=DURATION,
    default=None,
    help="The new key's lifetime; default: the old key's (never, if it had none).",
)
@database_option
def rotate_key(key: str, grace: float, expires_in: float | None, database_url: str | None) -> None:
    """Replace KEY (its id or prefix) with a new key of the same project, integration and kind,
    printed alone on stdout; the old key stops working after the grace period."""
    from threadline.auth import rotate_key as rotate

    if expires_in is not None and expires_in <= 0:
        raise click.BadParameter("must be longer than 0", param_hint="--expires-in")
    with _transaction(database_url) as connection:
        rotation = rotate(connection, key, grace_seconds=grace, expires_in_seconds=expires_in)
        if grace <= 0:
            key_store.revoke_key(connection, rotation.old.id)
    old = rotation.old
    ends = "revoked now" if grace <= 0 else f"works until {to_iso(old.expires_at or 0)}"
    click.echo(
        f"created {old.kind} key {rotation.new.key_id} for project {old.project_name!r}, "
        f"integration {old.integration_name!r}, {_until(rotation.new_expires_at)}; "
        f"the old key {old.id} ({old.prefix}…) {ends}. The new key is shown only now:",
        err=True,
    )
    click.echo(rotation.new.secret)


@keys.command("import")
@click.option("--project", required=True, help="Project name or id; created if new.")
@click.option("--integration", required=True, help="Integration name or id; created if new.")
@click.option(
    "--kind",
    type=click.Choice(key_store.KEY_KINDS),
    required=True,
    help="As for `keys create`; web for the key an Inkeep widget already sends.",
)
@database_option
def import_key(project: str, integration: str, kind: str, database_url: str | None) -> None:
    """Register a key made elsewhere, read from stdin (never an argument: it would show in
    `ps` and shell history). The widget sends one key to Inkeep's AI API and to analytics:
    importing it lets the same key write to threadline (docs/widget.md)."""
    key_kind: KeyKind = kind  # type: ignore[assignment]
    secret = click.get_text_stream("stdin").read()
    try:
        with _transaction(database_url) as connection:
            issued = issue_key(
                connection, project=project, integration=integration, kind=key_kind, secret=secret
            )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(
        f"imported {key_kind} key {issued.key_id} for project {project!r} ({issued.project_id}), "
        f"integration {integration!r} ({issued.integration_id})",
        err=True,
    )


@keys.command("list")
@click.option("--project", default=None, help="Only this project (name or id).")
@database_option
def list_keys(project: str | None, database_url: str | None) -> None:
    """List keys (their prefixes; the keys themselves are not stored), with when each expires
    and was last used (to within a minute)."""
    with _transaction(database_url) as connection:
        records = key_store.list_keys(connection, project)
    now = now_us()
    click.echo("id\tprefix\tkind\tproject\tintegration\tcreated\texpires\tlast used\tstatus")
    for r in records:
        click.echo(
            f"{r.id}\t{r.prefix}…\t{r.kind}\t{r.project_name}\t{r.integration_name}\t"
            f"{to_iso(r.created_at)}\t{_moment(r.expires_at)}\t{_moment(r.last_used_at)}\t"
            f"{_status(r, now)}"
        )


def _moment(us: int | None) -> str:
    return "never" if us is None else to_iso(us)


def _status(record: key_store.KeyRecord, now: int) -> str:
    if record.revoked_at is not None:
        return f"revoked {to_iso(record.revoked_at)}"
    if record.expires_at is not None and record.expires_at <= now:
        return f"expired {to_iso(record.expires_at)}"
    return "active"


@keys.command("revoke")
@click.argument("key")
@database_option
def revoke_key(key: str, database_url: str | None) -> None:
    """Revoke KEY (its id or its prefix). Requests with it then get 401."""
    with _transaction(database_url) as connection:
        record = key_store.revoke_key(connection, key)
    click.echo(f"revoked {record.id} ({record.prefix}…)", err=True)


@main.group()
def projects() -> None:
    """List projects; set a project's product names, LLM opt-in, retention and redaction."""


@projects.command("set")
@click.option("--project", required=True, help="Project name or id; created if new.")
@click.option(
    "--product-names",
    default=None,
    help='Comma-separated names of your product, features and components ("Acme, Acme CLI"): '
    "the insight labellers report them as firstPartyEntities.",
)
@click.option(
    "--llm",
    type=click.Choice(["on", "off"]),
    default=None,
    help="on: the project's threads may be sent to the configured LLM labeller "
    "(THREADLINE_LLM_BASE_URL); off (the default): never.",
)
@click.option(
    "--retention-days",
    default=None,
    help="Delete its conversations (and their messages, feedback, events and threads) "
    "untouched for this many days, in the background; 0 or none: keep forever.",
)
@click.option(
    "--redact",
    default=None,
    help="Comma-separated kinds of personal data replaced by [kind] before anything is stored: "
    'email, phone, card, secret, ip; "" or none: off. A running server applies it within 2 s.',
)
@database_option
def set_project(
    project: str,
    product_names: str | None,
    llm: str | None,
    retention_days: str | None,
    redact: str | None,
    database_url: str | None,
) -> None:
    """Set a project's product names, its LLM opt-in (threads labelled from then on), its
    retention and what it redacts at ingest."""
    from threadline.maintenance.retention import parse_days, set_retention
    from threadline.privacy.detect import parse_kinds
    from threadline.privacy.policy import set_redaction
    from threadline.store.insight_threads import set_llm_opt_in, set_product_names
    from threadline.timestamps import now_us

    if product_names is None and llm is None and retention_days is None and redact is None:
        raise click.UsageError("give --product-names, --llm, --retention-days, --redact or several")
    days = None
    if retention_days is not None:
        try:
            days = parse_days(retention_days)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--retention-days") from None
    try:
        kinds = None if redact is None else parse_kinds("" if redact == "none" else redact)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--redact") from None
    with _transaction(database_url) as connection:
        project_id = key_store.ensure_project(connection, project)
        if retention_days is not None:
            set_retention(connection, project_id, days)
            kept = f"{days} days" if days else "forever"
            click.echo(f"{project_id}\tretention: {kept}", err=True)
        if product_names is not None:
            names = [n.strip() for n in product_names.split(",") if n.strip()]
            set_product_names(connection, project_id, names, now_us())
            click.echo(f"{project_id}\tproduct names: {', '.join(names)}", err=True)
        if llm is not None:
            set_llm_opt_in(connection, project_id, llm == "on", now_us())
            click.echo(f"{project_id}\tLLM labeller: {llm}", err=True)
        if kinds is not None:
            set_redaction(connection, project_id, kinds, now_us())
            click.echo(f"{project_id}\tredact: {', '.join(kinds) or 'none'}", err=True)


@projects.command("list")
@database_option
def list_projects(database_url: str | None) -> None:
    """List projects with their integration and active key counts, retention and redaction."""
    from threadline.privacy.policy import redaction_settings

    with _transaction(database_url) as connection:
        records = key_store.list_projects(connection)
        redacting = redaction_settings(connection)
    click.echo("id\tname\tintegrations\tactive keys\tcreated\tretention\tredact")
    for p in records:
        kept = f"{p.retention_days} days" if p.retention_days else "forever"
        redact = ",".join(redacting.get(p.id, ())) or "none"
        click.echo(
            f"{p.id}\t{p.name}\t{p.integrations}\t{p.active_keys}\t{to_iso(p.created_at)}"
            f"\t{kept}\t{redact}"
        )


@main.command("copy")
@click.option(
    "--from",
    "source_url",
    required=True,
    help="The installation to copy: sqlite:///threadline.db or postgresql://user@host/db.",
)
@click.option(
    "--to",
    "target_url",
    required=True,
    help="An empty database to copy it into (migrated here if it has no schema yet).",
)
def copy(source_url: str, target_url: str) -> None:
    """Copy a whole installation (projects, keys, every row) into an empty database, e.g. from
    SQLite to PostgreSQL, and verify each table's rows and checksum before committing. Stop
    the source's server first: writes after the copy starts are not copied."""
    from threadline.transfer.copy import copy_database, format_report

    say = functools.partial(click.echo, err=True)
    say(f"copying {_shown(source_url)} -> {_shown(target_url)}")
    try:
        report = copy_database(source_url, target_url, say=say)
    except ThreadlineError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(format_report(report))
    say(f"copied and verified {report.rows:,} rows in {report.seconds:.1f} s")


def _shown(url: str) -> str:
    return describe_url(_absolute(normalize_url(url)))
