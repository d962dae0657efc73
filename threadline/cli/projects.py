"""`threadline projects`: list projects; set product names, LLM opt-in, retention, redaction."""

from __future__ import annotations

import click

from threadline.cli.base import database_option, main, transaction
from threadline.store import keys as key_store
from threadline.timestamps import now_us, to_iso


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
    with transaction(database_url) as connection:
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

    with transaction(database_url) as connection:
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
