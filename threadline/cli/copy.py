"""`threadline copy`: a whole installation into an empty database (threadline.transfer.copy)."""

from __future__ import annotations

import functools

import click

from threadline.cli.base import main, shown
from threadline.errors import ThreadlineError


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
    say(f"copying {shown(source_url)} -> {shown(target_url)}")
    try:
        report = copy_database(source_url, target_url, say=say)
    except ThreadlineError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(format_report(report))
    say(f"copied and verified {report.rows:,} rows in {report.seconds:.1f} s")
