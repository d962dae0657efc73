"""The `threadline` command (threadline.cli): migrate, keys and projects, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect
from starlette.testclient import TestClient

from tests.conftest import BACKENDS
from tests.store.test_migrations import empty_database
from threadline.app import create_app
from threadline.cli import main
from threadline.config import Settings
from threadline.store.engine import open_database
from threadline.store.tables import metadata

EVENT = {"entityType": "search", "type": "search", "searchQuery": "how to install"}


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a database option the CLI would use ./threadline.db: keep the checkout clean,
    # and keep a THREADLINE_DATABASE_URL from the environment out of the tests.
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("THREADLINE_DATABASE_URL", raising=False)


def cli(*args: str, env: dict[str, str | None] | None = None) -> Result:
    # Click 8.2+ keeps stderr apart: result.stdout is stdout alone.
    return CliRunner(env=env).invoke(main, list(args))


def create_key(database_url: str, kind: str = "api", integration: str = "docs site") -> str:
    result = cli(
        "keys", "create", "--project", "docs", "--integration", integration,
        "--kind", kind, "--database-url", database_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def post_event(database_url: str, key: str) -> int:
    """POST /events with the key to a freshly started app; the status code."""
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        response = client.post("/events", json=EVENT, headers={"Authorization": f"Bearer {key}"})
    return response.status_code


def test_keys_create_prints_the_key_alone_on_stdout(database_url: str) -> None:
    result = cli(
        "keys", "create", "--project", "docs", "--integration", "docs site",
        "--kind", "web", "--database-url", database_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("tl_web_")
    assert "shown only now" in result.stderr


def test_one_integration_holds_keys_of_both_kinds(database_url: str) -> None:
    web = create_key(database_url, "web")
    api = create_key(database_url, "api")
    assert web.startswith("tl_web_") and api.startswith("tl_api_")
    listing = cli("keys", "list", "--database-url", database_url).stdout
    assert [line.split("\t")[2:5] for line in listing.splitlines()[1:]] == [
        ["web", "docs", "docs site"],
        ["api", "docs", "docs site"],
    ]


@pytest.mark.parametrize("kind", ["web", "api"])
def test_a_created_key_works_against_the_api(database_url: str, kind: str) -> None:
    assert post_event(database_url, create_key(database_url, kind)) == 200


def test_the_database_comes_from_the_environment(database_url: str) -> None:
    env = {"THREADLINE_DATABASE_URL": database_url}
    result = cli(
        "keys", "create", "--project", "docs", "--integration", "site", "--kind", "api", env=env
    )
    assert result.exit_code == 0, result.output
    assert post_event(database_url, result.stdout.strip()) == 200
    assert not (Path.cwd() / "threadline.db").exists()


def test_the_database_option_wins_over_the_environment(database_url: str, tmp_path: Path) -> None:
    env = {"THREADLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    result = cli(
        "keys", "create", "--project", "docs", "--integration", "site", "--kind", "api",
        "--database-url", database_url, env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert post_event(database_url, result.stdout.strip()) == 200


def prefix_of(database_url: str, key: str) -> str:
    """The prefix `keys list` shows for this key."""
    rows = cli("keys", "list", "--database-url", database_url).stdout.splitlines()[1:]
    (prefix,) = [p for p in (r.split("\t")[1].removesuffix("…") for r in rows) if key.startswith(p)]
    return prefix


def test_keys_list_shows_prefixes_never_keys(database_url: str) -> None:
    key = create_key(database_url)
    result = cli("keys", "list", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split("\t")[:3] == ["id", "prefix", "kind"]
    key_id, prefix, kind, *_, status = row.split("\t")
    assert key_id.startswith("key_") and kind == "api" and status == "active"
    assert key.startswith(prefix.removesuffix("…"))
    assert key not in result.output


def test_a_revoked_key_gets_401(database_url: str) -> None:
    key = create_key(database_url)
    kept = create_key(database_url)
    assert post_event(database_url, key) == 200
    prefix = prefix_of(database_url, key)
    result = cli("keys", "revoke", prefix, "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stderr
    assert post_event(database_url, key) == 401
    assert post_event(database_url, kept) == 200
    assert "revoked" in cli("keys", "list", "--database-url", database_url).stdout


def test_revoking_an_unknown_key_fails_with_a_message(database_url: str) -> None:
    result = cli("keys", "revoke", "tl_api_nothing", "--database-url", database_url)
    assert result.exit_code == 1
    assert "no key" in result.stderr


def test_projects_list_counts_integrations_and_active_keys(database_url: str) -> None:
    create_key(database_url, "web", "docs site")
    create_key(database_url, "api", "docs site")
    create_key(database_url, "api", "backend")
    result = cli("projects", "list", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split("\t") == [
        "id", "name", "integrations", "active keys", "created", "retention", "redact"
    ]  # fmt: skip
    project_id, name, integrations, active_keys, _created, retention, redact = row.split("\t")
    assert project_id.startswith("proj_")
    assert (name, integrations, active_keys, retention, redact) == (
        "docs", "2", "3", "forever", "none"
    )  # fmt: skip


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request.param, tmp_path) as url:
        yield url


def test_migrate_builds_the_schema_on_an_empty_database(empty_database_url: str) -> None:
    result = cli("migrate", "--database-url", empty_database_url)
    assert result.exit_code == 0, result.output
    assert "schema up to date" in result.stderr
    database = open_database(empty_database_url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            assert set(metadata.tables) <= set(inspect(connection).get_table_names())
    finally:
        database.dispose()


def test_keys_create_without_kind_is_a_usage_error(database_url: str) -> None:
    result = cli(
        "keys", "create", "--project", "docs", "--integration", "site",
        "--database-url", database_url,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--kind" in result.stderr
    assert result.stdout == ""


def test_keys_import_registers_a_key_made_elsewhere(database_url: str) -> None:
    """The widget's one key, already in use with Inkeep's AI API, imported as a web key."""
    secret = "inkeep_web_0123456789abcdefghijklmnopqrstuv"
    args = ["keys", "import", "--project", "docs", "--integration", "widget", "--kind", "web"]
    result = CliRunner().invoke(main, [*args, "--database-url", database_url], input=secret + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and secret not in result.output
    assert post_event(database_url, secret) == 200
    again = CliRunner().invoke(main, [*args, "--database-url", database_url], input=secret)
    assert again.exit_code == 2 and "already registered" in again.output


def test_keys_import_refuses_a_short_key(database_url: str) -> None:
    args = ["keys", "import", "--project", "docs", "--integration", "w", "--kind", "web"]
    result = CliRunner().invoke(main, [*args, "--database-url", database_url], input="short")
    assert result.exit_code == 2 and "at least 32" in result.output
