"""The `threadline` command group and what its commands share: the --database-url option, a
transaction on a migrated database, one-line failures (a bad setting: exit 2; an unreachable
database: exit 1), and URLs as printed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Connection
from sqlalchemy.engine import URL

from threadline import __version__
from threadline.config import SettingError, settings_from_env
from threadline.database_wait import reach
from threadline.errors import ThreadlineError
from threadline.store.engine import describe_url, normalize_url, open_database
from threadline.store.migrate import upgrade

F = TypeVar("F", bound=Callable[..., Any])


def database_option(command: F) -> F:
    return click.option(
        "--database-url",
        default=None,
        help="sqlite:///path.db (default sqlite:///threadline.db) or postgresql://user@host/db. "
        "Env: THREADLINE_DATABASE_URL.",
    )(command)


@contextmanager
def transaction(database_url: str | None) -> Iterator[Connection]:
    settings = settings_from_env(database_url=database_url)
    reach(settings)
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


def absolute(url: URL) -> URL:
    """A SQLite URL with an absolute path, so the printed commands work from anywhere."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return url.set(database=str(Path(url.database).expanduser().resolve()))
    return url


def shown(url: str) -> str:
    return describe_url(absolute(normalize_url(url)))
