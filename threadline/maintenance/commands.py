"""`threadline backup`, `threadline restore` and `threadline retention run` (docs/cli.md)."""

from __future__ import annotations

import click

from threadline.config import settings_from_env
from threadline.store.engine import describe_url, normalize_url


def _database_url(given: str | None) -> str:
    return settings_from_env(database_url=given).database_url


@click.command()
@click.option(
    "--database-url",
    default=None,
    help="The database to back up (it may be serving). Env: THREADLINE_DATABASE_URL.",
)
@click.option("--to", "to", required=True, help="The backup file to write (must not exist).")
def backup(database_url: str | None, to: str) -> None:
    """Take a consistent backup while the server keeps taking writes (SQLite: a copy of the
    file; PostgreSQL: pg_dump's custom format)."""
    from threadline.maintenance.backup import MaintenanceError
    from threadline.maintenance.backup import backup as take_backup

    url = _database_url(database_url)
    try:
        result = take_backup(url, to)
    except MaintenanceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backed up {describe_url(normalize_url(url))} to {result.path} "
        f"({result.bytes:,} bytes, {result.seconds:.1f} s, {result.how})",
        err=True,
    )


@click.command()
@click.option("--from", "source", required=True, help="A file written by `threadline backup`.")
@click.option(
    "--database-url",
    required=True,
    help="An empty database to restore into (a new SQLite file, or a PostgreSQL database just "
    "created with createdb). A database holding tables is refused.",
)
def restore(source: str, database_url: str) -> None:
    """Restore a backup into an empty database, then migrate it to this version's schema."""
    from threadline.maintenance.backup import MaintenanceError
    from threadline.maintenance.restore import restore as restore_backup

    try:
        restore_backup(source, database_url)
    except MaintenanceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored {source} into {describe_url(normalize_url(database_url))} (schema up to date)",
        err=True,
    )


@click.group()
def retention() -> None:
    """Delete data older than each project's retention (`projects set --retention-days`)."""


@retention.command("run")
@click.option(
    "--database-url",
    default=None,
    help="sqlite:///path.db or postgresql://user@host/db. Env: THREADLINE_DATABASE_URL.",
)
@click.option("--project", default=None, help="Only this project (name or id).")
def run(database_url: str | None, project: str | None) -> None:
    """Purge now, in small batches (a running server keeps taking writes), and print counts."""
    from threadline.maintenance.purger import run_now
    from threadline.store.engine import open_database
    from threadline.store.migrate import upgrade

    database = open_database(_database_url(database_url), read_pool_size=2)
    try:
        upgrade(database.writer)
        outcomes = run_now(database.writer, database.reader, project)
    finally:
        database.dispose()
    if outcomes is None:
        raise click.ClickException("another threadline instance is purging this database now")
    if not outcomes:
        click.echo("no project has a retention set (projects set --retention-days N)", err=True)
    for outcome in outcomes:
        policy = outcome.policy
        click.echo(
            f"{policy.project_name}\t{policy.days} days\tdeleted {outcome.purged.describe()}"
        )
