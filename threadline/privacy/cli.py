"""`threadline users erase`: erase an end user from the command line (docs/cli.md)."""

from __future__ import annotations

import click
from sqlalchemy import Connection, or_, select

from threadline.config import settings_from_env
from threadline.errors import ThreadlineError
from threadline.privacy.erase import erase_user, find_named_events
from threadline.store.engine import open_database
from threadline.store.migrate import upgrade
from threadline.store.tables import projects
from threadline.wire.users import Erased


def find_project(connection: Connection, name: str) -> str | None:
    """The id of the project named (or with id) `name`; None if there is none."""
    found = connection.execute(
        select(projects.c.id).where(or_(projects.c.name == name, projects.c.id == name))
    ).scalar()
    return None if found is None else str(found)


@click.group()
def users() -> None:
    """End users (the people in userProperties): erase one."""


@users.command("erase")
@click.option("--project", required=True, help="Project name or id.")
@click.option(
    "--user-id", required=True, help="The user's userProperties.userId or userProperties.id."
)
@click.option(
    "--database-url",
    default=None,
    help="sqlite:///path.db or postgresql://user@host/db. Env: THREADLINE_DATABASE_URL.",
)
def erase(project: str, user_id: str, database_url: str | None) -> None:
    """Delete every conversation, message, feedback, event and semantic thread of a user, and
    what belongs to them, in one transaction; print the counts (tab-separated, on stdout)."""
    settings = settings_from_env(database_url=database_url)
    database = open_database(settings.database_url, read_pool_size=1)
    try:
        upgrade(database.writer)
        with database.reader.connect() as connection:
            project_id = find_project(connection, project)
            if project_id is None:
                raise click.ClickException(f"no project {project!r}")
            # The slow scan outside the write transaction (privacy.erase.find_named_events).
            named = find_named_events(connection, project_id=project_id, user_id=user_id)
        with database.writer.begin() as connection:
            erased = erase_user(
                connection, project_id=project_id, user_id=user_id, named_events=named
            )
    except ThreadlineError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        database.dispose()
    for kind in Erased.__struct_fields__:
        click.echo(f"{kind}\t{getattr(erased, kind)}")
    click.echo(f"erased user {user_id!r} of project {project_id}", err=True)
