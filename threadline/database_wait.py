"""`--wait-for-database` and `reach`: every command that needs the database at start waits for it
the same way (serve, migrate, keys, insights run/work). Beside cli/ rather than in it, so the
commands that live in their own packages (insights/cli.py) can use it without importing upward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from threadline.config import Settings
from threadline.store.reach import DatabaseUnreachable, wait_for_database

F = TypeVar("F", bound=Callable[..., Any])


def wait_for_database_option(command: F) -> F:
    return click.option(
        "--wait-for-database",
        default=None,
        metavar="SECONDS",
        help="Keep retrying a database that cannot be reached at start, this long (default 0). "
        "Env: THREADLINE_WAIT_FOR_DATABASE.",
    )(command)


def reach(settings: Settings) -> None:
    """Returns once the database answers, waiting up to THREADLINE_WAIT_FOR_DATABASE; else
    one line saying which database and what failed, and exit 1."""

    def retrying(reason: str, pause: float) -> None:
        click.echo(f"database not reachable yet ({reason}); retrying in {pause:.2g} s", err=True)

    try:
        wait_for_database(settings.database_url, settings.wait_for_database, on_retry=retrying)
    except DatabaseUnreachable as exc:
        hint = "" if settings.wait_for_database else " (--wait-for-database SECONDS waits for it)"
        raise click.ClickException(f"{exc}{hint}") from None
