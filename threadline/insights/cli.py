"""`threadline insights run` (a backlog, now) and `threadline insights work` (for ever), and
their LLM labeller flags."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from threadline.config import Settings, settings_from_env
from threadline.database_wait import reach, wait_for_database_option
from threadline.timestamps import to_us

if TYPE_CHECKING:
    from threadline.insights.llm import LlmConfig
    from threadline.insights.worker import Progress


def _database_option(command: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--database-url",
        default=None,
        help="sqlite:///path.db or postgresql://user@host/db. Env: THREADLINE_DATABASE_URL.",
    )(command)


# The LLM labeller's settings as flags (each also a THREADLINE_LLM_* variable; flags win).
_LLM_OPTIONS = (
    ("--llm-base-url", str, "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."),
    ("--llm-model", str, "Model name sent with each request."),
    ("--llm-api-key", str, "Bearer key (prefer THREADLINE_LLM_API_KEY: flags show in ps)."),
    ("--llm-max-requests-per-minute", int, "Threads sent per minute; beyond: local labels."),
    ("--llm-max-threads-per-day", int, "Threads sent per UTC day (cost cap); beyond: local."),
    ("--llm-timeout-seconds", float, "Seconds to connect and per read; beyond: local labels."),
)


def _llm_options(command: click.decorators.FC) -> click.decorators.FC:
    for flag, kind, help_text in reversed(_LLM_OPTIONS):
        command = click.option(flag, type=kind, default=None, help=help_text)(command)
    return command


def _settings(
    database_url: str | None, wait_for_database: str | None, llm_flags: dict[str, Any]
) -> Settings:
    """The settings from flags and environment, once the database answers (or exit 1)."""
    settings = settings_from_env(
        database_url=database_url, wait_for_database=wait_for_database, **llm_flags
    )
    reach(settings)
    return settings


@click.group()
def insights() -> None:
    """Semantic threads: split, label and embed logged conversations (docs/insights.md)."""


def _since(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("an ISO date, e.g. 2026-12-01", param_hint="--since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_us(moment)


@insights.command("run")
@_database_option
@wait_for_database_option
@click.option("--project", default=None, help="Only this project (name or id).")
@click.option("--since", default=None, help="Only conversations written since (ISO date).")
@_llm_options
def run(
    database_url: str | None,
    wait_for_database: str | None,
    project: str | None,
    since: str | None,
    **llm_flags: Any,
) -> None:
    """Label a backlog now, with a progress bar. Safe to re-run: unchanged threads are skipped."""
    from threadline.insights.llm import LlmConfig

    settings = _settings(database_url, wait_for_database, llm_flags)
    llm = LlmConfig.from_settings(settings)
    result = label_backlog(settings.database_url, project=project, since_us=_since(since), llm=llm)
    click.echo(
        f"{result.claimed} conversations, {result.threads_labelled} threads labelled, "
        f"{result.failed} failed (queued for a retry)",
        err=True,
    )
    if llm is not None:
        click.echo(
            f"LLM: {result.llm_labelled} threads labelled, {result.llm_fallbacks} labelled "
            "locally instead (errors, rate limit or daily cap)",
            err=True,
        )


def label_backlog(
    database_url: str, *, project: str | None, since_us: int | None, llm: LlmConfig | None = None
) -> Progress:
    """A backlog run with a progress bar on stderr (also what `threadline demo` runs)."""
    from threadline.insights.run import run_backlog

    with click.progressbar(
        length=0, label="labelling conversations", file=click.get_text_stream("stderr")
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        return run_backlog(
            database_url, project=project, since_us=since_us, progress=progress, llm=llm
        )


@insights.command("work")
@_database_option
@wait_for_database_option
@_llm_options
def work(database_url: str | None, wait_for_database: str | None, **llm_flags: Any) -> None:
    """Follow new writes and label them, until stopped (what `serve` runs in a child process
    when THREADLINE_INSIGHTS=on)."""
    from threadline.insights.llm import LlmConfig
    from threadline.insights.run import work_forever

    settings = _settings(database_url, wait_for_database, llm_flags)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    work_forever(
        settings.database_url,
        settings.insights_interval_seconds,
        stop,
        LlmConfig.from_settings(settings),
        settings.insights_cpu_share,
    )
