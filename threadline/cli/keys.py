"""`threadline keys`: create, rotate, import, list and revoke api and web keys (stored hashed)."""

from __future__ import annotations

from typing import Any

import click

from threadline.auth import issue_key
from threadline.cli.base import database_option, main, transaction
from threadline.durations import parse_duration
from threadline.store import keys as key_store
from threadline.store.keys import KeyKind
from threadline.timestamps import now_us, to_iso


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


def _expires_in_option(command: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--expires-in",
        type=DURATION,
        default=None,
        help="The key stops working this long from now (90d, 24h, 30m); default: never.",
    )(command)


def _expires_at(expires_in: float | None) -> int | None:
    """The moment (µs) a key given `--expires-in` stops working; None: never."""
    if expires_in is not None and expires_in <= 0:
        raise click.BadParameter("must be longer than 0", param_hint="--expires-in")
    return None if expires_in is None else now_us() + int(expires_in * 1_000_000)


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
@_expires_in_option
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
    expires_at = _expires_at(expires_in)
    with transaction(database_url) as connection:
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
    with transaction(database_url) as connection:
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
@_expires_in_option
@database_option
def import_key(
    project: str, integration: str, kind: str, expires_in: float | None, database_url: str | None
) -> None:
    """Register a key made elsewhere, read from stdin (never an argument: it would show in
    `ps` and shell history). The widget sends one key to Inkeep's AI API and to analytics:
    importing it lets the same key write to threadline (docs/widget.md)."""
    key_kind: KeyKind = kind  # type: ignore[assignment]
    expires_at = _expires_at(expires_in)
    secret = click.get_text_stream("stdin").read()
    try:
        with transaction(database_url) as connection:
            issued = issue_key(
                connection,
                project=project,
                integration=integration,
                kind=key_kind,
                secret=secret,
                expires_at=expires_at,
            )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(
        f"imported {key_kind} key {issued.key_id} for project {project!r} ({issued.project_id}), "
        f"integration {integration!r} ({issued.integration_id}), {_until(expires_at)}",
        err=True,
    )


@keys.command("list")
@click.option("--project", default=None, help="Only this project (name or id).")
@database_option
def list_keys(project: str | None, database_url: str | None) -> None:
    """List keys (their prefixes; the keys themselves are not stored), with when each expires
    and was last used (to within a minute)."""
    with transaction(database_url) as connection:
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
    with transaction(database_url) as connection:
        record = key_store.revoke_key(connection, key)
    click.echo(f"revoked {record.id} ({record.prefix}…)", err=True)
