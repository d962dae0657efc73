"""`threadline serve`, `demo` and `migrate`: starting the server (its banner printed once the
socket is bound, the insight worker as a child process) and loading the demo project."""

from __future__ import annotations

import functools
import shlex
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from threadline import __version__
from threadline.cli.base import absolute, database_option, main
from threadline.config import Settings, settings_from_env, unknown_variables
from threadline.database_wait import reach, wait_for_database_option
from threadline.store.engine import describe_url, normalize_url, open_database
from threadline.store.migrate import upgrade

if TYPE_CHECKING:
    from threadline.demo.project import DemoProject


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _self_command() -> str:
    """How to run this same threadline again from any directory (for the banner)."""
    program = Path(sys.argv[0])
    if program.name == "threadline" and program.exists():
        return shlex.quote(str(program.resolve()))
    return f"{shlex.quote(sys.executable)} -m threadline"


def _banner(settings: Settings, port: int) -> str:
    base = f"http://{settings.host}:{port}"
    database = describe_url(absolute(normalize_url(settings.database_url)))
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
@wait_for_database_option
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
    reach(settings)

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
    reach(settings)
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
        database = shlex.quote(describe_url(absolute(normalize_url(settings.database_url))))
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
        database = shlex.quote(describe_url(absolute(normalize_url(database_url))))
        say(
            f"the rest: {_self_command()} insights run --database-url {database} "
            "(or serve it within 24 hours: its insight worker labels them)"
        )


@main.command()
@database_option
def migrate(database_url: str | None) -> None:
    """Create or upgrade the schema (serve does this by itself on start)."""
    settings = settings_from_env(database_url=database_url)
    reach(settings)
    database = open_database(settings.database_url, read_pool_size=1)
    try:
        upgrade(database.writer)
    finally:
        database.dispose()
    click.echo(f"schema up to date: {describe_url(database.url)}", err=True)
