"""`threadline import api`, `threadline import ndjson` and `threadline export` (docs/cli.md).

Progress bars (tqdm) and the summary go to stderr; nothing else is printed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
from tqdm import tqdm

from threadline.config import settings_from_env
from threadline.errors import ThreadlineError
from threadline.store.engine import Database, open_database
from threadline.store.migrate import upgrade
from threadline.timestamps import to_us
from threadline.transfer.api_import import Bar, BarFactory
from threadline.transfer.tally import Tally

# Problems printed one by one; beyond, only how many more there were.
MAX_PROBLEMS = 100


def _database_option(command: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--database-url",
        default=None,
        help="The target: sqlite:///path.db or postgresql://user@host/db. "
        "Env: THREADLINE_DATABASE_URL.",
    )(command)


def _bars(quiet: bool) -> BarFactory:
    def bar(kind: str, total: int | None, done: int) -> Bar:
        progress: Bar = tqdm(
            total=total,
            initial=done,
            desc=kind,
            unit=" rows",
            file=sys.stderr,
            disable=quiet,
            dynamic_ncols=True,
        )
        return progress

    return bar


@contextlib.contextmanager
def _database(database_url: str | None) -> Iterator[tuple[Database, int]]:
    settings = settings_from_env(database_url=database_url)
    database = open_database(settings.database_url, read_pool_size=1)
    try:
        upgrade(database.writer)
        yield database, settings.max_messages_per_conversation
    except ThreadlineError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        database.dispose()


def _summary(tally: Tally, interrupted: bool = False) -> None:
    for line in tally.lines():
        click.echo(line, err=True)
    if interrupted:
        click.echo("interrupted: run the same command again to resume", err=True)


def _since(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (2026-01-31 or an ISO time)") from None
    return to_us(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


@click.group("import")
def import_group() -> None:
    """Import a project's history: from a server speaking the Inkeep Analytics API, or from a
    `threadline export` directory."""


@import_group.command("api")
@click.option(
    "--from-url", required=True, help="The source's base URL (Inkeep's, or a threadline)."
)
@click.option(
    "--from-key",
    required=True,
    help="An API key of the source project; - reads it from stdin (flags show in ps).",
)
@click.option("--project", required=True, help="Target project name or id; created if new.")
@click.option("--since", default=None, help="Only what was written from this date (ISO 8601).")
@click.option(
    "--web-integration",
    "web_integrations",
    multiple=True,
    help="A source integration id whose conversations and feedback a browser widget wrote "
    "(repeatable): stored as web keys' rows, so widget users keep changing their own chats.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_database_option
def import_api(
    from_url: str,
    from_key: str,
    project: str,
    since: str | None,
    web_integrations: tuple[str, ...],
    quiet: bool,
    database_url: str | None,
) -> None:
    """Import every conversation, feedback and event, keeping their ids and times. Safe to run
    again: it resumes where it stopped and imports only what is new."""
    from threadline.transfer.api_import import ApiImport
    from threadline.transfer.source_api import SourceApi, SourceError

    since_us = _since(since)
    if from_key == "-":
        from_key = sys.stdin.readline().strip()
    with _database(database_url) as (database, max_messages):
        source = SourceApi(from_url, from_key)
        run = ApiImport(
            database.writer,
            source,
            project,
            since_us=since_us,
            max_messages=max_messages,
            web_integrations=frozenset(web_integrations),
            bars=_bars(quiet),
        )
        try:
            run.run()
        except KeyboardInterrupt:
            _summary(run.tally, interrupted=True)
            sys.exit(130)
        except SourceError as exc:
            _summary(run.tally, interrupted=True)
            raise click.ClickException(f"the source failed: {exc}") from None
        finally:
            source.close()
        _summary(run.tally)


@import_group.command("ndjson")
@click.option(
    "--from",
    "directory",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A directory written by `threadline export`.",
)
@click.option("--project", default=None, help="Target project (default: the exported one's name).")
@click.option("--strict", is_flag=True, help="Check every line first; write nothing if any is bad.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_database_option
def import_ndjson(
    directory: Path, project: str | None, strict: bool, quiet: bool, database_url: str | None
) -> None:
    """Import an NDJSON export. Safe to run again: stored records are skipped."""
    from threadline.transfer.ndjson import NdjsonError, import_directory

    with _database(database_url) as (database, max_messages):
        try:
            done = import_directory(
                database.writer,
                directory,
                project=project,
                strict=strict,
                max_messages=max_messages,
                bars=_bars(quiet),
            )
        except NdjsonError as exc:
            _problems(exc.problems)
            raise click.ClickException(str(exc)) from None
    _problems(done.problems)
    _summary(done.tally)
    if done.problems:
        sys.exit(1)


def _problems(problems: list[str]) -> None:
    for line in problems[:MAX_PROBLEMS]:
        click.echo(line, err=True)
    if len(problems) > MAX_PROBLEMS:
        click.echo(f"... and {len(problems) - MAX_PROBLEMS} more problems", err=True)


@click.command("export")
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "--to",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write (created if needed; files in it are replaced).",
)
@click.option("--gzip", "compress", is_flag=True, help="Write .ndjson.gz files.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_database_option
def export(
    project: str, directory: Path, compress: bool, quiet: bool, database_url: str | None
) -> None:
    """Write a project's integrations, conversations, feedback and events as NDJSON files with
    a manifest (counts and SHA-256 checksums)."""
    from threadline.transfer.ndjson import export_project

    with _database(database_url) as (database, _):
        manifest = export_project(
            database.reader, project, directory, compress=compress, bars=_bars(quiet)
        )
    for file in manifest.files:
        click.echo(f"{file.path}\t{file.count}\t{file.sha256}", err=True)
