"""Projects, integrations and their keys. Keys are stored as hashes only (see threadline.auth)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, func, or_, select

from threadline.errors import NotFound, Unprocessable
from threadline.ids import new_id
from threadline.store.tables import api_keys, integrations, projects
from threadline.timestamps import now_us

KeyKind = Literal["web", "api"]
KEY_KINDS: tuple[KeyKind, ...] = ("web", "api")


@dataclasses.dataclass(frozen=True)
class KeyRecord:
    id: str
    project_id: str
    integration_id: str
    kind: KeyKind
    prefix: str
    created_at: int
    revoked_at: int | None
    expires_at: int | None = None
    last_used_at: int | None = None
    project_name: str = ""
    integration_name: str = ""

    def active(self, now: int) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def ensure_project(connection: Connection, name: str) -> str:
    """The id of the project named (or with id) `name`, created if it does not exist."""
    found = connection.execute(
        select(projects.c.id).where(or_(projects.c.name == name, projects.c.id == name))
    ).scalar()
    if found is not None:
        return str(found)
    project_id = new_id("proj")
    connection.execute(projects.insert().values(id=project_id, name=name, created_at=now_us()))
    return project_id


def ensure_integration(connection: Connection, project_id: str, name: str) -> str:
    """The id of the project's integration named (or with id) `name`, created if new.

    An integration is a named source of data (a docs site, a backend); it may hold keys of
    both kinds, and every row written records the integration of the key that wrote it.
    """
    found = connection.execute(
        select(integrations.c.id).where(
            integrations.c.project_id == project_id,
            or_(integrations.c.name == name, integrations.c.id == name),
        )
    ).scalar()
    if found is not None:
        return str(found)
    integration_id = new_id("int")
    connection.execute(
        integrations.insert().values(
            id=integration_id, project_id=project_id, name=name, created_at=now_us()
        )
    )
    return integration_id


def insert_key(
    connection: Connection,
    *,
    project_id: str,
    integration_id: str,
    kind: KeyKind,
    key_hash: str,
    prefix: str,
    expires_at: int | None = None,
) -> str:
    key_id = new_id("key")
    connection.execute(
        api_keys.insert().values(
            id=key_id,
            project_id=project_id,
            integration_id=integration_id,
            kind=kind,
            key_hash=key_hash,
            prefix=prefix,
            created_at=now_us(),
            expires_at=expires_at,
        )
    )
    return key_id


def _key_select() -> Select[Any]:
    return (
        select(
            api_keys.c.id,
            api_keys.c.project_id,
            api_keys.c.integration_id,
            api_keys.c.kind,
            api_keys.c.prefix,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
            api_keys.c.expires_at,
            api_keys.c.last_used_at,
            projects.c.name.label("project_name"),
            integrations.c.name.label("integration_name"),
        )
        .join(projects, projects.c.id == api_keys.c.project_id)
        .join(integrations, integrations.c.id == api_keys.c.integration_id)
    )


def _active(now: int | None) -> ColumnElement[bool]:
    """Neither revoked nor expired at `now` (default: this moment)."""
    moment = now_us() if now is None else now
    return and_(
        api_keys.c.revoked_at.is_(None),
        or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > moment),
    )


def find_active_key(
    connection: Connection, key_hash: str, now: int | None = None
) -> KeyRecord | None:
    row = connection.execute(
        _key_select().where(api_keys.c.key_hash == key_hash, _active(now))
    ).first()
    return KeyRecord(**row._mapping) if row is not None else None


def find_active_key_by_id(
    connection: Connection, key_id: str, now: int | None = None
) -> KeyRecord | None:
    """The key with this id if it is neither revoked nor expired (the dashboard's session
    names its key by id)."""
    row = connection.execute(_key_select().where(api_keys.c.id == key_id, _active(now))).first()
    return KeyRecord(**row._mapping) if row is not None else None


def key_hash_exists(connection: Connection, key_hash: str) -> bool:
    """Whether any key, revoked or not, has this hash (hashes are unique)."""
    found = connection.execute(select(api_keys.c.id).where(api_keys.c.key_hash == key_hash))
    return found.first() is not None


def list_keys(connection: Connection, project: str | None = None) -> list[KeyRecord]:
    query = _key_select().order_by(api_keys.c.created_at, api_keys.c.id)
    if project is not None:
        query = query.where(or_(projects.c.name == project, projects.c.id == project))
    return [KeyRecord(**row._mapping) for row in connection.execute(query)]


def find_key(connection: Connection, key: str) -> KeyRecord:
    """The one key with this id or prefix, whatever its state."""
    matches = connection.execute(
        _key_select().where(or_(api_keys.c.id == key, api_keys.c.prefix == key))
    ).all()
    if not matches:
        raise NotFound(f"no key with id or prefix {key!r}")
    if len(matches) > 1:
        raise Unprocessable(f"{key!r} matches {len(matches)} keys; use the key id")
    return KeyRecord(**matches[0]._mapping)


def expire_key(connection: Connection, record: KeyRecord, at: int) -> KeyRecord:
    """Makes the key expire at `at`, unless it expires sooner already."""
    if record.expires_at is not None and record.expires_at <= at:
        return record
    connection.execute(api_keys.update().where(api_keys.c.id == record.id).values(expires_at=at))
    return dataclasses.replace(record, expires_at=at)


def record_key_use(connection: Connection, used: Mapping[str, int]) -> None:
    """Sets each key's last_used_at to the time given, unless it holds a later one (another
    process may have written it): one statement for all the keys."""
    if not used:
        return
    statement = (
        api_keys.update()
        .where(
            api_keys.c.id == bindparam("key_id"),
            or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < bindparam("at")),
        )
        .values(last_used_at=bindparam("at"))
    )
    connection.execute(statement, [{"key_id": k, "at": at} for k, at in sorted(used.items())])


def revoke_key(connection: Connection, key: str) -> KeyRecord:
    """Revoke the key with this id or prefix. Revoking twice is harmless."""
    record = find_key(connection, key)
    if record.revoked_at is None:
        revoked_at = now_us()
        connection.execute(
            api_keys.update().where(api_keys.c.id == record.id).values(revoked_at=revoked_at)
        )
        record = dataclasses.replace(record, revoked_at=revoked_at)
    return record


@dataclasses.dataclass(frozen=True)
class ProjectRecord:
    id: str
    name: str
    created_at: int
    integrations: int
    active_keys: int
    # Days its data is kept (threadline.maintenance.retention); None: forever.
    retention_days: int | None = None


def list_projects(connection: Connection) -> list[ProjectRecord]:
    integration_count = (
        select(func.count()).where(integrations.c.project_id == projects.c.id).scalar_subquery()
    )
    key_count = (
        select(func.count())
        .where(api_keys.c.project_id == projects.c.id, _active(None))
        .scalar_subquery()
    )
    rows = connection.execute(
        select(
            projects.c.id,
            projects.c.name,
            projects.c.created_at,
            integration_count,
            key_count,
            projects.c.retention_days,
        ).order_by(projects.c.created_at, projects.c.id)
    )
    return [ProjectRecord(*row) for row in rows]
