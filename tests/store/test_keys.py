"""Projects, integrations and keys in storage (threadline.store.keys), on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from threadline.auth import generate_key, hash_key, issue_key
from threadline.errors import NotFound
from threadline.store import keys as key_store
from threadline.store.engine import Database
from threadline.store.keys import KeyKind


def add_key(
    connection: Connection, project: str = "docs", integration: str = "site", kind: KeyKind = "api"
) -> tuple[str, str]:
    """Create a key the way the CLI does; returns (key id, secret)."""
    issued = issue_key(connection, project=project, integration=integration, kind=kind)
    return issued.key_id, issued.secret


def test_ensure_project_is_idempotent_by_name_and_by_id(db: Database) -> None:
    with db.writer.begin() as connection:
        project_id = key_store.ensure_project(connection, "docs")
        assert project_id.startswith("proj_")
        assert key_store.ensure_project(connection, "docs") == project_id
        assert key_store.ensure_project(connection, project_id) == project_id
        assert key_store.ensure_project(connection, "blog") != project_id
        assert len(key_store.list_projects(connection)) == 2


def test_ensure_integration_is_idempotent_within_its_project(db: Database) -> None:
    with db.writer.begin() as connection:
        docs = key_store.ensure_project(connection, "docs")
        blog = key_store.ensure_project(connection, "blog")
        site = key_store.ensure_integration(connection, docs, "site")
        assert site.startswith("int_")
        assert key_store.ensure_integration(connection, docs, "site") == site
        assert key_store.ensure_integration(connection, docs, site) == site
        # The same name in another project is another integration.
        assert key_store.ensure_integration(connection, blog, "site") != site


def test_an_inserted_key_is_found_by_its_hash(db: Database) -> None:
    new_key = generate_key("web")
    with db.writer.begin() as connection:
        project_id = key_store.ensure_project(connection, "docs")
        integration_id = key_store.ensure_integration(connection, project_id, "site")
        key_id = key_store.insert_key(
            connection,
            project_id=project_id,
            integration_id=integration_id,
            kind="web",
            key_hash=new_key.hash,
            prefix=new_key.prefix,
        )
    with db.reader.connect() as connection:
        record = key_store.find_active_key(connection, new_key.hash)
        assert key_store.find_active_key(connection, generate_key("web").hash) is None
    assert record is not None
    assert (record.id, record.project_id, record.integration_id) == (
        key_id,
        project_id,
        integration_id,
    )
    assert (record.kind, record.prefix, record.revoked_at) == ("web", new_key.prefix, None)
    assert (record.project_name, record.integration_name) == ("docs", "site")


@pytest.mark.parametrize("by", ["id", "prefix"])
def test_revoke_key_by_id_or_prefix(db: Database, by: str) -> None:
    with db.writer.begin() as connection:
        key_id, secret = add_key(connection)
        other_id, _ = add_key(connection)
    with db.writer.begin() as connection:
        record = key_store.revoke_key(connection, key_id if by == "id" else secret[:15])
    assert record.id == key_id and record.revoked_at is not None
    with db.reader.connect() as connection:
        assert key_store.find_active_key(connection, hash_key(secret)) is None
        statuses = {r.id: r.revoked_at for r in key_store.list_keys(connection)}
    assert statuses[key_id] == record.revoked_at
    assert statuses[other_id] is None


def test_revoking_twice_is_harmless(db: Database) -> None:
    with db.writer.begin() as connection:
        key_id, _ = add_key(connection)
        first = key_store.revoke_key(connection, key_id)
    with db.writer.begin() as connection:
        second = key_store.revoke_key(connection, key_id)
    assert second.revoked_at == first.revoked_at


def test_revoking_an_unknown_key_is_not_found(db: Database) -> None:
    with db.writer.begin() as connection:
        add_key(connection)
        with pytest.raises(NotFound):
            key_store.revoke_key(connection, "tl_api_nothere")


def test_list_keys_filters_by_project_name_or_id(db: Database) -> None:
    with db.writer.begin() as connection:
        docs_key, _ = add_key(connection, "docs")
        blog_key, _ = add_key(connection, "blog")
        blog_id = key_store.ensure_project(connection, "blog")
    with db.reader.connect() as connection:

        def ids(project: str | None) -> list[str]:
            return [record.id for record in key_store.list_keys(connection, project)]

        assert sorted(ids(None)) == sorted([docs_key, blog_key])
        assert ids("docs") == [docs_key]
        assert ids("blog") == ids(blog_id) == [blog_key]
        assert ids("nothing") == []


def test_list_projects_counts_integrations_and_active_keys(db: Database) -> None:
    with db.writer.begin() as connection:
        add_key(connection, "docs", "site", "web")
        add_key(connection, "docs", "site", "api")
        revoked, _ = add_key(connection, "docs", "backend", "api")
        key_store.revoke_key(connection, revoked)
        key_store.ensure_project(connection, "empty")
    with db.reader.connect() as connection:
        counts = {
            p.name: (p.integrations, p.active_keys) for p in key_store.list_projects(connection)
        }
    assert counts == {"docs": (2, 2), "empty": (0, 0)}
